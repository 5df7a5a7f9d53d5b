// The kube lease store telling what our node's annotations say from the previous run
// (LeaseStore.previousLease), against the fake API server through its own client.
import { expect } from 'chai';
import { parseIP4, parseIP6 } from '../../../common/ip.js';
import { PREFIX, flannelAnnotations, nodeObject, startHarness, type Harness } from './harness.js';

const MAC = '0a:58:c6:12:00:01';
const MAC6 = '0e:58:c6:12:00:02';
const never = new AbortController().signal;
const ip = { publicIP: parseIP4('198.18.0.1') };

describe('kube lease store: the previous lease from our node annotations (fake API server)', function () {
  this.timeout(20_000);
  let h: Harness;
  beforeEach(async () => {
    h = await startHarness();
  });
  afterEach(async () => {
    await h.close();
  });

  const nodeGets = () => h.api.requests.filter((r) => r.method === 'GET' && r.path === '/api/v1/nodes/node1');

  it('returns backend-data, backend-v6-data, backend-type and public IPs of our node', async () => {
    h.api.createNode(
      nodeObject('node1', ['10.244.1.0/24'], flannelAnnotations('198.18.0.1', MAC, {
        [`${PREFIX}backend-v6-data`]: JSON.stringify({ VNI: 1, VtepMAC: MAC6 }),
        [`${PREFIX}public-ipv6`]: 'fd00::1',
      })),
    );
    h.api.createNode(nodeObject('node2', ['10.244.2.0/24'], flannelAnnotations('198.18.0.2', '0a:00:00:00:00:09')));
    const prev = (await h.store().previousLease(ip, never)).attrs;
    expect(prev).to.deep.equal({
      publicIP: parseIP4('198.18.0.1'),
      publicIPv6: parseIP6('fd00::1'),
      backendType: 'vxlan',
      backendData: { VNI: 1, VtepMAC: MAC },
      backendV6Data: { VNI: 1, VtepMAC: MAC6 },
    });
    expect(h.api.requests.filter((r) => r.method !== 'GET'), 'it writes nothing').to.have.length(0);
  });

  it('reads the node itself, not a copy an earlier step kept: a change after nodePublicIPs is seen', async () => {
    h.api.createNode(nodeObject('node1', ['10.244.1.0/24'], flannelAnnotations('198.18.0.1', MAC)));
    const store = h.store();
    await store.nodePublicIPs(never);
    expect(nodeGets()).to.have.length(1);
    const later = '0a:00:00:00:00:77';
    h.api.updateNode('node1', (n) => Object.assign((n.metadata as { annotations: Record<string, string> }).annotations, flannelAnnotations('198.18.0.1', later)));
    expect((await store.previousLease(ip, never)).attrs?.backendData).to.deep.equal({ VNI: 1, VtepMAC: later });
    expect(nodeGets()).to.have.length(2);
  });

  it('is null for a node without flannel annotations, and skips one that is not JSON', async () => {
    h.api.createNode(nodeObject('node1', ['10.244.1.0/24']));
    expect((await h.store().previousLease(ip, never)).attrs).to.equal(null);
    h.api.updateNode('node1', (n) => {
      const ann = (n.metadata as { annotations: Record<string, string> }).annotations;
      ann[`${PREFIX}backend-data`] = '{not json';
      ann[`${PREFIX}backend-type`] = 'vxlan';
    });
    const prev = (await h.store().previousLease(ip, never)).attrs;
    expect(prev).to.deep.equal({ publicIP: 0, publicIPv6: null, backendType: 'vxlan' });
    expect(h.logger.messages('debug').join('\n')).to.include(`annotation ${PREFIX}backend-data is not JSON`);
  });

  it('is null, with a warning, when our node cannot be read', async () => {
    expect((await h.store().previousLease(ip, never)).attrs).to.equal(null);
    expect(h.logger.messages('warn').join('\n')).to.include('could not read the previous backend data of node "node1"');
  });

  it('rejects when aborted', async () => {
    h.api.createNode(nodeObject('node1', ['10.244.1.0/24'], flannelAnnotations('198.18.0.1', MAC)));
    const ac = new AbortController();
    ac.abort(new Error('stopping'));
    const err = await h.store().previousLease(ip, ac.signal).then(() => null, (e: Error) => e);
    expect(err).to.be.instanceOf(Error);
  });
});
