// The accepted subnets of one address family, indexed so that "does this subnet overlap an accepted
// one, and which" costs a few map operations, whatever the number of leases. Accepted subnets never
// overlap each other (the acceptor sees to it), so a subnet ip/len overlaps an accepted one exactly
// when an accepted subnet contains it (one lookup per prefix length in use at or above len) or lies
// strictly inside it (one lookup in the "inside" level of len).
//
// Only the prefix lengths actually in use are kept: in etcd mode every lease has the one SubnetLen, so
// the index holds one map entry per lease. The "inside" level of a length is built the first time a
// subnet of that length is checked and kept up to date from then on (an earlier version kept every
// level from 0 to len for every lease: 24 Sets per IPv4 lease, ~75000 of them for 5000 leases).

export class OverlapIndex {
  /** exact: prefix length → network address → key of the accepted subnet with that address and length. */
  private readonly exact = new Map<number, Map<bigint, string>>();
  /** inside: prefix length → network address → keys of accepted subnets strictly inside that network. */
  private readonly inside = new Map<number, Map<bigint, Set<string>>>();
  /** The lengths of `exact`, ascending. */
  private lengths: number[] = [];

  constructor(private readonly bits: number) {}

  private mask(ip: bigint, len: number): bigint {
    const host = BigInt(this.bits - len);
    return (ip >> host) << host;
  }

  /** The key of an accepted subnet overlapping ip/len (other than `self`), or null. */
  conflict(ip: bigint, len: number, self: string): string | null {
    for (const l of this.lengths) {
      if (l > len) break;
      const k = this.exact.get(l)!.get(l === len ? ip : this.mask(ip, l));
      if (k !== undefined && k !== self) return k;
    }
    if (this.lengths.length === 0 || this.lengths.at(-1)! <= len) return null; // nothing longer: nothing inside
    for (const k of this.insideLevel(len).get(ip) ?? []) if (k !== self) return k;
    return null;
  }

  add(ip: bigint, len: number, key: string): void {
    let level = this.exact.get(len);
    if (!level) {
      this.exact.set(len, (level = new Map()));
      this.lengths = [...this.exact.keys()].sort((a, b) => a - b);
    }
    level.set(ip, key);
    for (const [l, inside] of this.inside) if (l < len) addInside(inside, this.mask(ip, l), key);
  }

  delete(ip: bigint, len: number, key: string): void {
    const level = this.exact.get(len);
    if (level?.get(ip) === key) level.delete(ip);
    for (const [l, inside] of this.inside) {
      if (l >= len) continue;
      const net = this.mask(ip, l);
      const keys = inside.get(net);
      keys?.delete(key);
      if (keys?.size === 0) inside.delete(net);
    }
  }

  /** The "inside" map of length `len`, built from the accepted subnets on first use. */
  private insideLevel(len: number): Map<bigint, Set<string>> {
    let inside = this.inside.get(len);
    if (inside) return inside;
    this.inside.set(len, (inside = new Map()));
    for (const [l, level] of this.exact) {
      if (l <= len) continue;
      for (const [ip, key] of level) addInside(inside, this.mask(ip, len), key);
    }
    return inside;
  }
}

function addInside(inside: Map<bigint, Set<string>>, net: bigint, key: string): void {
  let keys = inside.get(net);
  if (!keys) inside.set(net, (keys = new Set()));
  keys.add(key);
}
