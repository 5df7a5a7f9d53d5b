// Kubernetes mode, IPv6-only (issue 14 item 3): the fake API server on the switch's IPv6 address holds
// three Nodes whose spec.podCIDRs is one IPv6 CIDR each; every host of an IPv6-only underlay runs the
// built `flanneld --kube-subnet-mgr` with net-conf `"EnableIPv4": false` (vxlan, then host-gw), within
// the RBAC rules of kube-flannel.yml; pods come from the manifest's conflist through our CNI plugin and
// Debian's bridge + host-local + portmap.
import { expect } from 'chai';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { flannelCniPath, type ConfList, type CniRunOptions } from '../helpers/cni.js';
import type { RemoteFakeApi } from '../helpers/fake-apiserver-remote.js';
import { FlanneldProcess, until } from '../helpers/flanneld.js';
import { PREFIX, TOKEN, addPod, annotations, manifest, startFakeApi } from '../helpers/kube-e2e.js';
import { TestBed, removeNamespaces } from '../helpers/netns.js';
import { kubeconfigText, nodeObject } from '../subnet-lease/kube/harness.js';

const SWITCH6 = 'fd00:198:18::fe';
const NETWORK6 = 'fd00:10:244::/56';
const HOSTS = [1, 2, 3] as const;
const netConf = (backend: string): string => JSON.stringify({ EnableIPv4: false, EnableIPv6: true, IPv6Network: NETWORK6, Backend: { Type: backend } });

