// IPv6-only networks (`"EnableIPv4": false`) below the daemon, without a kernel: the config, the etcd key
// and value format (the reference's `0.0.0.0-0&<v6>-<len>`, PublicIP 0.0.0.0), allocation and reuse by
// PublicIPv6 (the reference matches on PublicIP, so every v6-only host shared one subnet), the
// acceptance rule, the own-lease filter of the watch, kube nodes and annotations, subnet.env and the
// traffic targets.
import { expect } from 'chai';
import { IP6Net, parseIP6 } from '../../common/ip.js';
import { ConfigError, checkNetworkConfig, parseNetworkConfig, type NetworkConfig } from '../../subnet-lease/config.js';
import { allocate } from '../../subnet-lease/allocate.js';
import { LeaseAcceptor } from '../../subnet-lease/acceptor.js';
import { rulesFor } from '../../subnet-lease/acceptance.js';
import { NO_IPV4, encodeLeaseAttrs, hasIPv4, isSameLease, parseSubnetKey, subnetKey, type Lease, type LeaseAttrs, type LeaseEvent } from '../../subnet-lease/lease.js';
import { LocalManager } from '../../subnet-lease/local-manager.js';
import { MemoryRegistry } from '../../subnet-lease/memory/registry.js';
import { annotationKeys } from '../../subnet-lease/kube/annotations.js';
import { NodeParseError, nodeToLease, parseNode } from '../../subnet-lease/kube/node.js';
import { desiredAnnotations } from '../../subnet-lease/kube/patch.js';
import { renderSubnetEnv, subnetEnvOf } from '../../flanneld/subnet-env.js';
import { trafficTargets } from '../../flanneld/traffic/targets.js';
import { RecordingLogger } from '../helpers/recording-logger.js';

const V6_ONLY = { EnableIPv4: false, EnableIPv6: true, IPv6Network: 'fd00:10:244::/56', Backend: { Type: 'vxlan' } };
const config = (over: Record<string, unknown> = {}): NetworkConfig => checkNetworkConfig(parseNetworkConfig(JSON.stringify({ ...V6_ONLY, ...over })));
const net6 = (s: string): IP6Net => IP6Net.parse(s);
const v6Attrs = (ip: string, type = 'vxlan'): LeaseAttrs => ({ publicIP: 0, publicIPv6: parseIP6(ip), backendType: type });
const v6Lease = (subnet: string, ip: string, extra: Partial<Lease> = {}): Lease => ({ subnet: NO_IPV4, ipv6Subnet: net6(subnet), attrs: v6Attrs(ip), reservation: false, ...extra });
const never = new AbortController().signal;

