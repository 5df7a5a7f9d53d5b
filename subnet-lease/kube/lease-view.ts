// Node changes → lease events for the backends. The leases are a function of the nodes: a node
// annotated `kube-subnet-manager: "true"` whose annotations and pod CIDRs make a valid lease has one,
// any other node has none. Each change is turned into the difference of that function, so an update
// of either address family's annotations is applied (the reference drops a one-family change in dual
// stack), a re-list after 410 Gone yields no duplicates, and a node that loses its lease is removed.
import { encodeLeaseAttrs, isSameLease, sameSubnets, type Lease, type LeaseEvent, type SubnetPair } from '../lease.js';
import type { Logger } from '../../common/log.js';
import type { KubeAnnotations } from './annotations.js';
import type { NodeCache, NodeChange } from './node-cache.js';
import { AsyncQueue } from './queue.js';
import { NodeParseError, isManaged, nodeToLease, type Families, type NodeInfo } from './node.js';

export interface LeaseViewOptions {
  cache: NodeCache;
  keys: KubeAnnotations;
  families: Families;
  /** Our own node: never reported. */
  ownNode: string;
  logger: Logger;
  /** EVENT_QUEUE_DEPTH: backlog (in change batches) above which a warning is logged. */
  queueDepth: number;
}

/** First one batch with every current lease (possibly empty), then one per non-empty change. */
export async function* watchNodeLeases(opts: LeaseViewOptions, ownSubnet: () => SubnetPair | null, signal: AbortSignal): AsyncGenerator<LeaseEvent[]> {
  const queue = new AsyncQueue<NodeChange[]>(opts.queueDepth, (n) =>
    opts.logger.warn(`${n} node change batches are waiting for the backend (EVENT_QUEUE_DEPTH=${opts.queueDepth}); none is dropped`),
  );
  // Subscribe before reading the current state, so no change falls between the two.
  const unsubscribe = opts.cache.subscribe((changes) => queue.push(changes));
  const view = new LeaseView(opts);
  try {
    yield visible(view.apply(opts.cache.list().map((node) => ({ type: 'upsert', node }))), ownSubnet);
    for await (const changes of queue.drain(signal)) {
      const events = visible(view.apply(changes), ownSubnet);
      if (events.length > 0) yield events;
    }
  } finally {
    unsubscribe();
  }
}

function visible(events: LeaseEvent[], ownSubnet: () => SubnetPair | null): LeaseEvent[] {
  const own = ownSubnet();
  return own ? events.filter((e) => !isSameLease(e.lease, own)) : events;
}

class LeaseView {
  private readonly known = new Map<string, Lease>();
  /** name@resourceVersion of nodes already reported as unusable, so each bad version is logged once. */
  private readonly complained = new Set<string>();

  constructor(private readonly opts: LeaseViewOptions) {}

  apply(changes: readonly NodeChange[]): LeaseEvent[] {
    const out: LeaseEvent[] = [];
    for (const c of changes) {
      if (c.node.name === this.opts.ownNode) continue;
      const next = c.type === 'upsert' ? this.leaseOf(c.node) : null;
      this.transition(c.node.name, next, out);
    }
    return out;
  }

  private transition(name: string, next: Lease | null, out: LeaseEvent[]): void {
    const old = this.known.get(name);
    if (!next) {
      if (old) out.push({ type: 'removed', lease: old });
      this.known.delete(name);
      return;
    }
    this.known.set(name, next);
    if (!old) out.push({ type: 'added', lease: next });
    else if (!sameSubnets(old, next)) out.push({ type: 'removed', lease: old }, { type: 'added', lease: next });
    else if (encodeLeaseAttrs(old.attrs) !== encodeLeaseAttrs(next.attrs)) out.push({ type: 'added', lease: next });
  }

  private leaseOf(node: NodeInfo): Lease | null {
    if (!isManaged(node, this.opts.keys)) return null;
    try {
      return nodeToLease(node, this.opts.keys, this.opts.families);
    } catch (e) {
      if (!(e instanceof NodeParseError)) throw e;
      const key = `${node.name}@${node.resourceVersion}`;
      if (!this.complained.has(key)) {
        this.complained.add(key);
        this.opts.logger.warn(`ignoring node "${node.name}": ${e.message}`);
      }
      return null;
    }
  }
}
