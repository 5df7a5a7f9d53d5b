// The acceptance decorator flanneld puts around the store: what leaves it, what is logged (warning,
// once per key and value) and what flannel_leases_rejected_total counts.
import { expect } from 'chai';
import { acceptingStore } from '../../flanneld/accepting.js';
import { FlannelMetrics } from '../../flanneld/metrics.js';
import { rulesFor } from '../../subnet-lease/acceptance.js';
import { checkNetworkConfig, parseNetworkConfig } from '../../subnet-lease/config.js';
import { decodeLeaseAttrs, parseSubnetKey, type Lease, type LeaseEvent } from '../../subnet-lease/lease.js';
import type { LeaseStore } from '../../subnet-lease/store.js';
import { RecordingLogger } from '../helpers/recording-logger.js';

const lease = (key: string, publicIP: string, rev: number): Lease => ({
  ...parseSubnetKey(key),
  attrs: decodeLeaseAttrs(JSON.stringify({ PublicIP: publicIP, BackendType: 'host-gw' })),
  reservation: false,
  key: `/coreos.com/network/subnets/${key}`,
  createRevision: rev,
});

/** A store test double: hands out the given batches from watchLeases; nothing else is used. */
function storeOf(batches: LeaseEvent[][]): LeaseStore {
  const unused = (): never => {
    throw new Error('not used');
  };
  return {
    name: 'batches',
    getNetworkConfig: unused,
    acquireLease: unused,
    keepLease: unused,
    watchLeases: () => ({
      async *[Symbol.asyncIterator]() {
        yield* batches;
      },
    }),
  };
}

describe('acceptingStore (flanneld decorator)', () => {
  it('passes on only accepted leases, warns once per key and value, and counts rejections by reason', async () => {
    const config = checkNetworkConfig(parseNetworkConfig('{"Network":"10.244.0.0/16","Backend":{"Type":"host-gw"}}'));
    const bad = lease('10.244.9.0-24', '127.0.0.1', 3);
    const batches: LeaseEvent[][] = [
      [{ type: 'added', lease: lease('10.244.8.0-24', '198.18.0.8', 2) }, { type: 'added', lease: bad }],
      [{ type: 'added', lease: bad }],
      [{ type: 'added', lease: lease('10.245.1.0-24', '198.18.0.9', 4) }],
      [{ type: 'removed', lease: bad }],
    ];
    const m = new FlannelMetrics();
    const log = new RecordingLogger();
    const store = acceptingStore(storeOf(batches), () => rulesFor(config, true, null), m, log);
    const out: string[][] = [];
    for await (const b of store.watchLeases(() => null, new AbortController().signal)) out.push(b.map((e) => `${e.type} ${e.lease.subnet.toString()}`));
    expect(out).to.deep.equal([['added 10.244.8.0/24']]);
    expect(log.messages('warn')).to.deep.equal([
      'ignoring the lease /coreos.com/network/subnets/10.244.9.0-24: PublicIP 127.0.0.1 is a loopback address',
      'ignoring the lease /coreos.com/network/subnets/10.245.1.0-24: key subnet 10.245.1.0/24 is outside the Network 10.244.0.0/16',
    ]);
    const text = m.registry.render();
    expect(text).to.include('flannel_leases_rejected_total{reason="public_ip"} 1');
    expect(text).to.include('flannel_leases_rejected_total{reason="outside_network"} 1');
  });
});
