// Writing entries into the kernel in batches. A group is one peer family's entries in install order
// (neighbour, FDB, route). Step k of every group travels in one batch, so 5000 peers cost three
// batches, not 15000 round trips; a group whose step fails has its other steps deleted (all or none,
// also when a repair finds some of them in place), as the reference does per peer. Deletions are
// best effort: an entry already gone is not an error.
import type { NativeError } from '../../native/errors.js';
import type { Native, Op } from '../../native/types.js';
import { type Entry, deleteOp, replaceOp } from './entries.js';
import { retryMarked } from '../../common/retry.js';

export interface GroupFailure {
  group: number;
  entry: Entry;
  error: NativeError;
}

const GONE = new Set(['ENOENT', 'ESRCH', 'ENODEV', 'EADDRNOTAVAIL']);

/** `apply`, retrying the ops that failed with a retryable error (ENOBUFS, EBUSY, ...) a few times. */
export function applyWithRetry(native: Native, ops: readonly Op[]): Promise<Array<NativeError | null>> {
  return retryMarked((batch: readonly Op[]) => native.apply(batch), ops);
}

/**
 * Installs every group; resolves with the groups that failed (already undone: all or none). `keep`
 * names entries the undo must leave alone because another installed group holds them too.
 */
export async function installGroups(native: Native, groups: readonly Entry[][], keep: (e: Entry) => boolean = () => false): Promise<GroupFailure[]> {
  const failures: GroupFailure[] = [];
  let active = groups.map((_, i) => i).filter((i) => groups[i]!.length > 0);
  const undo: Op[] = [];
  for (let step = 0; active.length > 0; step++) {
    const now = active.filter((i) => groups[i]!.length > step);
    if (now.length === 0) break;
    const results = await applyWithRetry(native, now.map((i) => replaceOp(groups[i]![step]!)));
    const failed = new Set<number>();
    results.forEach((err, k) => {
      if (!err) return;
      const g = now[k]!;
      failed.add(g);
      failures.push({ group: g, entry: groups[g]![step]!, error: err });
      // All or none: the steps before it, and (when repairing) those after it that may be in place.
      const group = groups[g]!;
      for (let s = group.length - 1; s >= 0; s--) if (s !== step && !keep(group[s]!)) undo.push(deleteOp(group[s]!));
    });
    active = now.filter((i) => !failed.has(i));
  }
  if (undo.length > 0) await native.apply(undo);
  return failures;
}

/** Deletes entries (in reverse install order within the list); returns the errors other than "already gone". */
export async function removeEntries(native: Native, entries: readonly Entry[]): Promise<NativeError[]> {
  if (entries.length === 0) return [];
  const results = await applyWithRetry(native, [...entries].reverse().map(deleteOp));
  return results.filter((e): e is NativeError => e !== null && !GONE.has(e.code));
}
