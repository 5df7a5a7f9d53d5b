// TxChecksumOffload (issue 14 item 4) against the real kernel: two hosts in namespaces running the vxlan
// backend with the option forced "off". The devices' tx checksum offload reads off, again after a device
// is deleted by hand and recreated, and pods still reach each other across the overlay.
import { expect } from 'chai';
import { TestBed } from '../../helpers/netns.js';
import { startNetnsHost, stopNetnsHosts, until, type NetnsHost } from './harness.js';
import { MemoryLeaseStore, vxlanNetworkConfig } from '../../helpers/memory-store.js';

describe('vxlan TxChecksumOffload "off" in network namespaces @netns', function () {
  this.timeout(60_000);
  const backend = { Type: 'vxlan', TxChecksumOffload: 'off' };
  let bed: TestBed;
  let store: MemoryLeaseStore;
  const hosts: NetnsHost[] = [];
  const pods: string[] = [];

  const startHost = (i: number): Promise<NetnsHost> =>
    startNetnsHost(bed, i, store, vxlanNetworkConfig(backend), { reconcileIntervalMs: 600_000, recreateBackoffMs: { initial: 100, max: 500 } });
  const ping = async (from: number, to: string): Promise<boolean> => bed.exec(pods[from - 1]!, ['ping', '-c', '1', '-W', '2', to]).then(() => true, () => false);

  before(async () => {
    bed = await TestBed.create({ tag: 'vxoff', hosts: 2 });
    store = new MemoryLeaseStore(vxlanNetworkConfig(backend));
    hosts.push(await startHost(1), await startHost(2));
    for (const i of [1, 2]) pods.push(await bed.addPod(i, `p${i}`, `10.244.${i}.2/24`, `10.244.${i}.1`));
    await until(() => hosts.every((h) => h.network.peerCount === 1), 'both peers');
  });

  after(async () => {
    await stopNetnsHosts(hosts);
    await bed?.destroy();
  });

  it('turns tx checksum offload off on flannel.1 and says why, once', async () => {
    for (const h of hosts) expect(await h.native.txChecksumOffload('flannel.1')).to.equal(false);
    const lines = hosts[0]!.log.messages('info').filter((m) => m.startsWith('tx checksum offload'));
    expect(lines).to.deep.equal(['tx checksum offload on the vxlan devices: off; TxChecksumOffload is "off"']);
    expect(await ping(1, '10.244.2.2')).to.equal(true);
    expect(await ping(2, '10.244.1.2')).to.equal(true);
  });

  it('turns it off again on a device recreated after someone deleted it, and traffic flows again', async () => {
    const h = hosts[0]!;
    const old = (await h.native.linkGet('flannel.1'))!.index;
    await bed.ip(bed.host(1), 'link', 'del', 'flannel.1');
    await until(async () => {
      const l = await h.native.linkGet('flannel.1');
      return !!l && l.index !== old && l.up;
    }, 'flannel.1 recreated and up', 10_000);
    expect(await h.native.txChecksumOffload('flannel.1')).to.equal(false);
    await until(() => ping(1, '10.244.2.2'), 'pods reach each other again', 10_000);
  });
});
