// The kube lease store following the other nodes through its own client's paginated list + watch against the fake
// API server: which nodes become leases, updates of either family, deletions, 410 Gone and re-list
// without a lost or duplicated event, resuming after a closed watch and from a BOOKMARK, and the
// deletion of our own node.
import { expect } from 'chai';
import { formatIP4, formatIP6, parseIP4, parseIP6 } from '../../../common/ip.js';
import type { Lease, LeaseEvent } from '../../../subnet-lease/lease.js';
import { OwnNodeDeletedError } from '../../../subnet-lease/kube/errors.js';
import type { KubeSubnetManager } from '../../../subnet-lease/kube/manager.js';
import type { FakeApiServerOptions } from '../../helpers/fake-apiserver.js';
import { BatchReader, PREFIX, flannelAnnotations, nodeObject, startHarness, type Harness } from './harness.js';

const never = new AbortController().signal;
const mac = (i: number) => `0a:58:c6:12:00:0${i}`;

function describeEvent(e: LeaseEvent): string {
  const a = e.lease.attrs;
  const v6 = e.lease.ipv6Subnet ? ` ${e.lease.ipv6Subnet} ${a.publicIPv6 === null ? '-' : formatIP6(a.publicIPv6)} ${JSON.stringify(a.backendV6Data)}` : '';
  return `${e.type} ${e.lease.subnet} ${formatIP4(a.publicIP)} ${a.backendType ?? ''} ${JSON.stringify(a.backendData)}${v6}`;
}

const managed = (i: number, extra: Record<string, string> = {}) => nodeObject(`node${i}`, [`10.244.${i}.0/24`], flannelAnnotations(`198.18.0.${i}`, mac(i), extra));

function annotate(h: Harness, name: string, values: Record<string, string>): void {
  h.api.updateNode(name, (n) => Object.assign((n.metadata as { annotations: Record<string, string> }).annotations, values));
}

async function ourLease(store: KubeSubnetManager): Promise<Lease> {
  await store.getNetworkConfig(never);
  return store.acquireLease({ publicIP: parseIP4('198.18.0.1'), publicIPv6: null, backendType: 'vxlan', backendData: { VNI: 1, VtepMAC: mac(1) } }, never);
}

