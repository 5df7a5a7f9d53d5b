// The full pass, the rare safety net behind notification-driven repair (repair.ts): dump one family's
// neighbours, FDB and routes, and find the wanted entries the kernel lacks or has with other content
// and the entries of ours that no lease wants. It works in chunks and calls `pause` between them, so a
// pass over 5000 peers never holds the event loop for long and lease batches arriving meanwhile are
// applied first; what it finds is checked again against the groups when it is applied.
import type { Native } from '../../native/types.js';
import { type Entry, entryFamily, entryKey, sameEntry } from './entries.js';
import type { PeerGroups } from './groups.js';
import { RT_TABLE_MAIN } from '../../native/types.js';
import { type OwnedScope, eachOwnedEntry } from './reconcile.js';

export interface PassPlan {
  /** Kernel keys of wanted entries that were missing or different. */
  damaged: string[];
  /** Entries of ours in the kernel that no group wanted when they were compared. */
  stale: Entry[];
}

export interface PassContext {
  native: Native;
  groups: PeerGroups;
  scope: OwnedScope;
  /** Yields to the event loop (and to lease batches that are waiting). */
  pause(): Promise<void>;
  /** Runs a dump; lease batches may be applied while it is read and decoded. */
  reading<T>(read: () => Promise<T>): Promise<T>;
}

const CHUNK = 250;

/** Compares the kernel with the groups for one family. Reads only; rejects when a dump fails. */
export async function planPass(ctx: PassContext): Promise<PassPlan> {
  // One dump at a time; lease batches run while a dump is read and decoded, and at each pause.
  const { ifindex, family } = ctx.scope;
  const neighs = await ctx.reading(() => ctx.native.neighList({ ifindex, family }));
  await ctx.pause();
  const fdb = await ctx.reading(() => ctx.native.fdbList({ ifindex }));
  await ctx.pause();
  const routes = await ctx.reading(() => ctx.native.routeList({ family, table: RT_TABLE_MAIN }));
  await ctx.pause();
  const kernel = { neighs, fdb, routes };
  const have = new Map<string, Entry>();
  let n = 0;
  for (const e of eachOwnedEntry(kernel, ctx.scope)) {
    have.set(entryKey(e), e);
    if (++n % CHUNK === 0) await ctx.pause();
  }
  const damaged: string[] = [];
  for (const [key, slot] of ctx.groups.owners.slots()) {
    if (entryFamily(slot.entry) !== ctx.scope.family) continue;
    const h = have.get(key);
    if (!h || !sameEntry(h, slot.entry)) damaged.push(key);
    if (++n % CHUNK === 0) await ctx.pause();
  }
  const stale: Entry[] = [];
  for (const h of have.values()) {
    if (ctx.groups.unwanted(h)) stale.push(h);
    if (++n % CHUNK === 0) await ctx.pause();
  }
  return { damaged, stale };
}
