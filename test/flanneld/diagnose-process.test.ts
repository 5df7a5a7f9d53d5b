// `flanneld diagnose` as a process in a host namespace next to a vxlan flanneld: all matches (exit 0),
// then with flanneld stopped and entries deleted or added by hand (exit 1, naming exactly those).
import { expect } from 'chai';
import { execFile } from 'node:child_process';
import { join } from 'node:path';
import { FLANNELD, SWITCH_ADDR, until, useFlanneldCluster } from '../helpers/flanneld.js';

interface Run {
  code: number;
  stdout: string;
  stderr: string;
}

interface KnownLease {
  subnet: string;
  publicIP: string;
  mac: string;
}

describe('flanneld diagnose next to a vxlan flanneld @netns @etcd', function () {
  this.timeout(120_000);
  const cluster = useFlanneldCluster({ tag: 'diag', hosts: 3, config: '{"Network":"10.244.0.0/16","Backend":{"Type":"vxlan"}}' });
  let leases: KnownLease[] = [];
  const of = (host: number): KnownLease => leases.find((l) => l.publicIP === `198.18.0.${host}`)!;

  function diagnose(host: number, ...args: string[]): Promise<Run> {
    const argv = ['netns', 'exec', cluster.bed.host(host), process.execPath, FLANNELD, 'diagnose', `--etcd-endpoints=http://${SWITCH_ADDR}:2379`, '--iface=eth0', `--subnet-file=${cluster.subnetFile(host)}`, ...args];
    return new Promise((resolve) => {
      execFile('ip', argv, (err, stdout, stderr) => {
        const code = err ? Number((err as { code?: unknown }).code) : 0;
        resolve({ code, stdout, stderr });
      });
    });
  }

  async function readLeases(): Promise<KnownLease[]> {
    const lines = (await cluster.etcd.etcdctl(['get', '/coreos.com/network/subnets/', '--prefix'])).trim().split('\n');
    const out: KnownLease[] = [];
    for (let k = 0; k < lines.length; k += 2) {
      const v = JSON.parse(lines[k + 1]!) as { PublicIP: string; BackendData: { VtepMAC: string } };
      out.push({ subnet: lines[k]!.split('/').pop()!.replace('-', '/'), publicIP: v.PublicIP, mac: v.BackendData.VtepMAC });
    }
    return out;
  }

  const lines = (run: Run, kind: string): string[] => run.stdout.split('\n').filter((l) => l.startsWith(`${kind}:`));
  const gw = (subnet: string): string => subnet.split('/')[0]!;

  before(async function () {
    this.timeout(120_000);
    for (const i of [1, 2, 3]) await cluster.start(i).waitForSubnetEnv();
    leases = await readLeases();
    expect(leases).to.have.length(3);
    await until('host 1 routes to both peers', async () => {
      const routes = await cluster.bed.ip(cluster.bed.host(1), 'route', 'show', 'dev', 'flannel.1');
      return routes.includes(of(2).subnet) && routes.includes(of(3).subnet);
    });
  });

  it('exits 0 and lists every lease when the kernel matches', async () => {
    const run = await diagnose(1);
    expect(run.code, run.stdout + run.stderr).to.equal(0);
    for (const l of leases) expect(run.stdout).to.match(new RegExp(`${l.subnet.replace(/\./g, '\\.')}  public IP ${l.publicIP}  backend vxlan  VTEP MAC ${l.mac}`));
    expect(run.stdout).to.match(/summary: 0 missing, 0 stale, 0 device problems; OK/);
    const json = JSON.parse((await diagnose(1, '--output=json')).stdout) as { ok: boolean; leases: unknown[]; missing: unknown[] };
    expect(json.ok).to.equal(true);
    expect(json.leases).to.have.length(3);
  });

  it('lists the leases the acceptance rule ignores (exit 0: flanneld rightly never programmed them)', async () => {
    const key = `/coreos.com/network/subnets/${gw(of(2).subnet)}-25`;
    await cluster.etcd.etcdctl(['put', key, JSON.stringify({ PublicIP: '198.18.0.77', BackendType: 'vxlan', BackendData: { VNI: 1, VtepMAC: '0a:00:00:00:00:77' } })]);
    try {
      const run = await diagnose(1);
      expect(run.code, run.stdout + run.stderr).to.equal(0);
      expect(run.stdout).to.include('leases ignored by the acceptance rule, never programmed (1):');
      expect(run.stdout).to.include(`  ${key}: key `);
      const json = JSON.parse((await diagnose(1, '--output=json')).stdout) as { rejected: Array<{ key: string; reason: string }> };
      expect(json.rejected).to.deep.equal([{ ...json.rejected[0], key, reason: 'subnet_len' }]);
    } finally {
      await cluster.etcd.etcdctl(['del', key]);
    }
  });

  it('exits 1 naming exactly the route and the FDB entry deleted by hand while flanneld is stopped', async () => {
    expect(await cluster.started[0]!.stop()).to.equal(0);
    await cluster.bed.ip(cluster.bed.host(1), 'route', 'del', of(2).subnet, 'dev', 'flannel.1');
    await cluster.bed.exec(cluster.bed.host(1), ['bridge', 'fdb', 'del', of(3).mac, 'dev', 'flannel.1', 'self']);
    const run = await diagnose(1);
    expect(run.code, run.stdout + run.stderr).to.equal(1);
    expect(lines(run, 'missing')).to.have.members([
      `missing: route ${of(2).subnet} via ${gw(of(2).subnet)} dev flannel.1 onlink (lease ${of(2).subnet} of 198.18.0.2)`,
      `missing: fdb ${of(3).mac} dst 198.18.0.3 dev flannel.1 (lease ${of(3).subnet} of 198.18.0.3)`,
    ]);
    expect(lines(run, 'missing')).to.have.length(2);
    expect(lines(run, 'stale')).to.deep.equal([]);
    expect(lines(run, 'device')).to.deep.equal([]);
  });

  it('names a permanent neighbour for a subnet without a lease as stale', async () => {
    const unleased = [...Array(250).keys()].map((k) => `10.244.${k + 1}.0`).find((ip) => !leases.some((l) => gw(l.subnet) === ip))!;
    await cluster.bed.ip(cluster.bed.host(1), 'neigh', 'add', unleased, 'lladdr', '02:00:00:00:00:99', 'dev', 'flannel.1', 'nud', 'permanent');
    const run = await diagnose(1);
    expect(run.code).to.equal(1);
    expect(lines(run, 'stale')).to.deep.equal([`stale: neigh ${unleased} lladdr 02:00:00:00:00:99 dev flannel.1 (no lease wants it)`]);
    expect(lines(run, 'missing')).to.have.length(2);
  });

  it('exits 2 saying what to fix when there is no subnet.env or the store is unreachable', async () => {
    const run = await diagnose(1, `--subnet-file=${join(cluster.tmp, 'none', 'subnet.env')}`);
    expect(run.code).to.equal(2);
    expect(run.stderr).to.match(/cannot check: .*subnet\.env is missing or has no FLANNEL_SUBNET or FLANNEL_IPV6_SUBNET; run flanneld first/);
    const unreachable = await diagnose(1, `--etcd-endpoints=http://${SWITCH_ADDR}:1`);
    expect(unreachable.code).to.equal(2);
    expect(unreachable.stderr).to.match(/cannot check: cannot read the network config and leases from etcd .*ECONNREFUSED.*check --etcd-endpoints/);
  });
});
