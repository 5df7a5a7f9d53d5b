// Peer probes end to end (issue 16): three flanneld hosts in namespaces with a real etcd, vxlan and then
// host-gw. The underlay to one host is cut with an nft rule in that host's namespace: the others report
// it unreachable in /metrics and `flanneld status` (exit 1) within 30 s, and reachable again once the
// rule goes. A smaller MTU on that host's switch port: the path-MTU warning names it.
import { expect } from 'chai';
import { execFile } from 'node:child_process';
import { FLANNELD, statusOf, until, useFlanneldCluster, type FlanneldCluster, type FlanneldProcess } from '../../helpers/flanneld.js';
import type { StatusDocument } from '../../../flanneld/probe/status.js';

const PORT = 18491;
const PROBE_ARGS = [`--healthz-port=${PORT}`, '--peer-probe-interval=1'];
/** Everything from the other hosts on the underlay, and nothing from etcd on the switch (198.18.0.254). */
const BLOCK = 'add table inet fltest; add chain inet fltest in { type filter hook input priority -300; }; add rule inet fltest in iifname "eth0" ip saddr != 198.18.0.254 drop';

interface StatusRun {
  code: number;
  stdout: string;
  stderr: string;
}

function statusCommand(cluster: FlanneldCluster, host: number, args: string[]): Promise<StatusRun> {
  return new Promise((resolve) => {
    execFile('ip', ['netns', 'exec', cluster.bed.host(host), process.execPath, FLANNELD, 'status', `--healthz-port=${PORT}`, ...args], (err, stdout, stderr) => {
      const code = err ? (typeof err.code === 'number' ? err.code : -1) : 0;
      resolve({ code, stdout, stderr });
    });
  });
}

async function metrics(cluster: FlanneldCluster, host: number): Promise<string> {
  const script = `fetch('http://127.0.0.1:${PORT}/metrics').then((r) => r.text()).then((t) => process.stdout.write(t), () => undefined)`;
  return cluster.bed.exec(cluster.bed.host(host), [process.execPath, '-e', script]);
}

function subnetOf(env: string): string {
  const m = /FLANNEL_SUBNET=(\d+\.\d+\.\d+)\.\d+\/24/.exec(env);
  if (!m) throw new Error(`no FLANNEL_SUBNET in ${env}`);
  return `${m[1]}.0/24`;
}

function peer(doc: StatusDocument | null, subnet: string) {
  return doc?.peers.find((p) => p.subnet === subnet);
}

