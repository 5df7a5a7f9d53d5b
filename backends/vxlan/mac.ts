// VTEP MAC addresses: generation (random, locally administered, unicast) and parsing in the forms Go's
// net.ParseMAC accepts for 6-byte addresses.
import { closeSync, openSync, readSync } from 'node:fs';

/** Six bytes from the kernel's random pool: node:crypto's randomBytes would load all of node:crypto for them (README, "Dependencies"). */
function randomSix(): Buffer {
  const b = Buffer.alloc(6);
  const fd = openSync('/dev/urandom', 'r');
  try {
    for (let got = 0; got < 6; ) got += readSync(fd, b, got, 6 - got, null);
  } finally {
    closeSync(fd);
  }
  return b;
}

export function randomVtepMac(): string {
  const b = randomSix();
  b[0] = (b[0]! & 0xfe) | 0x02;
  return [...b].map((x) => x.toString(16).padStart(2, '0')).join(':');
}

/** "aa:bb:cc:dd:ee:ff", "AA-BB-CC-DD-EE-FF" or "aabb.ccdd.eeff" → "aa:bb:cc:dd:ee:ff"; null otherwise. */
export function parseMac(text: string): string | null {
  let hex: string | null = null;
  if (/^[0-9a-f]{2}([:-])[0-9a-f]{2}(\1[0-9a-f]{2}){4}$/i.test(text)) hex = text.replace(/[:-]/g, '');
  else if (/^[0-9a-f]{4}\.[0-9a-f]{4}\.[0-9a-f]{4}$/i.test(text)) hex = text.replace(/\./g, '');
  if (hex === null) return null;
  return hex.toLowerCase().match(/../g)!.join(':');
}

/**
 * Why `mac` (canonical form) cannot be a VTEP MAC we create a device with, or null when it is fine:
 * it must be unicast (I/G bit clear) and locally administered (U/L bit set), as `randomVtepMac` makes.
 */
export function vtepMacProblem(mac: string): string | null {
  const first = Number.parseInt(mac.slice(0, 2), 16);
  if (first & 0x01) return `${mac} is a multicast MAC`;
  if (!(first & 0x02)) return `${mac} is not locally administered`;
  return null;
}
