// The VTEP MAC survives a restart that loses the device (as a reboot does): the built flanneld with the
// vxlan backend in a network-namespace host, against a real etcd in the switch namespace.
import { expect } from 'chai';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startEtcd, type EtcdInstance } from '../helpers/etcd.js';
import { FlanneldProcess, SWITCH_ADDR, until } from '../helpers/flanneld.js';
import { TestBed } from '../helpers/netns.js';

describe('flanneld process: stable VTEP MAC across a restart without the device @netns @etcd', function () {
  this.timeout(90_000);
  let bed: TestBed;
  let etcd: EtcdInstance;
  let tmp: string;
  const daemons: FlanneldProcess[] = [];

  before(async () => {
    bed = await TestBed.create({ tag: 'mac', hosts: 1 });
    etcd = await startEtcd({ netns: bed.sw, listenHost: SWITCH_ADDR });
    tmp = await mkdtemp(join(tmpdir(), 'fl-mac-'));
  });
  after(async () => {
    for (const d of daemons) await d.kill();
    await etcd?.stop();
    await bed?.destroy();
    if (tmp) await rm(tmp, { recursive: true, force: true });
  });

  function flanneld(): FlanneldProcess {
    const d = new FlanneldProcess(bed, 1, join(tmp, 'subnet.env'));
    daemons.push(d);
    return d;
  }

  const lease = async (): Promise<{ key: string; value: string }> => {
    const out = (await etcd.etcdctl(['get', '/coreos.com/network/subnets/', '--prefix'])).split('\n').filter(Boolean);
    expect(out, out.join('\n')).to.have.length(2);
    return { key: out[0]!, value: out[1]! };
  };
  const device = async (): Promise<{ address: string; operstate: string; flags: string[] } | null> => {
    const out = await bed.ip(bed.host(1), '-j', 'link', 'show', 'flannel.1').catch(() => '');
    return out ? (JSON.parse(out) as Array<{ address: string; operstate: string; flags: string[] }>)[0]! : null;
  };

  it('recreates flannel.1 with the VtepMAC of its etcd lease, and leaves the lease value unchanged', async () => {
    await etcd.etcdctl(['put', '/coreos.com/network/config', '{"Network":"10.244.0.0/16","Backend":{"Type":"vxlan"}}']);
    const first = flanneld();
    await first.waitForSubnetEnv();
    const before = await lease();
    const mac = (JSON.parse(before.value) as { BackendData: { VtepMAC: string } }).BackendData.VtepMAC;
    expect((await device())?.address).to.equal(mac);

    expect(await first.stop()).to.equal(0);
    expect(await device(), 'flanneld leaves the device on exit').to.not.equal(null);
    await bed.ip(bed.host(1), 'link', 'del', 'flannel.1');
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
