// One serial queue for every part that must not interleave its steps (lease batches and repairs of a
// backend, renewals of the lease keeper, requests on one netlink socket).
//
// Error behaviour, the same everywhere: a task's rejection goes to the caller of `run` (the promise it
// returned rejects) and never to the tasks after it, which run as if it had succeeded. `idle()` resolves
// once every task queued so far has settled, and never rejects.

const noop = (): void => undefined;

export class SerialQueue {
  private tail: Promise<void> = Promise.resolve();

  /** Runs `task` after every task queued before it; settles as the task does. */
  run<T>(task: () => Promise<T>): Promise<T> {
    const p = this.tail.then(task);
    this.tail = p.then(noop, noop);
    return p;
  }

  /** Resolves when every task queued so far has settled; never rejects. */
  idle(): Promise<void> {
    return this.tail;
  }
}
