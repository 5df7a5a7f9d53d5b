// Writes N vxlan leases in the reference format into an etcd (run inside the namespace that reaches
// it): `node dist/bench/seed-leases.js <endpoint> <count>`. Used by the cold-start benchmark.
import { EtcdClient } from '../subnet-lease/etcd/client.js';
import type { PutRequest } from '../subnet-lease/etcd/messages.js';
import { IP4Net, formatIP4 } from '../common/ip.js';
import { encodeLeaseAttrs, subnetKey } from '../subnet-lease/lease.js';

const [endpoint, countText] = process.argv.slice(2);
const count = Number(countText);
const client = new EtcdClient({ endpoints: [endpoint!], tls: null, timeoutMs: 30_000 });
const hex = (x: number): string => x.toString(16).padStart(2, '0');
const BATCH = 100; // etcd's default --max-txn-ops is 128
for (let start = 0; start < count; start += BATCH) {
  const puts: Array<{ request_put: PutRequest }> = [];
  for (let i = start; i < Math.min(count, start + BATCH); i++) {
    const subnet = new IP4Net(IP4Net.parse('10.1.0.0/16').ip + i * 256, 24);
    const value = encodeLeaseAttrs({
      publicIP: IP4Net.parse('198.18.1.0/24').ip + 1 + i, // beyond .255 this walks into 198.18.2.x and on
      publicIPv6: null,
      backendType: 'vxlan',
      backendData: { VNI: 1, VtepMAC: `0a:00:00:00:${hex(i >> 8)}:${hex(i & 255)}` },
    });
    puts.push({ request_put: { key: Buffer.from(`/coreos.com/network/subnets/${subnetKey(subnet, null)}`), value: Buffer.from(value) } });
  }
  // One transaction per batch, its condition always true: fewer round trips than one put per lease.
  await client.txn({ compare: [{ key: Buffer.from('/bench-never-exists'), target: 'Version', result: 'Equal', version: 0 }], success: puts });
}
client.close();
process.stdout.write(`seeded ${count} leases, last subnet ${formatIP4(IP4Net.parse('10.1.0.0/16').ip + (count - 1) * 256)}/24\n`);