describe('IPv6-only networks (EnableIPv4 false)', () => {
  describe('network config', () => {
    it('is accepted without Network, with the IPv6 defaults', () => {
      const c = config();
      expect(c).to.include({ enableIPv4: false, enableIPv6: true, network: null, ipv6SubnetLen: 64 });
      expect(c.ipv6Network!.toString()).to.equal('fd00:10:244::/56');
    });

    it('stops with a message naming both fields when both families are off', () => {
      for (const json of [{ EnableIPv4: false, EnableIPv6: false, IPv6Network: 'fd00::/48' }, { EnableIPv4: false, Network: '10.244.0.0/16' }]) {
        const err = (() => {
          try {
            checkNetworkConfig(parseNetworkConfig(JSON.stringify(json)));
          } catch (e) {
            return e;
          }
          return null;
        })();
        expect(err, JSON.stringify(json)).to.be.instanceOf(ConfigError);
        expect((err as Error).message).to.match(/EnableIPv4.*EnableIPv6/);
        expect((err as Error).message).to.include('EnableIPv4=false, EnableIPv6=false');
      }
    });

    it('still requires IPv6Network', () => {
      expect(() => config({ IPv6Network: undefined })).to.throw(ConfigError, /IPv6Network/);
    });
  });

  describe('etcd key and value', () => {
    it('keeps the reference format: 0.0.0.0-0&<v6>-<len>, PublicIP 0.0.0.0, no BackendData', () => {
      const key = subnetKey(NO_IPV4, net6('fd00:10:244:3c::/64'));
      expect(key).to.equal('0.0.0.0-0&fd00:10:244:3c::-64');
      const parsed = parseSubnetKey(`/coreos.com/network/subnets/${key}`);
      expect(hasIPv4(parsed)).to.equal(false);
      expect(parsed.ipv6Subnet!.toString()).to.equal('fd00:10:244:3c::/64');
      const attrs: LeaseAttrs = { ...v6Attrs('fd00:198:18::1'), backendV6Data: { VNI: 1, VtepMAC: '0a:58:c6:12:00:01' } };
      expect(encodeLeaseAttrs(attrs)).to.equal('{"PublicIP":"0.0.0.0","PublicIPv6":"fd00:198:18::1","BackendType":"vxlan","BackendV6Data":{"VNI":1,"VtepMAC":"0a:58:c6:12:00:01"}}');
    });

    it('tells v6-only leases apart by their IPv6 subnet, never by the shared 0.0.0.0/0', () => {
      const a = v6Lease('fd00:10:244:1::/64', 'fd00:198:18::1');
      const b = v6Lease('fd00:10:244:2::/64', 'fd00:198:18::2');
      expect(isSameLease(b, a)).to.equal(false);
      expect(isSameLease(v6Lease('fd00:10:244:1::/64', 'fd00:198:18::9'), a)).to.equal(true);
    });
  });

  describe('allocation', () => {
    const others = [v6Lease('fd00:10:244:1::/64', 'fd00:198:18::1'), v6Lease('fd00:10:244:2::/64', 'fd00:198:18::2')];
    const input = { config: config(), leases: others, publicIP: 0, previousSubnet: null, previousIPv6Subnet: null, random: () => 0 };

    it("creates a free IPv6 subnet for a new host instead of taking over another host's lease (all have PublicIP 0.0.0.0)", () => {
      const got = allocate({ ...input, publicIPv6: parseIP6('fd00:198:18::3') });
      expect(got.kind).to.equal('create');
      if (got.kind !== 'create') return;
      expect(hasIPv4(got)).to.equal(false);
      expect(got.ipv6Subnet!.toString()).to.equal('fd00:10:244:3::/64');
    });

    it('reuses the lease that carries our PublicIPv6', () => {
      const got = allocate({ ...input, publicIPv6: parseIP6('fd00:198:18::2') });
      expect(got.kind).to.equal('reuse');
      if (got.kind === 'reuse') expect(got.lease.ipv6Subnet!.toString()).to.equal('fd00:10:244:2::/64');
    });

    it('takes back the previous IPv6 subnet from subnet.env when it is free', () => {
      const got = allocate({ ...input, publicIPv6: parseIP6('fd00:198:18::3'), previousIPv6Subnet: net6('fd00:10:244:7::/64') });
      expect(got).to.include({ kind: 'create', from: 'previous' });
      if (got.kind === 'create') expect(got.ipv6Subnet!.toString()).to.equal('fd00:10:244:7::/64');
    });

    it('gives three hosts three distinct keys through the etcd-mode store (in-memory registry)', async () => {
      const registry = new MemoryRegistry();
      registry.setConfig(JSON.stringify(V6_ONLY));
      const leases: Lease[] = [];
      for (const i of [1, 2, 3]) {
        const m = new LocalManager({ registry, logger: new RecordingLogger(), renewMarginMs: 3_600_000, retryDelayMs: 100 });
        await m.getNetworkConfig(never);
        leases.push(await m.acquireLease(v6Attrs(`fd00:198:18::${i}`), never));
      }
      const keys = registry.rawKeys();
      expect(keys).to.have.length(3);
      for (const k of keys) expect(k).to.match(/^0\.0\.0\.0-0&fd00:10:244:[0-9a-f]+::-64$/);
      // a restart of host 2 finds its own lease again
      const again = new LocalManager({ registry, logger: new RecordingLogger(), renewMarginMs: 3_600_000 });
      await again.getNetworkConfig(never);
      expect((await again.acquireLease(v6Attrs('fd00:198:18::2'), never)).ipv6Subnet!.equals(leases[1]!.ipv6Subnet!)).to.equal(true);
      expect(registry.rawKeys()).to.deep.equal(keys);
      // and its watch shows the other two hosts, not itself
      const ac = new AbortController();
      const first = await again.watchLeases(() => leases[1]!, ac.signal)[Symbol.asyncIterator]().next();
      ac.abort();
      const seen = (first.value as LeaseEvent[]).map((e) => e.lease.ipv6Subnet!.toString()).sort();
      expect(seen).to.deep.equal([leases[0]!, leases[2]!].map((l) => l.ipv6Subnet!.toString()).sort());
    });
  });

  describe('keeping the lease', () => {
    it('notices our own key deleted among other v6-only keys and takes the same IPv6 subnet back', async () => {
      const registry = new MemoryRegistry();
      registry.setConfig(JSON.stringify(V6_ONLY));
      const ac = new AbortController();
      try {
        const others: Lease[] = [];
        for (const i of [1, 2]) {
          const o = new LocalManager({ registry, logger: new RecordingLogger(), renewMarginMs: 3_600_000 });
          await o.getNetworkConfig(never);
          others.push(await o.acquireLease(v6Attrs(`fd00:198:18::${i}`), never));
        }
        const logger = new RecordingLogger();
        const m = new LocalManager({ registry, logger, renewMarginMs: 3_600_000, retryDelayMs: 100 });
        await m.getNetworkConfig(never);
        const lease = await m.acquireLease(v6Attrs('fd00:198:18::3'), never);
        const changes: Lease[] = [];
        void m.keepLease(lease, ac.signal, (l) => changes.push(l));
        await new Promise((r) => setTimeout(r, 100)); // let the own-key watch start
        registry.deleteRaw(subnetKey(lease.subnet, lease.ipv6Subnet));
        const deadline = Date.now() + 5000;
        while (changes.length === 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
        expect(changes, logger.lines.map((l) => l.message).join('\n')).to.have.length(1);
        expect(changes[0]!.ipv6Subnet!.equals(lease.ipv6Subnet!)).to.equal(true);
        expect(registry.rawKeys()).to.have.length(3);
        // deleting another host's key is not a loss of ours
        registry.deleteRaw(subnetKey(others[0]!.subnet, others[0]!.ipv6Subnet));
        await new Promise((r) => setTimeout(r, 200));
        expect(changes).to.have.length(1);
      } finally {
        ac.abort();
      }
    });
  });

  describe('acceptance', () => {
    const accepted = (batch: Lease[], own: Lease): string[] => {
      const a = new LeaseAcceptor(rulesFor(config(), false, null), () => ({ subnet: null, ipv6Subnet: own.ipv6Subnet, publicIP: 0, publicIPv6: own.attrs.publicIPv6 }), () => undefined);
      return a.apply(batch.map((lease) => ({ type: 'added' as const, lease }))).map((e) => e.lease.ipv6Subnet!.toString());
    };
    const own = v6Lease('fd00:10:244:1::/64', 'fd00:198:18::1');

    it('accepts every v6-only lease (their 0.0.0.0/0 overlaps nothing) and rejects IPv6 overlaps, ours and outside IPv6Network', () => {
      const batch = [
        v6Lease('fd00:10:244:2::/64', 'fd00:198:18::2', { createRevision: 2 }),
        v6Lease('fd00:10:244:3::/64', 'fd00:198:18::3', { createRevision: 3 }),
        v6Lease('fd00:10:244:2::/63', 'fd00:198:18::4', { createRevision: 4 }),
        v6Lease('fd00:10:244:1::/64', 'fd00:198:18::5', { createRevision: 5 }),
        { subnet: NO_IPV4, ipv6Subnet: net6('fd00:99::/64'), attrs: v6Attrs('fd00:198:18::6'), reservation: false },
      ];
      expect(accepted(batch, own)).to.deep.equal(['fd00:10:244:2::/64', 'fd00:10:244:3::/64']);
    });
  });

  describe('kube nodes and annotations', () => {
    const keys = annotationKeys('flannel.alpha.coreos.com');
    const P = 'flannel.alpha.coreos.com/';
    const node = (cidrs: string[], ann: Record<string, string>) => parseNode({ metadata: { name: 'n2', resourceVersion: '1', annotations: ann }, spec: { podCIDRs: cidrs } });
    const families = { enableIPv4: false, enableIPv6: true };

    it('turns a node with an IPv6 podCIDR and IPv6 annotations into a v6-only lease', () => {
      const lease = nodeToLease(
        node(['fd00:10:244:2::/64'], { [`${P}public-ipv6`]: 'fd00:198:18::2', [`${P}backend-v6-data`]: '{"VNI":1,"VtepMAC":"0a:58:c6:12:00:02"}', [`${P}backend-type`]: 'vxlan' }),
        keys,
        families,
      );
      expect(hasIPv4(lease)).to.equal(false);
      expect(lease.ipv6Subnet!.toString()).to.equal('fd00:10:244:2::/64');
      expect(encodeLeaseAttrs(lease.attrs)).to.equal('{"PublicIP":"0.0.0.0","PublicIPv6":"fd00:198:18::2","BackendType":"vxlan","BackendV6Data":{"VNI":1,"VtepMAC":"0a:58:c6:12:00:02"}}');
    });

    it('has no lease for a node without an IPv6 podCIDR', () => {
      expect(() => nodeToLease(node(['10.244.2.0/24'], { [`${P}public-ip`]: '198.18.0.2' }), keys, families)).to.throw(NodeParseError, /no IPv6 pod CIDR/);
    });

    it('writes the reference annotations: vxlan only the IPv6 ones, host-gw also backend-data null and public-ip 0.0.0.0', () => {
      const empty = node(['fd00:10:244:1::/64'], {});
      const vx = desiredAnnotations(empty, { ...v6Attrs('fd00:198:18::1'), backendV6Data: { VNI: 1, VtepMAC: '0a:58:c6:12:00:01' } }, keys);
      expect(vx).to.deep.equal({
        [`${P}backend-type`]: 'vxlan',
        [`${P}backend-v6-data`]: '{"VNI":1,"VtepMAC":"0a:58:c6:12:00:01"}',
        [`${P}public-ipv6`]: 'fd00:198:18::1',
        [`${P}kube-subnet-manager`]: 'true',
      });
      const hg = desiredAnnotations(empty, v6Attrs('fd00:198:18::1', 'host-gw'), keys);
      expect(hg).to.deep.equal({
        [`${P}backend-type`]: 'host-gw',
        [`${P}backend-data`]: 'null',
        [`${P}public-ip`]: '0.0.0.0',
        [`${P}backend-v6-data`]: 'null',
        [`${P}public-ipv6`]: 'fd00:198:18::1',
        [`${P}kube-subnet-manager`]: 'true',
      });
    });
  });

  describe('subnet.env and traffic rules', () => {
    const lease = v6Lease('fd00:10:244:3c::/64', 'fd00:198:18::1');

    it('subnet.env has only the IPv6 lines, even with a leftover Network in the config', () => {
      for (const c of [config(), config({ Network: '10.244.0.0/16' })]) {
        expect(renderSubnetEnv(subnetEnvOf(c, lease, 1430, true))).to.equal(
          'FLANNEL_IPV6_NETWORK=fd00:10:244::/56\nFLANNEL_IPV6_SUBNET=fd00:10:244:3c::1/64\nFLANNEL_MTU=1430\nFLANNEL_IPMASQ=true\n',
        );
      }
    });

    it('masquerade and forward rules are for the IPv6 family only, even with a leftover Network', () => {
      for (const c of [config(), config({ Network: '10.244.0.0/16' })]) {
        expect(trafficTargets(c, lease)).to.deep.equal([{ family: 6, network: 'fd00:10:244::/56', podCidr: 'fd00:10:244:3c::/64' }]);
      }
    });
  });
});
