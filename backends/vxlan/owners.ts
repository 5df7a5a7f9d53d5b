// Which lease owns each kernel entry. A group is one lease's entries of one family, keyed by that
// lease's subnet and family ("4 10.244.2.0/24"). Two groups may share an entry only when they want it
// with the same content (the same VTEP MAC at the same public IP); a group that would overwrite
// another's entry with other content is refused whole, so one lease can neither rewrite nor, when it
// goes away, take away what another lease installed.
import { type Entry, entryKey, sameEntry } from './entries.js';

export interface Group {
  /** "4 10.244.2.0/24" */
  key: string;
  /** In install order. */
  entries: Entry[];
}

export interface Slot {
  entry: Entry;
  /** The owning groups' keys: one key as a string (nearly every entry), a Set once shared. */
  owners: string | Set<string>;
}

/** The keys of the groups owning `s`. */
export function ownersOf(s: Slot): Iterable<string> {
  return typeof s.owners === 'string' ? [s.owners] : s.owners;
}

export function ownerCount(s: Slot): number {
  return typeof s.owners === 'string' ? 1 : s.owners.size;
}

export interface Conflict {
  entry: Entry;
  /** The group that holds the entry with other content. */
  owner: string;
}

export class EntryOwners {
  private readonly byKey = new Map<string, Slot>();

  /** The first entry of `g` that another group holds with other content, or null. */
  conflict(g: Group): Conflict | null {
    for (const e of g.entries) {
      const s = this.byKey.get(entryKey(e));
      if (!s || sameEntry(s.entry, e)) continue;
      const owner = [...ownersOf(s)].find((o) => o !== g.key);
      if (owner) return { entry: s.entry, owner };
    }
    return null;
  }

  /** Records `g` as an owner of its entries. Call only when `conflict(g)` is null. */
  claim(g: Group): void {
    for (const e of g.entries) {
      const k = entryKey(e);
      const s = this.byKey.get(k);
      if (!s) this.byKey.set(k, { entry: e, owners: g.key });
      else if (typeof s.owners !== 'string') s.owners.add(g.key);
      else if (s.owners !== g.key) s.owners = new Set([s.owners, g.key]);
    }
  }

  /** Drops `g` as an owner; returns its entries that no group wants any more (to delete). */
  release(g: Group): Entry[] {
    const orphans: Entry[] = [];
    for (const e of g.entries) {
      const k = entryKey(e);
      const s = this.byKey.get(k);
      if (!s) continue;
      if (typeof s.owners !== 'string') {
        if (!s.owners.delete(g.key)) continue;
        if (s.owners.size === 1) s.owners = [...s.owners][0]!;
        continue;
      }
      if (s.owners !== g.key) continue;
      this.byKey.delete(k);
      orphans.push(s.entry);
    }
    return orphans;
  }

  /** The wanted entry under a kernel key and the groups that own it. */
  get(key: string): Slot | undefined {
    return this.byKey.get(key);
  }

  /** Every wanted entry with its kernel key (safe to continue across changes, like any Map iteration). */
  slots(): IterableIterator<[string, Slot]> {
    return this.byKey.entries();
  }

  has(e: Entry): boolean {
    const s = this.byKey.get(entryKey(e));
    return s !== undefined && sameEntry(s.entry, e);
  }

  get size(): number {
    return this.byKey.size;
  }

  clear(): void {
    this.byKey.clear();
  }
}