for (const backend of ['vxlan', 'host-gw'] as const) describe(`kube mode, IPv6-only: flanneld --kube-subnet-mgr with v6 podCIDRs, ${backend}, CNI chain @netns`, function () {
  const vxlan = backend === 'vxlan';
  this.timeout(120_000);
  let bed: TestBed;
  let tmp: string;
  let api: RemoteFakeApi;
  let conflist: ConfList;
  let cniPath: string[];
  const daemons = new Map<number, FlanneldProcess>();
  const podIP = new Map<number, string>();
  const nodeRoot = (i: number) => join(tmp, `node${i}`);
  const pod = (i: number) => `${bed.prefix}-pod${i}`;
  const cniOpts = (i: number): CniRunOptions => ({ hostNetns: bed.host(i), netns: pod(i), containerId: `kube6-pod${i}`, cniPath, nodeRoot: nodeRoot(i) });
  const vtepMac = async (i: number) => /link\/ether ([0-9a-f:]+)/.exec(await bed.ip(bed.host(i), 'link', 'show', 'flannel-v6.1'))![1]!;
  const ping = (from: number, to: string) =>
    bed.exec(pod(from), ['ping', '-6', '-c', '1', '-W', '2', to]).then(
      () => true,
      () => false,
    );

  before(async function () {
    this.timeout(180_000);
    bed = await TestBed.create({ tag: vxlan ? 'kube6vx' : 'kube6hg', hosts: 3, ipv6: true, ipv4: false });
    tmp = await mkdtemp(join(tmpdir(), 'fl-kube6-e2e-'));
    const m = await manifest();
    conflist = m.conflist;
    await writeFile(join(tmp, 'net-conf.json'), netConf(backend));
    await writeFile(join(tmp, 'kubeconfig'), kubeconfigText(`http://[${SWITCH6}]:6443`, TOKEN));
    cniPath = await flannelCniPath(tmp);
    api = await startFakeApi(bed, tmp, m.rules, SWITCH6);
    for (const i of HOSTS) await api.createNode(nodeObject(`node${i}`, [`fd00:10:244:${i}::/64`]));
    for (const i of HOSTS) {
      const args = ['--kube-subnet-mgr', `--kubeconfig-file=${join(tmp, 'kubeconfig')}`, `--net-config-path=${join(tmp, 'net-conf.json')}`];
      daemons.set(i, new FlanneldProcess(bed, i, join(nodeRoot(i), 'run/flannel/subnet.env'), args, { NODE_NAME: `node${i}` }, { etcd: false }));
    }
    for (const i of HOSTS) await daemons.get(i)!.waitForSubnetEnv();
    for (const i of HOSTS) podIP.set(i, await addPod(conflist, cniOpts(i)));
  });

  after(async function () {
    this.timeout(60_000);
    for (const d of daemons.values()) await d.kill();
    if (bed) await removeNamespaces(bed.prefix);
    await bed?.destroy();
    if (tmp) await rm(tmp, { recursive: true, force: true });
  });

  it("takes each node's IPv6 podCIDR as its subnet; subnet.env has only the IPv6 lines", async () => {
    for (const i of HOSTS) {
      const env = await daemons.get(i)!.subnetEnv();
      expect(env, `host ${i}`).to.equal(`FLANNEL_IPV6_NETWORK=${NETWORK6}\nFLANNEL_IPV6_SUBNET=fd00:10:244:${i}::1/64\nFLANNEL_MTU=${vxlan ? 1430 : 1500}\nFLANNEL_IPMASQ=false\n`);
      expect(podIP.get(i)).to.match(new RegExp(`^fd00:10:244:${i}::[0-9a-f]+$`));
    }
  });

  it(`annotates the keys the reference ${backend} backend writes in IPv6-only mode`, async () => {
    for (const i of HOSTS) {
      const ann = annotations(await api.getNode(`node${i}`));
      expect(ann[`${PREFIX}backend-type`]).to.equal(backend);
      expect(ann[`${PREFIX}public-ipv6`]).to.equal(bed.hostAddr6(i));
      expect(ann[`${PREFIX}kube-subnet-manager`]).to.equal('true');
      if (vxlan) {
        expect(ann[`${PREFIX}backend-v6-data`]).to.equal(`{"VNI":1,"VtepMAC":"${await vtepMac(i)}"}`);
        expect(ann, `node${i}`).to.not.have.any.keys(`${PREFIX}backend-data`, `${PREFIX}public-ip`);
      } else {
        expect(ann[`${PREFIX}backend-v6-data`]).to.equal('null');
        expect(ann[`${PREFIX}backend-data`]).to.equal('null');
        expect(ann[`${PREFIX}public-ip`]).to.equal('0.0.0.0');
      }
    }
    const requests = await api.requests();
    expect(requests.filter((r) => r.status === 401 || r.status === 403), 'no request outside the RBAC rules').to.deep.equal([]);
  });

  it('every pod pings every other pod across hosts over IPv6', async () => {
    for (const i of HOSTS) {
      for (const j of HOSTS) if (i !== j) await until(`pod ${i} -> pod ${j}`, () => ping(i, podIP.get(j)!), 15_000);
    }
  });

  if (vxlan) it('creates only flannel-v6.1 and programs the other nodes from their IPv6 annotations', async () => {
    const h = bed.host(1);
    await bed.ip(h, 'link', 'show', 'flannel.1').then(
      () => expect.fail('flannel.1 exists in an IPv6-only cluster'),
      (e: Error) => expect(e.message).to.match(/does not exist/),
    );
    const neigh = await bed.ip(h, '-6', 'neigh', 'show', 'dev', 'flannel-v6.1');
    const fdb = await bed.exec(h, ['bridge', 'fdb', 'show', 'dev', 'flannel-v6.1']);
    const routes = await bed.ip(h, '-6', 'route', 'show', 'dev', 'flannel-v6.1');
    for (const j of [2, 3]) {
      const mac = await vtepMac(j);
      expect(neigh).to.include(`fd00:10:244:${j}:: lladdr ${mac} PERMANENT`);
      expect(fdb).to.include(`${mac} dst ${bed.hostAddr6(j)} self permanent`);
      expect(routes).to.include(`fd00:10:244:${j}::/64 via fd00:10:244:${j}:: `);
    }
    expect(await bed.ip(h, '-4', 'route')).to.equal('');
    expect(await bed.exec(h, ['iptables-save'])).to.not.include('FLANNEL');
    expect(await bed.exec(h, ['ip6tables-save'])).to.include(':FLANNEL-FWD');
  });

  if (!vxlan) it('routes the other nodes\' IPv6 podCIDRs via their public-ipv6 on eth0, and nothing for IPv4', async () => {
    const h = bed.host(1);
    const routes = await bed.ip(h, '-6', 'route');
    for (const j of [2, 3]) expect(routes).to.include(`fd00:10:244:${j}::/64 via ${bed.hostAddr6(j)} dev eth0`);
    expect(await bed.ip(h, '-4', 'route')).to.equal('');
    expect(await bed.ip(h, 'link', 'show')).to.not.match(/flannel/);
    expect(await bed.exec(h, ['iptables-save'])).to.not.include('FLANNEL');
    expect(await bed.exec(h, ['ip6tables-save'])).to.include(':FLANNEL-FWD');
  });

  it('follows a node joining with IPv6-only annotations, and its deletion', async () => {
    const mac = '0a:58:c6:12:00:44';
    await api.createNode(nodeObject('node4', ['fd00:10:244:4::/64'], {
      ...(vxlan ? { [`${PREFIX}backend-v6-data`]: `{"VNI":1,"VtepMAC":"${mac}"}` } : { [`${PREFIX}backend-data`]: 'null', [`${PREFIX}public-ip`]: '0.0.0.0' }),
      [`${PREFIX}backend-type`]: backend,
      [`${PREFIX}kube-subnet-manager`]: 'true',
      [`${PREFIX}public-ipv6`]: 'fd00:198:18::4',
    }));
    const routed = async (i: number) =>
      vxlan
        ? (await bed.ip(bed.host(i), '-6', 'route', 'show', 'dev', 'flannel-v6.1')).includes('fd00:10:244:4::/64 via fd00:10:244:4::')
        : (await bed.ip(bed.host(i), '-6', 'route')).includes('fd00:10:244:4::/64 via fd00:198:18::4 dev eth0');
    for (const i of HOSTS) await until(`host ${i} routes fd00:10:244:4::/64`, () => routed(i));
    await api.deleteNode('node4');
    for (const i of HOSTS) {
      await until(`host ${i} forgets fd00:10:244:4::/64`, async () => {
        const fdb = vxlan ? await bed.exec(bed.host(i), ['bridge', 'fdb', 'show', 'dev', 'flannel-v6.1']) : '';
        return !(await routed(i)) && !fdb.includes(mac);
      });
    }
  });
});
