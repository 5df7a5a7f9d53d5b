// IPv6-only clusters end to end (issue 14 item 3): three hosts on an IPv6-only underlay (no IPv4 address
// anywhere on it), a real etcd listening on the switch's IPv6 address, the built flanneld with
// `"EnableIPv4": false` on each host, and a pod per host attached through the kube-flannel conflist (our
// flannel plugin -> Debian's bridge + host-local, then portmap). Once with vxlan and iptables rules, once
// with host-gw and nftables rules. What must hold: one distinct IPv6 subnet per host under the
// reference's key format `0.0.0.0-0&<v6>-<len>`, subnet.env with only the IPv6 lines, only IPv6 devices,
// routes and rules, pods with only IPv6 addresses, and every pod reaching every other one.
import { expect } from 'chai';
import { execFile } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { KUBE_FLANNEL_CONFLIST, attachPod, flannelCniPath, type CniRunOptions } from '../helpers/cni.js';
import { startEtcd, type EtcdInstance } from '../helpers/etcd.js';
import { TestBed, removeNamespaces } from '../helpers/netns.js';
import { FLANNELD, FlanneldProcess, statusOf, until } from '../helpers/flanneld.js';

/** Each host's health server (/status), inside its own namespace. */
const HEALTHZ_PORT = 18495;

const SWITCH6 = 'fd00:198:18::fe';
const NETWORK6 = 'fd00:10:244::/56';
const HOSTS = [1, 2, 3] as const;

interface Case {
  backend: 'vxlan' | 'host-gw';
  nftables: boolean;
  /** FLANNEL_MTU on a 1500-byte underlay. */
  mtu: number;
}

const CASES: Case[] = [
  { backend: 'vxlan', nftables: false, mtu: 1430 },
  { backend: 'host-gw', nftables: true, mtu: 1500 },
];

interface V6Lease {
  key: string;
  /** The IPv6 subnet, e.g. fd00:10:244:3c::/64. */
  subnet6: string;
  value: Record<string, unknown>;
}