function probeSuite(backend: 'vxlan' | 'host-gw', overhead: number): void {
  describe(`peer probes with ${backend}: 3 hosts, one cut off, one with a small MTU @netns @etcd`, function () {
    this.timeout(180_000);
    const cluster = useFlanneldCluster({ tag: `probe-${backend === 'vxlan' ? 'vx' : 'hg'}`, hosts: 3, config: `{"Network":"10.244.0.0/16","Backend":{"Type":"${backend}"}}` });
    const daemons: FlanneldProcess[] = [];
    const subnets: string[] = [];

    before(async () => {
      for (let i = 1; i <= 3; i++) daemons.push(cluster.start(i, PROBE_ARGS));
      for (const d of daemons) subnets.push(subnetOf(await d.waitForSubnetEnv()));
    });

    it('reports every peer reachable in flanneld status (exit 0) and in /metrics', async () => {
      await until('every host sees its 2 peers reachable', async () => {
        for (let i = 1; i <= 3; i++) {
          const doc = await statusOf(cluster.bed, i, PORT);
          if (doc?.summary.reachable !== 2) return false;
        }
        return true;
      });
      const r = await statusCommand(cluster, 1, []);
      expect(r.code, r.stdout + r.stderr).to.equal(0);
      expect(r.stdout).to.match(new RegExp(`${subnets[1]!.replace(/\./g, '\\.')}\\s+198\\.18\\.0\\.2\\s+\\S+\\s+reachable`));
      expect(r.stdout).to.contain('2 peers: 2 reachable, 0 unreachable, 0 unknown');
      const text = await metrics(cluster, 1);
      expect(text).to.contain(`flannel_peer_reachable{peer_subnet="${subnets[2]}",public_ip="198.18.0.3"} 1`);
      expect(text).to.match(new RegExp(`flannel_peer_rtt_seconds_count\\{peer_subnet="${subnets[1]!.replace(/\./g, '\\.')}",public_ip="198\\.18\\.0\\.2"\\} [1-9]`));
      expect(text).not.to.contain(`peer_subnet="${subnets[0]}"`);
      const doc = await statusOf(cluster.bed, 1, PORT);
      expect(peer(doc, subnets[1]!)?.probeAddress).to.equal(backend === 'vxlan' ? subnets[1]!.replace('/24', '') : '198.18.0.2');
    });

    it('reports a host whose underlay is cut unreachable within 30 s (status exit 1), and reachable again once it is back', async () => {
      const h3 = cluster.bed.host(3);
      const cutAt = Date.now();
      await cluster.bed.exec(h3, ['nft', BLOCK]);
      try {
        await until(
          'hosts 1 and 2 see host 3 unreachable',
          async () => {
            for (const i of [1, 2]) if (peer(await statusOf(cluster.bed, i, PORT), subnets[2]!)?.reachable !== false) return false;
            return true;
          },
          30_000,
        );
        expect(Date.now() - cutAt).to.be.below(30_000);
        const r = await statusCommand(cluster, 1, []);
        expect(r.code, r.stdout + r.stderr).to.equal(1);
        expect(r.stdout).to.contain('1 unreachable');
        expect(await metrics(cluster, 2)).to.contain(`flannel_peer_reachable{peer_subnet="${subnets[2]}",public_ip="198.18.0.3"} 0`);
        // Host 1 and 2 still reach each other.
        expect(peer(await statusOf(cluster.bed, 1, PORT), subnets[1]!)?.reachable).to.equal(true);
        // Log lines cross a pipe: they may arrive a moment after /status changed.
        const down = new RegExp(`peer ${subnets[2]!.replace(/\./g, '\\.')} \\(198\\.18\\.0\\.3\\) is unreachable: 3 probes in a row`);
        await until('the transition logged', () => down.test(daemons[0]!.output()), 5_000);
      } finally {
        await cluster.bed.exec(h3, ['nft', 'delete table inet fltest']);
      }
      await until('host 1 sees host 3 again', async () => peer(await statusOf(cluster.bed, 1, PORT), subnets[2]!)?.reachable === true, 30_000);
      expect((await statusCommand(cluster, 1, [])).code).to.equal(0);
      expect(await metrics(cluster, 1)).to.contain(`flannel_peer_reachable{peer_subnet="${subnets[2]}",public_ip="198.18.0.3"} 1`);
      await until('the way back logged', () => daemons[0]!.output().includes(`peer ${subnets[2]} (198.18.0.3) is reachable again`), 5_000);
      const lines = daemons[0]!.output().split('\n');
      expect(lines.filter((l) => l.includes(`peer ${subnets[2]} (198.18.0.3) is unreachable`))).to.have.length(1);
      expect(lines.filter((l) => l.includes(`peer ${subnets[2]} (198.18.0.3) is reachable again`))).to.have.length(1);
    });

    it('warns about the host behind a smaller MTU, naming it and the size that passes', async () => {
      // Frames larger than 1400 bytes towards host 3 are dropped by the switch: full-size probes from
      // host 1 are lost there while small ones pass. Host 1 restarts to check every path afresh.
      await cluster.bed.ip(cluster.bed.sw, 'link', 'set', 'sw3', 'mtu', '1400');
      try {
        await daemons[0]!.stop();
        daemons[0] = cluster.start(1, PROBE_ARGS);
        const full = 1500 - overhead;
        await until(
          'host 1 finishes the MTU checks of both peers',
          async () => {
            const doc = await statusOf(cluster.bed, 1, PORT);
            return peer(doc, subnets[2]!)?.mtu.state === 'too-small' && peer(doc, subnets[1]!)?.mtu.state === 'ok';
          },
          60_000,
        );
        const doc = await statusOf(cluster.bed, 1, PORT);
        const works = peer(doc, subnets[2]!)!.mtu.works!;
        // The search stops within 8 bytes; a bridge lets frames up to 4 bytes over its port MTU through (room for a VLAN tag).
        expect(works).to.be.within(1400 - overhead - 8, 1400 - overhead + 4);
        expect(peer(doc, subnets[2]!)!.mtu.size).to.equal(full);
        await until('the MTU warning logged', () => daemons[0]!.output().includes('path MTU to peer'), 5_000);
        const warning = daemons[0]!.output().split('\n').find((l) => l.includes('path MTU to peer'));
        expect(warning, daemons[0]!.output()).to.include(`peer ${subnets[2]} (198.18.0.3)`).and.include(`${full}-byte packets`).and.include(`${works}-byte ones pass`);
        if (backend === 'vxlan') expect(warning).to.include(`"MTU": ${works + 50}`);
        const text = await metrics(cluster, 1);
        expect(text).to.contain(`flannel_peer_path_mtu_ok{peer_subnet="${subnets[2]}",public_ip="198.18.0.3"} 0`);
        expect(text).to.contain(`flannel_peer_path_mtu_ok{peer_subnet="${subnets[1]}",public_ip="198.18.0.2"} 1`);
        const r = await statusCommand(cluster, 1, []);
        // FLANNEL_TEST_SHOW=1 prints what an operator would see (the README's example comes from here).
        if (process.env.FLANNEL_TEST_SHOW) console.log(`${r.stdout}\n${warning}`);
        expect(r.stdout).to.contain(`TOO SMALL: ${full} lost, ${works} pass`).and.contain('1 with a path-MTU problem');
      } finally {
        await cluster.bed.ip(cluster.bed.sw, 'link', 'set', 'sw3', 'mtu', '1500');
      }
    });

    it('forgets a peer whose lease goes: no status line, no series', async () => {
      await daemons[2]!.stop();
      await cluster.etcd.etcdctl(['del', `/coreos.com/network/subnets/${subnets[2]!.replace('/', '-')}`]);
      await until('host 1 forgets host 3', async () => (await statusOf(cluster.bed, 1, PORT))?.summary.peers === 1, 20_000);
      expect(await metrics(cluster, 1)).not.to.contain(`peer_subnet="${subnets[2]}"`);
    });
  });
}

probeSuite('vxlan', 50);
probeSuite('host-gw', 0);

describe('flanneld status without a daemon', () => {
  it('says it cannot tell (exit 2) when nothing listens, naming the address and the flags', async () => {
    const r = await new Promise<StatusRun>((resolve) => {
      execFile(process.execPath, [FLANNELD, 'status', '--healthz-ip=127.0.0.1', '--healthz-port=1'], (err, stdout, stderr) => {
        resolve({ code: err ? (typeof err.code === 'number' ? err.code : -1) : 0, stdout, stderr });
      });
    });
    expect(r.code).to.equal(2);
    expect(r.stderr).to.equal('flanneld status: cannot read http://127.0.0.1:1/status: ECONNREFUSED (is flanneld running with --healthz-ip=127.0.0.1 --healthz-port=1?)\n');
    const off = await new Promise<StatusRun>((resolve) => {
      execFile(process.execPath, [FLANNELD, 'status'], (err, stdout, stderr) => resolve({ code: err ? Number(err.code) : 0, stdout, stderr }));
    });
    expect(off.code).to.equal(2);
    expect(off.stderr).to.contain('the health server is off (--healthz-port is 0)');
  });
});
