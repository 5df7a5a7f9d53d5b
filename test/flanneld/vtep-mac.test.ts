// The VTEP MAC survives a restart that loses the device (as a reboot does): the built flanneld with the
// vxlan backend in a network-namespace host, against a real etcd in the switch namespace.
import { expect } from 'chai';
import { type FlanneldProcess, until, useFlanneldCluster } from '../helpers/flanneld.js';

describe('flanneld process: stable VTEP MAC across a restart without the device @netns @etcd', function () {
  this.timeout(90_000);
  const cluster = useFlanneldCluster({ tag: 'mac', hosts: 1 });
  const flanneld = (): FlanneldProcess => cluster.start(1);

  const lease = async (): Promise<{ key: string; value: string }> => {
    const out = (await cluster.etcd.etcdctl(['get', '/coreos.com/network/subnets/', '--prefix'])).split('\n').filter(Boolean);
    expect(out, out.join('\n')).to.have.length(2);
    return { key: out[0]!, value: out[1]! };
  };
  const device = async (): Promise<{ address: string; operstate: string; flags: string[] } | null> => {
    const out = await cluster.bed.ip(cluster.bed.host(1), '-j', 'link', 'show', 'flannel.1').catch(() => '');
    return out ? (JSON.parse(out) as Array<{ address: string; operstate: string; flags: string[] }>)[0]! : null;
  };

  it('recreates flannel.1 with the VtepMAC of its etcd lease, and leaves the lease value unchanged', async () => {
    await cluster.etcd.etcdctl(['put', '/coreos.com/network/config', '{"Network":"10.244.0.0/16","Backend":{"Type":"vxlan"}}']);
    const first = flanneld();
    await first.waitForSubnetEnv();
    const before = await lease();
    const mac = (JSON.parse(before.value) as { BackendData: { VtepMAC: string } }).BackendData.VtepMAC;
    expect((await device())?.address).to.equal(mac);

    expect(await first.stop()).to.equal(0);
    expect(await device(), 'flanneld leaves the device on exit').to.not.equal(null);
    await cluster.bed.ip(cluster.bed.host(1), 'link', 'del', 'flannel.1');
    expect(await device()).to.equal(null);

    const again = flanneld();
    await until(`the second run (log:\n${again.output()})`, () => /running backend vxlan/.test(again.output()), 30_000);
    const dev = await device();
    expect(dev?.address, again.output()).to.equal(mac);
    expect(dev?.flags).to.include('UP');
    expect(again.output()).to.match(/created vxlan device flannel\.1/);
    expect(await lease()).to.deep.equal(before);
    expect(await again.stop()).to.equal(0);
  });
});
