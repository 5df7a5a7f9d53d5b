// The built flanneld as a process inside network-namespace hosts, against a real etcd in the switch
// namespace (alloc backend: allocation only). What a user sees: subnet.env, the etcd key, exit codes.
import { expect } from 'chai';
import { readFile, stat } from 'node:fs/promises';
import { type FlanneldProcess, until, useFlanneldCluster } from '../helpers/flanneld.js';

describe('flanneld process in network namespaces @netns @etcd', function () {
  this.timeout(60_000);
  const cluster = useFlanneldCluster({ tag: 'proc', hosts: 2 });
  const flanneld = (host: number, ...args: string[]): FlanneldProcess => cluster.start(host, args);

  const subnetEnv = (host: number) => readFile(cluster.subnetFile(host), 'utf8').catch(() => '');
  const keys = async () => (await cluster.etcd.etcdctl(['get', '/coreos.com/network/subnets/', '--prefix', '--keys-only'])).split('\n').filter(Boolean);

  it('waits for the config, saying how to create it, then leases a subnet and writes subnet.env exactly', async () => {
    const h1 = flanneld(1);
    await until('the missing-config complaint', () => /Did you create your config using etcdv3 API\?.*etcdctl put/s.test(h1.output()));
    await cluster.etcd.etcdctl(['put', '/coreos.com/network/config', '{"Network":"10.244.0.0/16","Backend":{"Type":"alloc"}}']);
    await until('subnet.env', async () => (await subnetEnv(1)) !== '');
    const [key] = await keys();
    const m = /subnets\/10\.244\.(\d+)\.0-24$/.exec(key ?? '');
    expect(m, key).to.not.equal(null);
    expect(await subnetEnv(1)).to.equal(
      `FLANNEL_NETWORK=10.244.0.0/16\nFLANNEL_SUBNET=10.244.${m![1]}.1/24\nFLANNEL_MTU=1500\nFLANNEL_IPMASQ=false\n`,
    );
    expect((await stat(cluster.subnetFile(1))).mode & 0o777).to.equal(0o644);
    expect((await cluster.etcd.etcdctl(['get', key!, '--print-value-only'])).trim()).to.equal('{"PublicIP":"198.18.0.1","PublicIPv6":null}');
  });

  it('follows the other hosts: a second host is seen as a peer', async () => {
    const h1 = cluster.started[0]!;
    flanneld(2);
    await until('subnet.env on host 2', async () => (await subnetEnv(2)) !== '');
    const h2subnet = /FLANNEL_SUBNET=10\.244\.(\d+)\.1/.exec(await subnetEnv(2))![1];
    await until('peer log on host 1', () => h1.output().includes(`peer added: 10.244.${h2subnet}.0/24 (public IP 198.18.0.2)`));
  });

  it('exits 0 on SIGTERM leaving the lease and subnet.env, and gets the same subnet back on restart', async () => {
    const h1 = cluster.started[0]!;
    const before = await subnetEnv(1);
    const keysBefore = await keys();
    h1.child.kill('SIGTERM');
    expect(await h1.exited).to.equal(0);
    expect(h1.output()).to.match(/Exiting cleanly/);
    expect(await keys()).to.deep.equal(keysBefore);
    expect(await subnetEnv(1)).to.equal(before);
    const again = flanneld(1);
    await until('restart acquired', () => /acquired lease/.test(again.output()));
    expect(await subnetEnv(1)).to.equal(before);
    expect(await keys()).to.deep.equal(keysBefore);
    again.child.kill('SIGTERM');
    expect(await again.exited).to.equal(0);
  });

  it('exits 1 with one line naming the field and value when the config is invalid', async () => {
    await cluster.etcd.etcdctl(['put', '/bad/network/config', '{"Network":"10.244.0.0/16","SubnetLen":31,"Backend":{"Type":"alloc"}}']);
    const bad = flanneld(1, '--etcd-prefix=/bad/network');
    expect(await bad.exited).to.equal(1);
    const fatal = bad.output().split('\n').filter((l) => l.includes('fatal'));
    expect(fatal).to.have.length(1);
    expect(fatal[0]).to.match(/invalid network config: SubnetLen must be less than \/31 \(SubnetLen=31\)/);
  });

  it('stops start-up on SubnetMin > SubnetMax, both families disabled, IPv6-only without IPv6Network and on a bad backend field, with "invalid network config: <field>" and no class name', async () => {
    const cases: Array<[string, string, RegExp]> = [
      ['/minmax/network', '{"Network":"10.244.0.0/16","SubnetMin":"10.244.20.0","SubnetMax":"10.244.10.0","Backend":{"Type":"alloc"}}', /invalid network config: SubnetMin is greater than SubnetMax \(SubnetMin=10\.244\.20\.0, SubnetMax=10\.244\.10\.0\)/],
      ['/badvni/network', '{"Network":"10.244.0.0/16","Backend":{"Type":"vxlan","VNI":-3}}', /invalid network config: (Backend\.)?VNI\b.*-3/],
      ['/nofamily/network', '{"EnableIPv4":false,"EnableIPv6":false,"Network":"10.244.0.0/16","Backend":{"Type":"alloc"}}', /invalid network config: .*EnableIPv4=false, EnableIPv6=false/],
      ['/nov6net/network', '{"EnableIPv4":false,"EnableIPv6":true,"Backend":{"Type":"alloc"}}', /invalid network config: .*IPv6Network/],
    ];
    for (const [prefix, config, message] of cases) {
      await cluster.etcd.etcdctl(['put', `${prefix}/config`, config]);
      const bad = flanneld(1, `--etcd-prefix=${prefix}`);
      expect(await bad.exited).to.equal(1);
      const fatal = bad.output().split('\n').filter((l) => l.includes('fatal'));
      expect(fatal, bad.output()).to.have.length(1);
      expect(fatal[0]).to.match(message);
      expect(fatal[0]).to.not.match(/ConfigError/);
    }
  });

  it('exits 1 on an unknown flag and on a flag whose feature is not there yet', async () => {
    const unknown = flanneld(1, '--no-such-flag');
    expect(await unknown.exited).to.equal(1);
    expect(unknown.output()).to.match(/flag provided but not defined: -no-such-flag/);
    const later = flanneld(1, '--vmodule=foo=2');
    expect(await later.exited).to.equal(1);
    expect(later.output()).to.match(/--vmodule is not supported by flannel-ts yet/);
  });
});
