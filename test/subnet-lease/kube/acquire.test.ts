// The kube lease store acquiring our lease against the fake API server through its own client: the
// exact annotations and where they are patched, podCIDR rules, the NetworkUnavailable condition, the
// node name from the pod, and net-conf.json validation.
import { expect } from 'chai';
import { writeFile } from 'node:fs/promises';
import { ConfigError } from '../../../subnet-lease/config.js';
import { parseIP4 } from '../../../common/ip.js';
import type { LeaseAttrs } from '../../../subnet-lease/lease.js';
import { KubeApiError, KubeStoreError } from '../../../subnet-lease/kube/errors.js';
import { PREFIX, nodeObject, startHarness, type Harness } from './harness.js';

const MAC = '0a:58:c6:12:00:01';
const attrs = (): LeaseAttrs => ({ publicIP: parseIP4('198.18.0.1'), publicIPv6: null, backendType: 'vxlan', backendData: { VNI: 1, VtepMAC: MAC } });
const never = new AbortController().signal;

describe('kube lease store: acquiring our lease (fake API server)', function () {
  this.timeout(20_000);
  let h: Harness;
  beforeEach(async () => {
    h = await startHarness();
  });
  afterEach(async () => {
    await h.close();
  });

  const patches = () => h.api.requests.filter((r) => r.method === 'PATCH');

  it('patches exactly the reference annotations, as a strategic merge patch on nodes/<name>/status', async () => {
    h.api.createNode(nodeObject('node1', ['10.244.1.0/24']));
    const store = h.store();
    await store.getNetworkConfig(never);
    const lease = await store.acquireLease(attrs(), never);
    expect(lease.subnet.toString()).to.equal('10.244.1.0/24');
    expect(lease.ipv6Subnet).to.equal(null);
    expect(lease.attrs.publicIP).to.equal(parseIP4('198.18.0.1'));
    expect(lease.expiration!.getTime() - Date.now()).to.be.closeTo(24 * 3600_000, 60_000);
    const sent = patches();
    expect(sent).to.have.length(1);
    expect(sent[0]!.path).to.equal('/api/v1/nodes/node1/status');
    expect(sent[0]!.contentType).to.equal('application/strategic-merge-patch+json');
    expect(JSON.stringify(sent[0]!.body)).to.equal(
      JSON.stringify({
        metadata: {
          annotations: {
            [`${PREFIX}backend-data`]: `{"VNI":1,"VtepMAC":"${MAC}"}`,
            [`${PREFIX}backend-type`]: 'vxlan',
            [`${PREFIX}kube-subnet-manager`]: 'true',
            [`${PREFIX}public-ip`]: '198.18.0.1',
          },
        },
      }),
    );
    const ann = (h.api.node('node1')!.metadata as { annotations: Record<string, string> }).annotations;
    expect(ann[`${PREFIX}backend-data`]).to.equal(`{"VNI":1,"VtepMAC":"${MAC}"}`);
    expect(ann['node.alpha.kubernetes.io/ttl'], 'other annotations are kept').to.equal('0');
  });

  it('patches nothing when the node already carries the same annotations, and only what differs otherwise', async () => {
    h.api.createNode(nodeObject('node1', ['10.244.1.0/24']));
    await h.store().acquireLease(attrs(), never);
    const again = await h.store().acquireLease(attrs(), never);
    expect(again.subnet.toString()).to.equal('10.244.1.0/24');
    expect(patches()).to.have.length(1);
    const moved = attrs();
    moved.publicIP = parseIP4('198.18.0.11');
    await h.store().acquireLease(moved, never);
    expect(patches()).to.have.length(2);
    expect(patches()[1]!.body).to.deep.equal({ metadata: { annotations: { [`${PREFIX}public-ip`]: '198.18.0.11' } } });
  });

  it('advertises public-ip-overwrite instead of our address, and writes no backend-data for vxlan without data', async () => {
    h.api.createNode(nodeObject('node1', ['10.244.1.0/24'], { [`${PREFIX}public-ip-overwrite`]: '203.0.113.7' }));
    await h.store().acquireLease(attrs(), never);
    const ann = (patches()[0]!.body as { metadata: { annotations: Record<string, string> } }).metadata.annotations;
    expect(ann[`${PREFIX}public-ip`]).to.equal('203.0.113.7');

    h.api.createNode(nodeObject('node2', ['10.244.2.0/24']));
    await h.store({ identity: { nodeName: 'node2' } }).acquireLease({ publicIP: parseIP4('198.18.0.2'), publicIPv6: null, backendType: 'vxlan' }, never);
    expect(patches()[1]!.body).to.deep.equal({
      metadata: { annotations: { [`${PREFIX}backend-type`]: 'vxlan', [`${PREFIX}kube-subnet-manager`]: 'true' } },
    });
  });

  it('writes backend-data "null" for host-gw', async () => {
    h.api.createNode(nodeObject('node1', ['10.244.1.0/24']));
    await h.store().acquireLease({ publicIP: parseIP4('198.18.0.1'), publicIPv6: null, backendType: 'host-gw' }, never);
    expect((patches()[0]!.body as { metadata: { annotations: Record<string, string> } }).metadata.annotations).to.deep.equal({
      [`${PREFIX}backend-data`]: 'null',
      [`${PREFIX}backend-type`]: 'host-gw',
      [`${PREFIX}kube-subnet-manager`]: 'true',
      [`${PREFIX}public-ip`]: '198.18.0.1',
    });
  });

  it('uses the annotation prefix rules (example.com/foo → example.com/foo-backend-data)', async () => {
    const { annotationKeys } = await import('../../../subnet-lease/kube/annotations.js');
    h.api.createNode(nodeObject('node1', ['10.244.1.0/24']));
    await h.store({ keys: annotationKeys('example.com/foo') }).acquireLease(attrs(), never);
    expect(Object.keys((patches()[0]!.body as { metadata: { annotations: object } }).metadata.annotations)).to.deep.equal([
      'example.com/foo-backend-data',
      'example.com/foo-backend-type',
      'example.com/foo-kube-subnet-manager',
      'example.com/foo-public-ip',
    ]);
  });

  it('waits for a podCIDR assigned late, then takes it', async () => {
    h.api.createNode(nodeObject('node1', []));
    setTimeout(() => h.api.updateNode('node1', (n) => (n.spec = { podCIDR: '10.244.7.0/24', podCIDRs: ['10.244.7.0/24'] })), 400);
    const lease = await h.store().acquireLease(attrs(), never);
    expect(lease.subnet.toString()).to.equal('10.244.7.0/24');
  });

  it('without a podCIDR: waits, then fails with the reference error and patches nothing', async () => {
    h.api.createNode(nodeObject('node1', []));
    const started = Date.now();
    const err = await h.store().acquireLease(attrs(), never).then(() => null, (e: Error) => e);
    expect(err).to.be.instanceOf(KubeStoreError);
    expect(err!.message).to.match(/^node "node1" pod cidr not assigned/);
    expect(err!.message).to.include('--allocate-node-cidrs=true');
    expect(Date.now() - started).to.be.at.least(1400);
    expect(patches()).to.have.length(0);
  });

  it('refuses a podCIDR outside Network with the reference message', async () => {
    h.api.createNode(nodeObject('node1', ['10.245.1.0/24']));
    const err = await h.store().acquireLease(attrs(), never).then(() => null, (e: Error) => e);
    expect(err!.message).to.equal(`subnet "10.244.0.0/16" specified in the flannel net config doesn't contain "10.245.1.0/24" PodCIDR of the "node1" node`);
    expect(patches()).to.have.length(0);
  });

  it('a node that never appears: fails after the wait, naming it', async () => {
    const err = await h.store().acquireLease(attrs(), never).then(() => null, (e: Error) => e);
    expect(err!.message).to.match(/^node "node1" not found/);
  });

  it('sets NetworkUnavailable=False with the reference reason and message, merged into the other conditions', async () => {
    h.api.createNode(nodeObject('node1', ['10.244.1.0/24']));
    const store = h.store();
    const lease = await store.acquireLease(attrs(), never);
    const stop = new AbortController();
    const kept = store.keepLease(lease, stop.signal, () => undefined);
    await until(() => patches().length === 2);
    stop.abort();
    await kept;
    const p = patches()[1]!;
    expect(p.path).to.equal('/api/v1/nodes/node1/status');
    expect(p.contentType).to.equal('application/strategic-merge-patch+json');
    const cond = (p.body as { status: { conditions: Array<Record<string, string>> } }).status.conditions;
    expect(cond).to.have.length(1);
    expect(Object.keys(cond[0]!)).to.deep.equal(['type', 'status', 'lastHeartbeatTime', 'lastTransitionTime', 'reason', 'message']);
    expect(cond[0]).to.include({ type: 'NetworkUnavailable', status: 'False', reason: 'FlannelIsUp', message: 'Flannel is running on this node' });
    expect(cond[0]!.lastHeartbeatTime).to.match(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/);
    const stored = ((h.api.node('node1')!.status as { conditions: Array<{ type: string }> }).conditions).map((c) => c.type);
    expect(stored).to.deep.equal(['Ready', 'NetworkUnavailable']);
  });

  it('leaves the condition alone with --set-node-network-unavailable=false', async () => {
    h.api.createNode(nodeObject('node1', ['10.244.1.0/24']));
    const store = h.store({ setNodeNetworkUnavailable: false });
    const lease = await store.acquireLease(attrs(), never);
    const stop = new AbortController();
    const kept = store.keepLease(lease, stop.signal, () => undefined);
    await new Promise((r) => setTimeout(r, 300));
    stop.abort();
    await kept;
    expect(patches()).to.have.length(1);
  });

  it('finds the node name through POD_NAME/POD_NAMESPACE and a GET of that pod', async () => {
    h.api.createNode(nodeObject('worker-7', ['10.244.9.0/24']));
    h.api.createPod('kube-flannel', 'kube-flannel-ds-abcde', 'worker-7');
    const lease = await h.store({ identity: { podName: 'kube-flannel-ds-abcde', podNamespace: 'kube-flannel' } }).acquireLease(attrs(), never);
    expect(lease.subnet.toString()).to.equal('10.244.9.0/24');
    expect(h.api.requests.some((r) => r.method === 'GET' && r.path === '/api/v1/namespaces/kube-flannel/pods/kube-flannel-ds-abcde')).to.equal(true);
    expect(patches()[0]!.path).to.equal('/api/v1/nodes/worker-7/status');
  });

  it('fails with the reference message when the pod cannot be read', async () => {
    const err = await h.store({ identity: { podName: 'nope', podNamespace: 'kube-flannel' } }).acquireLease(attrs(), never).then(() => null, (e: Error) => e);
    expect(err!.message).to.match(/^error retrieving pod spec for 'kube-flannel\/nope': get pod "kube-flannel\/nope": pods "nope" not found \(HTTP 404 NotFound\)/);
  });

  it('a refused patch (RBAC) fails the acquisition with the API server message', async () => {
    const ro = await startHarness({ rules: [{ apiGroups: [''], resources: ['nodes'], verbs: ['get', 'list', 'watch', 'patch'] }] });
    try {
      ro.api.createNode(nodeObject('node1', ['10.244.1.0/24']));
      const err = await ro.store().acquireLease(attrs(), never).then(() => null, (e: Error) => e);
      expect(err).to.be.instanceOf(KubeApiError);
      expect((err as KubeApiError).statusCode).to.equal(403);
      expect(err!.message).to.include('nodes "node1" is forbidden: User "system:serviceaccount:kube-flannel:flannel" cannot patch resource "nodes/status"');
    } finally {
      await ro.close();
    }
  });

  it('returns node-public-ip / node-public-ipv6 for start-up, and refuses one that is not an address', async () => {
    h.api.createNode(nodeObject('node1', ['10.244.1.0/24'], { [`${PREFIX}node-public-ip`]: '192.0.2.10' }));
    expect(await h.store().nodePublicIPs(never)).to.deep.equal({ publicIP: '192.0.2.10', publicIPv6: '' });
    h.api.updateNode('node1', (n) => ((n.metadata as { annotations: Record<string, string> }).annotations[`${PREFIX}node-public-ip`] = 'not-an-ip'));
    const err = await h.store().nodePublicIPs(never).then(() => null, (e: Error) => e);
    expect(err!.message).to.include(`annotation ${PREFIX}node-public-ip="not-an-ip" is not an address`);
  });

  it('a node list that never syncs: fails after the wait, or with CONT_WHEN_CACHE_NOT_READY=true reads the node directly', async () => {
    const noList = await startHarness({ rules: [{ apiGroups: [''], resources: ['nodes'], verbs: ['get'] }, { apiGroups: [''], resources: ['nodes/status'], verbs: ['patch'] }] });
    try {
      noList.api.createNode(nodeObject('node1', ['10.244.1.0/24']));
      const err = await noList.store({ syncTimeoutMs: 500 }).acquireLease(attrs(), never).then(() => null, (e: Error) => e);
      expect(err!.message).to.match(/^error waiting for the node list to sync: timed out after 1s \(set CONT_WHEN_CACHE_NOT_READY=true to carry on\)/);
      expect(noList.logger.messages('warn').join('\n')).to.match(/node list failed: .*forbidden/);
      const lease = await noList.store({ syncTimeoutMs: 500, contWhenCacheNotReady: true }).acquireLease(attrs(), never);
      expect(lease.subnet.toString()).to.equal('10.244.1.0/24');
      expect(noList.api.requests.filter((r) => r.method === 'PATCH')).to.have.length(1);
    } finally {
      await noList.close();
    }
  });

  describe('net-conf.json (validated as in etcd mode)', () => {
    it('applies the etcd-mode defaults', async () => {
      const cfg = await h.store().getNetworkConfig(never);
      expect(cfg.subnetLen).to.equal(24);
      expect(cfg.backendType).to.equal('vxlan');
    });

    it('rejects what etcd mode rejects, with the same message', async () => {
      await writeFile(h.netConfigPath, '{"Network":"10.244.0.0/16","SubnetLen":31,"Backend":{"Type":"vxlan"}}');
      const err = await h.store().getNetworkConfig(never).then(() => null, (e: Error) => e);
      expect(err).to.be.instanceOf(ConfigError);
      expect(err!.message).to.match(/^SubnetLen must be less than \/31/);
    });

    it('a missing file is a clear, final error', async () => {
      const err = await h.store({ netConfigPath: `${h.dir}/missing.json` }).getNetworkConfig(never).then(() => null, (e: Error) => e);
      expect(err).to.be.instanceOf(KubeStoreError);
      expect((err as KubeStoreError).retryable).to.equal(false);
      expect(err!.message).to.match(/^failed to read net conf .*missing\.json/);
    });
  });
});

async function until(cond: () => boolean, timeoutMs = 5000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!cond()) {
    if (Date.now() > deadline) throw new Error('condition not met in time');
    await new Promise((r) => setTimeout(r, 20));
  }
}
