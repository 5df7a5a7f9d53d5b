// The groups the backend wants in the kernel: every peer family's entries, owned through EntryOwners.
// A group that collides with an older one is held back (never half-installed) and tried again when
// the older group goes away.
import { type Entry, entryKey } from './entries.js';
import { type Conflict, EntryOwners, type Group, ownerCount, ownersOf } from './owners.js';

export class PeerGroups {
  readonly owners = new EntryOwners();
  private readonly active = new Map<string, Group>();
  private readonly blocked = new Map<string, Group>();

  get size(): number {
    return this.active.size;
  }

  /** Wants `g` (replacing a group of the same key). Returns the conflict that holds it back, or null. */
  add(g: Group): Conflict | null {
    this.remove(g.key);
    const c = this.owners.conflict(g);
    if (c) {
      this.blocked.set(g.key, g);
      return c;
    }
    this.owners.claim(g);
    this.active.set(g.key, g);
    return null;
  }

  /** Stops wanting the group `key`; returns its entries that no other group wants. */
  remove(key: string): Entry[] {
    if (this.blocked.delete(key)) return [];
    const g = this.active.get(key);
    if (!g) return [];
    this.active.delete(key);
    return this.owners.release(g);
  }

  /** Held-back groups that collide with nothing any more, now wanted (to install). */
  unblock(): Group[] {
    const freed: Group[] = [];
    for (const g of [...this.blocked.values()]) {
      if (this.owners.conflict(g)) continue;
      this.blocked.delete(g.key);
      this.owners.claim(g);
      this.active.set(g.key, g);
      freed.push(g);
    }
    return freed;
  }

  /** True when no wanted group holds an entry under the kernel key of `e`. */
  unwanted(e: Entry): boolean {
    return this.owners.get(entryKey(e)) === undefined;
  }

  /** True when more than one wanted group holds `e`. */
  shared(e: Entry): boolean {
    const s = this.owners.get(entryKey(e));
    return s !== undefined && ownerCount(s) > 1;
  }

  /** The wanted groups holding entries under any of `keys` (kernel keys). */
  byEntryKeys(keys: Iterable<string>): Group[] {
    const out = new Map<string, Group>();
    for (const k of keys) {
      const s = this.owners.get(k);
      for (const o of s ? ownersOf(s) : []) {
        const g = this.active.get(o);
        if (g) out.set(o, g);
      }
    }
    return [...out.values()];
  }

  get(key: string): Group | undefined {
    return this.active.get(key);
  }

  values(): IterableIterator<Group> {
    return this.active.values();
  }

  clear(): void {
    this.owners.clear();
    this.active.clear();
    this.blocked.clear();
  }
}
