// Unit tests (no root): the metering store wrapper passes previousLease through, only when the store
// has it, and counts its failures like any other store request.
import { expect } from 'chai';
import { EventTracker, meteredStore } from '../../flanneld/metered.js';
import { FlannelMetrics } from '../../flanneld/metrics.js';
import { parseIP4 } from '../../common/ip.js';
import type { LeaseAttrs } from '../../subnet-lease/lease.js';
import { MemoryLeaseStore, vxlanNetworkConfig } from '../helpers/memory-store.js';

const never = new AbortController().signal;

describe('meteredStore: previousLease', () => {
  it('passes it through with its arguments and answer', async () => {
    const inner = new MemoryLeaseStore(vxlanNetworkConfig());
    const prev: LeaseAttrs = { publicIP: parseIP4('198.18.0.1'), publicIPv6: null, backendType: 'vxlan', backendData: { VNI: 1, VtepMAC: '0a:11:22:33:44:55' } };
    inner.previous = prev;
    const m = new FlannelMetrics();
    const store = meteredStore(inner, m, new EventTracker(m));
    expect((await store.previousLease!({ publicIP: parseIP4('198.18.0.1') }, never)).attrs).to.equal(prev);
    expect(inner.previousAsked).to.deep.equal([parseIP4('198.18.0.1')]);
  });

  it('leaves it out when the store has none, and counts a failure', async () => {
    const m = new FlannelMetrics();
    const inner = new MemoryLeaseStore(vxlanNetworkConfig());
    const without = Object.assign(Object.create(inner) as MemoryLeaseStore, { previousLease: undefined });
    expect(meteredStore(without, m, new EventTracker(m)).previousLease).to.equal(undefined);
    const failing = Object.assign(Object.create(inner) as MemoryLeaseStore, { previousLease: () => Promise.reject(new Error('down')) });
    const err = await meteredStore(failing, m, new EventTracker(m)).previousLease!({ publicIP: 1 }, never).then(() => null, (e: Error) => e);
    expect(err?.message).to.equal('down');
    expect(m.registry.render()).to.include('flannel_store_errors_total{operation="previous_lease"} 1');
  });
});