describe('kube lease store: other nodes as leases (fake API server)', function () {
  this.timeout(30_000);
  let h: Harness;
  let stop: AbortController;

  async function watching(server: FakeApiServerOptions = {}): Promise<BatchReader<LeaseEvent[]>> {
    h = await startHarness(server);
    h.api.createNode(nodeObject('node1', ['10.244.1.0/24']));
    h.api.createNode(managed(2));
    h.api.createNode(nodeObject('node3', ['10.244.3.0/24']));
    const store = h.store();
    const lease = await ourLease(store);
    stop = new AbortController();
    return new BatchReader(store.watchLeases(() => lease, stop.signal));
  }

  afterEach(async () => {
    stop?.abort();
    await h?.close();
  });

  const lists = () => h.api.requests.filter((r) => r.method === 'GET' && r.path === '/api/v1/nodes' && r.query.watch === undefined).length;

  it('may be called before getNetworkConfig and acquireLease: it reads the config and our node name itself', async () => {
    h = await startHarness();
    h.api.createNode(nodeObject('node1', ['10.244.1.0/24']));
    h.api.createNode(managed(2));
    stop = new AbortController();
    const r = new BatchReader(h.store().watchLeases(() => null, stop.signal));
    expect((await r.next()).map(describeEvent)).to.deep.equal([`added 10.244.2.0/24 198.18.0.2 vxlan {"VNI":1,"VtepMAC":"${mac(2)}"}`]);
  });

  it('reports only nodes annotated kube-subnet-manager "true", never our own, with their exact lease', async () => {
    const r = await watching();
    expect((await r.next()).map(describeEvent)).to.deep.equal([`added 10.244.2.0/24 198.18.0.2 vxlan {"VNI":1,"VtepMAC":"${mac(2)}"}`]);
    annotate(h, 'node3', flannelAnnotations('198.18.0.3', mac(3)));
    expect((await r.next()).map(describeEvent)).to.deep.equal([`added 10.244.3.0/24 198.18.0.3 vxlan {"VNI":1,"VtepMAC":"${mac(3)}"}`]);
  });

  it('applies an annotation update, ignores updates that change no lease, and removes deleted nodes', async () => {
    const r = await watching();
    await r.next();
    annotate(h, 'node2', { [`${PREFIX}backend-data`]: JSON.stringify({ VNI: 1, VtepMAC: mac(9) }) });
    expect((await r.next()).map(describeEvent)).to.deep.equal([`added 10.244.2.0/24 198.18.0.2 vxlan {"VNI":1,"VtepMAC":"${mac(9)}"}`]);
    h.api.updateNode('node2', (n) => ((n.status as { conditions: Array<Record<string, string>> }).conditions[0]!.lastHeartbeatTime = '2024-01-01T00:05:00Z'));
    annotate(h, 'node1', { 'example.com/other': 'x' });
    expect(await r.quiet(500), 'a heartbeat or a change of our own node makes no event').to.equal(true);
    h.api.deleteNode('node2');
    expect((await r.next()).map(describeEvent)).to.deep.equal([`removed 10.244.2.0/24 198.18.0.2 vxlan {"VNI":1,"VtepMAC":"${mac(9)}"}`]);
  });

  it('skips (and logs) a node whose annotations make no lease, and removes a node that stops being one', async () => {
    const r = await watching();
    await r.next();
    h.api.createNode(managed(4, { [`${PREFIX}public-ip`]: 'bogus' }));
    annotate(h, 'node2', { [`${PREFIX}kube-subnet-manager`]: 'false' });
    expect((await r.next()).map(describeEvent)).to.deep.equal([`removed 10.244.2.0/24 198.18.0.2 vxlan {"VNI":1,"VtepMAC":"${mac(2)}"}`]);
    expect(h.logger.messages('warn').join('\n')).to.match(/ignoring node "node4": .*public-ip="bogus"/);
  });

  for (const expiredWatch of ['event', 'http'] as const) {
    it(`410 Gone (${expiredWatch === 'event' ? 'ERROR event' : 'HTTP 410'}): lists again and reports exactly what changed meanwhile`, async () => {
      const r = await watching({ expiredWatch });
      await r.next();
      // While the client is disconnected: a node arrives, one leaves, one changes in a way that makes no
      // lease change, and the history is compacted, so resuming from the last version is impossible.
      h.api.dropWatches();
      h.api.createNode(managed(4));
      h.api.deleteNode('node2');
      h.api.updateNode('node3', (n) => ((n.metadata as { labels: Record<string, string> }).labels.extra = 'yes'));
      h.api.compact();
      const batch = (await r.next()).map(describeEvent).sort();
      expect(batch).to.deep.equal([
        `added 10.244.4.0/24 198.18.0.4 vxlan {"VNI":1,"VtepMAC":"${mac(4)}"}`,
        `removed 10.244.2.0/24 198.18.0.2 vxlan {"VNI":1,"VtepMAC":"${mac(2)}"}`,
      ]);
      expect(await r.quiet(500), 'nothing reported twice').to.equal(true);
      expect(lists()).to.equal(2);
      expect(h.logger.messages('info').join('\n')).to.match(/expired .*listing again/);
      h.api.createNode(managed(5));
      expect((await r.next()).map(describeEvent)).to.deep.equal([`added 10.244.5.0/24 198.18.0.5 vxlan {"VNI":1,"VtepMAC":"${mac(5)}"}`]);
    });
  }

  it('a watch closed by the server resumes from the last resourceVersion: changes meanwhile arrive once, no re-list', async () => {
    const r = await watching();
    await r.next();
    h.api.dropWatches();
    h.api.createNode(managed(7));
    expect((await r.next()).map(describeEvent)).to.deep.equal([`added 10.244.7.0/24 198.18.0.7 vxlan {"VNI":1,"VtepMAC":"${mac(7)}"}`]);
    expect(await r.quiet(300)).to.equal(true);
    expect(lists()).to.equal(1);
    const watches = h.api.requests.filter((q) => q.query.watch !== undefined);
    expect(watches.length).to.be.at.least(2);
    expect(watches.every((q) => q.query.allowWatchBookmarks === 'true')).to.equal(true);
    expect(watches[watches.length - 1]!.query.resourceVersion).to.match(/^\d+$/);
  });

  it('resumes from the resourceVersion of a BOOKMARK (no 410, no re-list after a compaction)', async () => {
    const r = await watching();
    await r.next();
    h.api.createPod('kube-flannel', 'unrelated', 'node3'); // moves the global resourceVersion past every node event
    h.api.bookmark();
    await new Promise((res) => setTimeout(res, 300));
    h.api.compact();
    h.api.dropWatches();
    await new Promise((res) => setTimeout(res, 500));
    h.api.createNode(managed(6));
    expect((await r.next()).map(describeEvent)).to.deep.equal([`added 10.244.6.0/24 198.18.0.6 vxlan {"VNI":1,"VtepMAC":"${mac(6)}"}`]);
    expect(lists()).to.equal(1);
  });
});

