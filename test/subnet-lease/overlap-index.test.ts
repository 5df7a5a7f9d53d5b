// OverlapIndex against the obvious quadratic answer: random adds, deletes and checks of IPv4 and IPv6
// subnets of mixed lengths (the kube mode case: podCIDRs need not share one length), including checks
// at a length first seen after many adds (the lazily built "inside" level) and adds after it.
import { expect } from 'chai';
import { OverlapIndex } from '../../subnet-lease/overlap-index.js';

function rng(seed: number): () => number {
  let s = seed >>> 0;
  return () => ((s = (Math.imul(s, 1664525) + 1013904223) >>> 0) / 2 ** 32);
}

interface Net {
  ip: bigint;
  len: number;
}

function overlaps(a: Net, b: Net, bits: number): boolean {
  const l = Math.min(a.len, b.len);
  const host = BigInt(bits - l);
  return a.ip >> host === b.ip >> host;
}

for (const bits of [32, 128]) {
  describe(`OverlapIndex (${bits}-bit addresses)`, () => {
    it('answers like a scan of every accepted subnet through 3000 random adds, deletes and checks', () => {
      const random = rng(bits);
      const index = new OverlapIndex(bits);
      const accepted = new Map<string, Net>();
      // A small region, so that overlaps are common: the top bits fixed, lengths 8..(8+12).
      const base = 10n << BigInt(bits - 8);
      const randomNet = (): Net => {
        const len = 8 + Math.floor(random() * 13);
        const free = len - 8;
        const host = BigInt(bits - len);
        const ip = base | (BigInt(Math.floor(random() * 2 ** free)) << host);
        return { ip, len };
      };
      let checks = 0;
      let conflicts = 0;
      for (let i = 0; i < 3000; i++) {
        const r = random();
        if (r < 0.15 && accepted.size > 0) {
          const keys = [...accepted.keys()];
          const key = keys[Math.floor(random() * keys.length)]!;
          const n = accepted.get(key)!;
          index.delete(n.ip, n.len, key);
          accepted.delete(key);
          continue;
        }
        const n = randomNet();
        const key = `${n.ip}/${n.len}`;
        const got = index.conflict(n.ip, n.len, key);
        const want = [...accepted].filter(([k, a]) => k !== key && overlaps(a, n, bits)).map(([k]) => k);
        checks++;
        if (want.length === 0) {
          expect(got, `${key} overlaps nothing`).to.equal(null);
          if (!accepted.has(key)) {
            index.add(n.ip, n.len, key);
            accepted.set(key, n);
          }
        } else {
          conflicts++;
          expect(want, `${key} overlaps ${want.join(', ')}`).to.include(got);
        }
      }
      // The run exercised both answers, and ended with a good number of accepted subnets.
      expect(conflicts).to.be.greaterThan(100);
      expect(checks - conflicts).to.be.greaterThan(100);
      expect(accepted.size).to.be.greaterThan(50);
    });
  });
}
