// The accepted subnets of one address family, indexed so that "does this subnet overlap an accepted
// one, and which" costs O(address bits) map operations, whatever the number of leases: one map per
// prefix length of the accepted networks, and one per prefix length of the networks that contain
// at least one accepted subnet. Accepted subnets never overlap each other (the acceptor sees to it).

export class OverlapIndex {
  /** exact[len]: network address → key of the accepted subnet with that address and length. */
  private readonly exact: Array<Map<bigint, string>>;
  /** inside[len]: network address → keys of accepted subnets strictly inside that network. */
  private readonly inside: Array<Map<bigint, Set<string>>>;

  constructor(private readonly bits: number) {
    this.exact = Array.from({ length: bits + 1 }, () => new Map<bigint, string>());
    this.inside = Array.from({ length: bits + 1 }, () => new Map<bigint, Set<string>>());
  }

  private mask(ip: bigint, len: number): bigint {
    const host = BigInt(this.bits - len);
    return (ip >> host) << host;
  }

  /** The key of an accepted subnet overlapping ip/len (other than `self`), or null. */
  conflict(ip: bigint, len: number, self: string): string | null {
    for (let l = 0; l <= len; l++) {
      const k = this.exact[l]!.get(this.mask(ip, l));
      if (k !== undefined && k !== self) return k;
    }
    for (const k of this.inside[len]!.get(ip) ?? []) if (k !== self) return k;
    return null;
  }

  add(ip: bigint, len: number, key: string): void {
    this.exact[len]!.set(ip, key);
    for (let l = 0; l < len; l++) {
      const net = this.mask(ip, l);
      let keys = this.inside[l]!.get(net);
      if (!keys) this.inside[l]!.set(net, (keys = new Set()));
      keys.add(key);
    }
  }

  delete(ip: bigint, len: number, key: string): void {
    if (this.exact[len]!.get(ip) === key) this.exact[len]!.delete(ip);
    for (let l = 0; l < len; l++) {
      const net = this.mask(ip, l);
      const keys = this.inside[l]!.get(net);
      keys?.delete(key);
      if (keys?.size === 0) this.inside[l]!.delete(net);
    }
  }
}