for (const c of CASES) {
  describe(`IPv6-only cluster, etcd mode, ${c.backend} with ${c.nftables ? 'nftables' : 'iptables'} rules @netns @etcd`, function () {
    this.timeout(120_000);
    let bed: TestBed;
    let etcd: EtcdInstance;
    let tmp: string;
    let cniPath: string[];
    const daemons = new Map<number, FlanneldProcess>();
    const podIPs = new Map<number, string[]>();
    const nodeRoot = (i: number) => join(tmp, `node${i}`);
    const pod = (i: number) => `${bed.prefix}-pod${i}`;
    const cniOpts = (i: number): CniRunOptions => ({ hostNetns: bed.host(i), netns: pod(i), containerId: `v6only-pod${i}`, cniPath, nodeRoot: nodeRoot(i) });
    const ping = (from: number, to: string, ...extra: string[]) =>
      bed.exec(pod(from), ['ping', '-6', '-c', '1', '-W', '2', ...extra, to]).then(
        () => true,
        () => false,
      );

    async function leases(): Promise<V6Lease[]> {
      const out = (await etcd.etcdctl(['get', '/coreos.com/network/subnets/', '--prefix'])).trim();
      if (out === '') return [];
      const lines = out.split('\n');
      const result: V6Lease[] = [];
      for (let k = 0; k < lines.length; k += 2) {
        const key = lines[k]!;
        const m = /&([0-9a-f:]+)-(\d+)$/.exec(key);
        result.push({ key, subnet6: m ? `${m[1]}/${m[2]}` : '', value: JSON.parse(lines[k + 1]!) as Record<string, unknown> });
      }
      return result;
    }
    const leaseOf = async (i: number): Promise<V6Lease> => (await leases()).find((l) => l.value.PublicIPv6 === bed.hostAddr6(i))!;

    before(async function () {
      this.timeout(180_000);
      bed = await TestBed.create({ tag: c.backend === 'vxlan' ? 'v6ovx' : 'v6ohg', hosts: 3, ipv6: true, ipv4: false });
      etcd = await startEtcd({ netns: bed.sw, listenHost: `[${SWITCH6}]` });
      tmp = await mkdtemp(join(tmpdir(), 'fl-v6only-'));
      cniPath = await flannelCniPath(tmp);
      const config = { EnableIPv4: false, EnableIPv6: true, IPv6Network: NETWORK6, EnableNFTables: c.nftables, Backend: { Type: c.backend } };
      await etcd.etcdctl(['put', '/coreos.com/network/config', JSON.stringify(config)]);
      for (const i of HOSTS) {
        const args = [`--etcd-endpoints=http://[${SWITCH6}]:2379`, '--ip-masq', `--healthz-port=${HEALTHZ_PORT}`, '--peer-probe-interval=1'];
        daemons.set(i, new FlanneldProcess(bed, i, join(nodeRoot(i), 'run/flannel/subnet.env'), args, {}, { etcd: false }));
      }
      for (const i of HOSTS) await daemons.get(i)!.waitForSubnetEnv();
      for (const i of HOSTS) podIPs.set(i, await attachPod(KUBE_FLANNEL_CONFLIST, cniOpts(i)));
    });

    after(async function () {
      this.timeout(60_000);
      for (const d of daemons.values()) await d.kill();
      await etcd?.stop();
      if (bed) await removeNamespaces(bed.prefix); // the pods, which the bed did not make
      await bed?.destroy();
      if (tmp) await rm(tmp, { recursive: true, force: true });
    });

    it('leases one distinct IPv6 subnet per host under 0.0.0.0-0&<v6>-64, with PublicIP 0.0.0.0 and the host\'s PublicIPv6', async () => {
      const all = await leases();
      expect(all.map((l) => l.key.replace(/^.*\//, '')), JSON.stringify(all)).to.have.length(3);
      expect(new Set(all.map((l) => l.subnet6)).size, 'distinct subnets').to.equal(3);
      for (const i of HOSTS) {
        const l = await leaseOf(i);
        expect(l, `lease of host ${i}`).to.not.equal(undefined);
        expect(l.key).to.match(/^\/coreos\.com\/network\/subnets\/0\.0\.0\.0-0&fd00:10:244:[0-9a-f]{1,2}::-64$/);
        expect(Object.keys(l.value)).to.deep.equal(c.backend === 'vxlan' ? ['PublicIP', 'PublicIPv6', 'BackendType', 'BackendV6Data'] : ['PublicIP', 'PublicIPv6', 'BackendType']);
        expect(l.value).to.include({ PublicIP: '0.0.0.0', PublicIPv6: bed.hostAddr6(i), BackendType: c.backend });
      }
    });

    it('writes subnet.env with only the IPv6 lines, in the reference order', async () => {
      for (const i of HOSTS) {
        expect(daemons.get(i)!.output()).to.match(new RegExp(`using interface eth0 \\(index \\d+, MTU 1500, IPv6 only, v6 address ${bed.hostAddr6(i)}\\)`));
        const l = await leaseOf(i);
        const first = l.subnet6.replace('::/64', '::1/64');
        expect(await daemons.get(i)!.subnetEnv(), `host ${i}`).to.equal(`FLANNEL_IPV6_NETWORK=${NETWORK6}\nFLANNEL_IPV6_SUBNET=${first}\nFLANNEL_MTU=${c.mtu}\nFLANNEL_IPMASQ=true\n`);
      }
    });

    it('gives pods only IPv6 addresses, from the host\'s subnet', async () => {
      for (const i of HOSTS) {
        const ips = podIPs.get(i)!;
        const subnet = (await leaseOf(i)).subnet6.replace('::/64', ':');
        expect(ips, `pod ${i}`).to.have.length(1);
        expect(ips[0]!.startsWith(subnet) && ips[0]!.endsWith('/64'), `${ips[0]} in ${subnet}:/64`).to.equal(true);
        expect(await bed.ip(pod(i), '-4', 'addr', 'show', 'dev', 'eth0')).to.equal('');
        expect(await bed.ip(pod(i), '-6', 'route', 'show', 'default')).to.match(/^default via fd00:10:244:/);
      }
    });

    it('every pod pings every other pod across hosts over IPv6', async () => {
      for (const i of HOSTS) {
        for (const j of HOSTS) {
          if (i === j) continue;
          const to = podIPs.get(j)![0]!.split('/')[0]!;
          // The first packets may wait for duplicate address detection on the pod's new address.
          await until(`pod ${i} -> pod ${j} (${to})`, () => ping(i, to), 15_000).catch(async (e: Error) => {
            const dump = async (ns: string, argv: string[]) => `${ns} ${argv.join(' ')}:\n${await bed.exec(ns, argv).catch((x: Error) => x.message)}`;
            const parts = await Promise.all([
              dump(bed.host(i), ['ip', '-6', 'route']), dump(bed.host(j), ['ip', '-6', 'route']),
              dump(bed.host(i), ['ip', '-6', 'neigh']), dump(bed.host(j), ['ip', '-6', 'neigh']),
              dump(pod(i), ['ip', '-6', 'addr']), dump(pod(i), ['ip', '-6', 'route']),
              dump(bed.host(i), ['nft', 'list', 'ruleset']),
              dump(bed.host(i), ['sysctl', 'net.ipv6.conf.all.forwarding', 'net.ipv6.conf.eth0.forwarding']),
            ]);
            throw new Error(`${e.message}\n${parts.join('\n')}\n${daemons.get(i)!.output()}`);
          });
        }
      }
    });

    if (c.backend === 'vxlan') {
      it('creates only flannel-v6.1 (MTU 1500 - 70, its /128), never flannel.1, and IPv6 entries per peer', async () => {
        const h = bed.host(1);
        const link = await bed.ip(h, '-d', 'link', 'show', 'flannel-v6.1');
        expect(link).to.match(/mtu 1430 /);
        expect(link).to.match(/vxlan id 1 local fd00:198:18::1 dev eth0 .*dstport 8472 nolearning/);
        await bed.ip(h, 'link', 'show', 'flannel.1').then(
          () => expect.fail('flannel.1 exists in an IPv6-only cluster'),
          (e: Error) => expect(e.message).to.match(/does not exist/),
        );
        const own = (await leaseOf(1)).subnet6;
        expect(await bed.ip(h, '-6', 'addr', 'show', 'dev', 'flannel-v6.1', 'scope', 'global')).to.contain(`inet6 ${own.replace('/64', '/128')} scope global`);
        const routes = await bed.ip(h, '-6', 'route', 'show', 'dev', 'flannel-v6.1');
        const neigh = await bed.ip(h, '-6', 'neigh', 'show', 'dev', 'flannel-v6.1');
        const fdb = await bed.exec(h, ['bridge', 'fdb', 'show', 'dev', 'flannel-v6.1']);
        for (const j of [2, 3]) {
          const l = await leaseOf(j);
          const gw = l.subnet6.replace('/64', '');
          const mac = (l.value.BackendV6Data as { VtepMAC: string }).VtepMAC;
          expect(routes).to.include(`${l.subnet6} via ${gw} `);
          expect(neigh).to.include(`${gw} lladdr ${mac} PERMANENT`);
          expect(fdb).to.include(`${mac} dst ${bed.hostAddr6(j)} self permanent`);
        }
        expect(await bed.ip(h, '-4', 'route')).to.equal('');
      });

      it('gives pods the IPv6 vxlan MTU: 1430 bytes pass with DF set, 1431 do not', async () => {
        const to = podIPs.get(2)![0]!.split('/')[0]!;
        expect(await ping(1, to, '-M', 'do', '-s', String(1430 - 48))).to.equal(true);
        expect(await ping(1, to, '-M', 'do', '-s', String(1431 - 48))).to.equal(false);
      });

      it('writes masquerade and forward rules for IPv6 only (ip6tables), none for IPv4', async () => {
        const h = bed.host(1);
        const v6 = await bed.exec(h, ['ip6tables-save']);
        const v4 = await bed.exec(h, ['iptables-save']);
        expect(v6).to.include(':FLANNEL-POSTRTG');
        expect(v6).to.include(':FLANNEL-FWD');
        expect(v6).to.match(/-A FLANNEL-POSTRTG -s fd00:10:244::\/56 ! -d ff00::\/8 .*-j MASQUERADE/);
        expect(v6).to.match(/-A FLANNEL-FWD -s fd00:10:244::\/56 .*-j ACCEPT/);
        expect(v4).to.not.include('FLANNEL');
      });
    } else {
      it('routes each remote IPv6 subnet via the remote host\'s IPv6 address on eth0, and adds no IPv4 route or device', async () => {
        const h = bed.host(1);
        const routes = await bed.ip(h, '-6', 'route');
        for (const j of [2, 3]) expect(routes).to.include(`${(await leaseOf(j)).subnet6} via ${bed.hostAddr6(j)} dev eth0`);
        expect(await bed.ip(h, '-4', 'route')).to.equal('');
        expect(await bed.ip(h, 'link', 'show')).to.not.match(/flannel/);
        // The kernel lists these routes at metric 1024: they must count as the ones we wanted, not as
        // missing ones to put back and stale ones to sweep.
        for (const i of HOSTS) expect(daemons.get(i)!.output(), `host ${i}`).to.not.match(/deleted stale route|was missing; put back/);
      });

      it('fills only the ip6 flannel-ipv6 nftables table, with the IPv6 masquerade and forward rules', async () => {
        const h = bed.host(1);
        const v6 = await bed.exec(h, ['nft', 'list', 'table', 'ip6', 'flannel-ipv6']);
        expect(v6).to.include(`ip6 saddr ${NETWORK6}`);
        expect(v6).to.include('masquerade');
        expect(v6).to.match(/chain forward/);
        const v4 = await bed.exec(h, ['nft', 'list', 'table', 'ip', 'flannel-ipv4']).catch(() => '');
        expect(v4).to.not.match(/masquerade|accept/);
        expect(await bed.exec(h, ['iptables-save'])).to.not.include('FLANNEL');
        expect(await bed.exec(h, ['ip6tables-save'])).to.not.include('FLANNEL');
      });
    }

    it('probes every peer over IPv6 (ICMPv6 echo with the full MTU): flanneld status shows both reachable, the path MTU ok', async () => {
      await until('host 1 sees both peers reachable with their MTU checked', async () => {
        const doc = await statusOf(bed, 1, HEALTHZ_PORT);
        return doc?.summary.reachable === 2 && doc.peers.every((p) => p.mtu.state === 'ok');
      });
      const doc = (await statusOf(bed, 1, HEALTHZ_PORT))!;
      expect(doc.lease?.subnet).to.equal(null);
      for (const p of doc.peers) {
        expect(p.subnet, 'keyed by the IPv6 subnet').to.match(/^fd[0-9a-f:]+\/\d+$/);
        expect(p.publicIP).to.match(/^fd00:198:18::/);
        // vxlan: the peer's flannel-v6 address (its subnet's first address); host-gw: its public IPv6.
        expect(p.probeAddress).to.equal(c.backend === 'vxlan' ? p.subnet.replace(/\/\d+$/, '') : p.publicIP);
      }
    });

    it('flanneld diagnose finds our IPv6-only lease and every kernel entry in place (exit 0)', async () => {
      const argv = ['netns', 'exec', bed.host(1), process.execPath, FLANNELD, 'diagnose', `--etcd-endpoints=http://[${SWITCH6}]:2379`, '--iface=eth0', `--subnet-file=${join(nodeRoot(1), 'run/flannel/subnet.env')}`];
      const r = await new Promise<{ code: number; out: string }>((resolve) =>
        execFile('ip', argv, (err, stdout, stderr) => resolve({ code: err ? ((err as { code?: number }).code ?? 1) : 0, out: stdout + stderr })),
      );
      expect(r.out).to.include(`${(await leaseOf(1)).subnet6}  public IP ${bed.hostAddr6(1)}`);
      expect(r.code, r.out).to.equal(0);
    });

    it('a restarted flanneld takes back its own subnet (found by PublicIPv6), not another host\'s', async () => {
      const before = await leaseOf(2);
      expect(await daemons.get(2)!.stop()).to.equal(0);
      const d = new FlanneldProcess(bed, 2, join(nodeRoot(2), 'run/flannel/subnet.env'), [`--etcd-endpoints=http://[${SWITCH6}]:2379`, '--ip-masq'], {}, { etcd: false });
      daemons.set(2, d);
      await until('the restarted flanneld to acquire its lease', () => /acquired lease/.test(d.output()), 30_000);
      const all = await leases();
      expect(all.map((l) => l.key).sort()).to.have.length(3);
      expect((await leaseOf(2)).key).to.equal(before.key);
      const to = podIPs.get(3)![0]!.split('/')[0]!;
      await until('pod 2 -> pod 3 after the restart', () => ping(2, to), 15_000);
    });
  });
}