describe('kube lease store: our own node deleted (fake API server)', function () {
  this.timeout(30_000);
  let h: Harness;
  afterEach(async () => {
    await h?.close();
  });

  for (const via of ['a DELETED event', 'a re-list after 410'] as const) {
    it(`keepLease rejects with OwnNodeDeletedError and logs it (${via})`, async () => {
      h = await startHarness();
      h.api.createNode(nodeObject('node1', ['10.244.1.0/24']));
      const store = h.store({ setNodeNetworkUnavailable: false });
      const lease = await ourLease(store);
      const stop = new AbortController();
      const kept = store.keepLease(lease, stop.signal, () => undefined).then(() => null, (e: Error) => e);
      await new Promise((res) => setTimeout(res, 200));
      if (via === 'a DELETED event') h.api.deleteNode('node1');
      else {
        h.api.dropWatches();
        h.api.deleteNode('node1');
        h.api.compact();
      }
      const err = await kept;
      stop.abort();
      expect(err).to.be.instanceOf(OwnNodeDeletedError);
      expect(err!.message).to.equal('node "node1" was deleted from the Kubernetes API');
      expect(h.logger.messages('error').join('\n')).to.include('node "node1" was deleted from the Kubernetes API; stopping');
    });
  }

  it('keepLease resolves on abort while the node exists', async () => {
    h = await startHarness();
    h.api.createNode(nodeObject('node1', ['10.244.1.0/24']));
    const store = h.store({ setNodeNetworkUnavailable: false });
    const lease = await ourLease(store);
    const stop = new AbortController();
    const kept = store.keepLease(lease, stop.signal, () => undefined);
    setTimeout(() => stop.abort(), 200);
    expect(await kept).to.equal(undefined);
  });
});

describe('kube lease store: dual stack (fake API server)', function () {
  this.timeout(30_000);
  let h: Harness;
  let stop: AbortController;
  afterEach(async () => {
    stop?.abort();
    await h?.close();
  });

  const v6node = (i: number, v6mac: string) =>
    nodeObject(`node${i}`, [`10.244.${i}.0/24`, `fd00:10:244:${i}::/64`], flannelAnnotations(`198.18.0.${i}`, mac(i), {
      [`${PREFIX}backend-v6-data`]: JSON.stringify({ VNI: 1, VtepMAC: v6mac }),
      [`${PREFIX}public-ipv6`]: `fd00:198:18::${i}`,
    }));

  it('applies an update that changes only the IPv6 annotations (the reference drops it)', async () => {
    h = await startHarness({}, '{"Network":"10.244.0.0/16","EnableIPv6":true,"IPv6Network":"fd00:10:244::/56","Backend":{"Type":"vxlan"}}');
    h.api.createNode(nodeObject('node1', ['10.244.1.0/24', 'fd00:10:244:1::/64']));
    h.api.createNode(v6node(2, '0a:58:00:00:06:02'));
    const store = h.store();
    await store.getNetworkConfig(never);
    const lease = await store.acquireLease(
      { publicIP: parseIP4('198.18.0.1'), publicIPv6: parseIP6('fd00:198:18::1'), backendType: 'vxlan', backendData: { VNI: 1, VtepMAC: mac(1) }, backendV6Data: { VNI: 1, VtepMAC: '0a:58:00:00:06:01' } },
      never,
    );
    expect(lease.ipv6Subnet!.toString()).to.equal('fd00:10:244:1::/64');
    const ann = (h.api.node('node1')!.metadata as { annotations: Record<string, string> }).annotations;
    expect(ann[`${PREFIX}public-ipv6`]).to.equal('fd00:198:18::1');
    expect(ann[`${PREFIX}backend-v6-data`]).to.equal('{"VNI":1,"VtepMAC":"0a:58:00:00:06:01"}');
    stop = new AbortController();
    const r = new BatchReader(store.watchLeases(() => lease, stop.signal));
    expect((await r.next()).map(describeEvent)).to.deep.equal([
      `added 10.244.2.0/24 198.18.0.2 vxlan {"VNI":1,"VtepMAC":"${mac(2)}"} fd00:10:244:2::/64 fd00:198:18::2 {"VNI":1,"VtepMAC":"0a:58:00:00:06:02"}`,
    ]);
    annotate(h, 'node2', { [`${PREFIX}backend-v6-data`]: JSON.stringify({ VNI: 1, VtepMAC: '0a:58:00:00:06:99' }) });
    expect((await r.next()).map(describeEvent)).to.deep.equal([
      `added 10.244.2.0/24 198.18.0.2 vxlan {"VNI":1,"VtepMAC":"${mac(2)}"} fd00:10:244:2::/64 fd00:198:18::2 {"VNI":1,"VtepMAC":"0a:58:00:00:06:99"}`,
    ]);
  });
});
