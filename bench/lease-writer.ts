// Writes vxlan leases one at a time into an etcd (run inside the namespace that reaches it), spaced
// `spacing` ms apart, and prints `W <subnet key> <wall-clock ms>` taken just before each put:
// `node dist/bench/lease-writer.js <endpoint> <first index> <count> <spacing ms>`. Leases follow the
// numbering of seed-leases.ts (10.1.0.0/24 + index), so index N is the first one after N seeded.
import { EtcdClient } from '../subnet-lease/etcd/client.js';
import { setTimeout as sleep } from 'node:timers/promises';
import { IP4Net } from '../common/ip.js';
import { encodeLeaseAttrs, subnetKey } from '../subnet-lease/lease.js';

const [endpoint, firstText, countText, spacingText] = process.argv.slice(2);
const first = Number(firstText);
const client = new EtcdClient({ endpoints: [endpoint!], tls: null, timeoutMs: 30_000 });
const hex = (x: number): string => x.toString(16).padStart(2, '0');
const now = (): number => performance.timeOrigin + performance.now();
await client.range({ key: Buffer.from('/bench-warm-up') }); // connection set up before the first timed write
for (let i = first; i < first + Number(countText); i++) {
  const key = subnetKey(new IP4Net(IP4Net.parse('10.1.0.0/16').ip + i * 256, 24), null);
  const value = encodeLeaseAttrs({
    publicIP: IP4Net.parse('198.18.1.0/24').ip + 1 + i,
    publicIPv6: null,
    backendType: 'vxlan',
    backendData: { VNI: 1, VtepMAC: `0a:00:00:00:${hex(i >> 8)}:${hex(i & 255)}` },
  });
  const t = now();
  await client.put({ key: Buffer.from(`/coreos.com/network/subnets/${key}`), value: Buffer.from(value) });
  process.stdout.write(`W ${key} ${t.toFixed(3)}\n`);
  await sleep(Number(spacingText));
}
client.close();
