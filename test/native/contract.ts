// The contract every Native implementation keeps. `describeContract` registers the same tests for any
// environment that provides a fresh Native with an underlay link eth0 (198.18.0.1/24, up); the fake
// and the real kernel (in a fresh network namespace) both run it.
import { expect } from 'chai';
import { NativeArgumentError, NativeError } from '../../native/errors.js';
import type { Link, LinkEvent, Native, Op, VxlanLinkSpec } from '../../native/types.js';

export interface ContractEnv {
  native: Native;
  eth0: Link;
  /**
   * Another writer in the same namespace ("someone else"): the kernel binding leaves out the
   * notifications of a handle's own route and neighbour writes, so changes to be noticed go through it.
   * The fake has one state per instance, so there it is `native` itself.
   */
  other: Native;
  /** Reads /proc/sys/<key> in the environment's namespace. */
  readSysctl(key: string): Promise<string>;
  teardown(): Promise<void>;
}

const MAC1 = '0a:00:00:00:00:01';
const MAC2 = '0a:00:00:00:00:02';

async function rejection(p: Promise<unknown>): Promise<NativeError> {
  try {
    await p;
  } catch (e) {
    expect(e).to.be.instanceOf(NativeError);
    return e as NativeError;
  }
  throw new Error('expected a rejection');
}

export function describeContract(makeEnv: () => Promise<ContractEnv>): void {
  let env: ContractEnv;
  let n: Native;
  beforeEach(async () => {
    env = await makeEnv();
    n = env.native;
  });
  afterEach(async () => {
    await env?.teardown();
  });

  const vxlan = (over: Partial<VxlanLinkSpec> = {}): VxlanLinkSpec => ({
    name: 'flannel.1', vni: 1, mtu: 1450, mac: MAC1, link: env.eth0.index, local: '198.18.0.1', learning: false, gbp: false, ...over,
  });
  const upVxlan = async (): Promise<Link> => {
    const l = await n.linkAddVxlan(vxlan());
    await n.linkSet(l.index, { up: true });
    return l;
  };

  describe('links', () => {
    it('gets a link by name and answers null for a missing one', async () => {
      expect((await n.linkGet('eth0'))?.index).to.equal(env.eth0.index);
      expect(await n.linkGet('nosuch0')).to.equal(null);
      expect((await n.linkList()).map((l) => l.name)).to.include.members(['lo', 'eth0']);
    });

    it('creates a vxlan link with the attributes given and kernel defaults for the rest', async () => {
      const l = await n.linkAddVxlan(vxlan());
      expect(l).to.include({ name: 'flannel.1', kind: 'vxlan', mtu: 1450, mac: MAC1, up: false });
      expect(l.vxlan).to.deep.equal({
        vni: 1, link: env.eth0.index, local: '198.18.0.1', group: null, port: 8472, ttl: 0, tos: 0, learning: false,
        proxy: false, rsc: false, l2miss: false, l3miss: false, gbp: false, udp6ZeroCsumTx: false, udp6ZeroCsumRx: false,
      });
      expect(await n.linkGet('flannel.1')).to.deep.equal(l);
    });

    it('sends port, learning and GBP when asked', async () => {
      const l = await n.linkAddVxlan(vxlan({ name: 'flannel.7', vni: 7, port: 4789, learning: true, gbp: true }));
      expect(l.vxlan).to.include({ vni: 7, port: 4789, learning: true, gbp: true });
    });

    it('rejects a second link of the same name with EEXIST and leaves the first alone', async () => {
      await n.linkAddVxlan(vxlan());
      const e = await rejection(n.linkAddVxlan(vxlan({ vni: 2, mac: MAC2 })));
      expect(e.code).to.equal('EEXIST');
      expect(e.errno).to.equal(17);
      expect((await n.linkGet('flannel.1'))?.vxlan?.vni).to.equal(1);
    });

    it('sets up, MTU and MAC, and deletes', async () => {
      const l = await n.linkAddVxlan(vxlan());
      await n.linkSet(l.index, { up: true, mtu: 1400, mac: MAC2 });
      expect(await n.linkGet('flannel.1')).to.include({ up: true, mtu: 1400, mac: MAC2 });
      await n.linkDelete(l.index);
      expect(await n.linkGet('flannel.1')).to.equal(null);
      expect((await rejection(n.linkDelete(l.index))).code).to.equal('ENODEV');
      expect((await rejection(n.linkSet(l.index, { up: true }))).code).to.equal('ENODEV');
    });

    it('reports the deletion of a link to watchers', async () => {
      const l = await n.linkAddVxlan(vxlan());
      const events: LinkEvent[] = [];
      const stop = n.watchLinks((e) => events.push(e));
      try {
        await n.linkDelete(l.index);
        for (let i = 0; i < 100 && !events.some((e) => e.type === 'deleted'); i++) await new Promise((r) => setTimeout(r, 10));
      } finally {
        stop();
        stop();
      }
      const del = events.find((e) => e.type === 'deleted');
      expect(del && del.type === 'deleted' && del.link).to.include({ name: 'flannel.1', index: l.index });
    });
  });

  describe('addresses', () => {
    it('adds, lists, refuses duplicates with EEXIST and deletes (EADDRNOTAVAIL when missing)', async () => {
      const l = await n.linkAddVxlan(vxlan());
      await n.addrAdd({ ifindex: l.index, address: '10.244.1.0', prefixLen: 32 });
      expect(await n.addrList({ ifindex: l.index, family: 4 })).to.deep.equal([{ ifindex: l.index, family: 4, address: '10.244.1.0', prefixLen: 32, scope: 0 }]);
      expect((await rejection(n.addrAdd({ ifindex: l.index, address: '10.244.1.0', prefixLen: 32 }))).code).to.equal('EEXIST');
      await n.addrDelete({ ifindex: l.index, address: '10.244.1.0', prefixLen: 32 });
      expect(await n.addrList({ ifindex: l.index, family: 4 })).to.deep.equal([]);
      expect((await rejection(n.addrDelete({ ifindex: l.index, address: '10.244.1.0', prefixLen: 32 }))).code).to.equal('EADDRNOTAVAIL');
    });

    it('keeps IPv6 addresses apart', async () => {
      const l = await n.linkAddVxlan(vxlan());
      await n.addrAdd({ ifindex: l.index, address: 'fd00:10:244:1::', prefixLen: 128 });
      const v6 = (await n.addrList({ ifindex: l.index, family: 6 })).filter((a) => a.scope === 0);
      expect(v6.map((a) => `${a.address}/${a.prefixLen}`)).to.deep.equal(['fd00:10:244:1::/128']);
      expect(await n.addrList({ ifindex: l.index, family: 4 })).to.deep.equal([]);
    });
  });

  describe('neighbours and FDB', () => {
    it('replaces, lists and deletes a permanent neighbour', async () => {
      const l = await upVxlan();
      await n.neighReplace({ ifindex: l.index, ip: '10.244.2.0', mac: MAC1 });
      await n.neighReplace({ ifindex: l.index, ip: '10.244.2.0', mac: MAC2 });
      const list = await n.neighList({ ifindex: l.index, family: 4 });
      expect(list).to.deep.equal([{ ifindex: l.index, family: 4, ip: '10.244.2.0', mac: MAC2, state: 0x80, flags: 0 }]);
      await n.neighDelete({ ifindex: l.index, ip: '10.244.2.0' });
      expect(await n.neighList({ ifindex: l.index, family: 4 })).to.deep.equal([]);
      expect((await rejection(n.neighDelete({ ifindex: l.index, ip: '10.244.2.0' }))).code).to.equal('ENOENT');
      expect((await rejection(n.neighReplace({ ifindex: 9999, ip: '10.244.2.0', mac: MAC1 }))).code).to.equal('ENODEV');
    });

    it('replaces, lists and deletes a self permanent FDB entry with a dst', async () => {
      const l = await upVxlan();
      await n.fdbReplace({ ifindex: l.index, mac: MAC2, dst: '198.18.0.2' });
      await n.fdbReplace({ ifindex: l.index, mac: MAC2, dst: '198.18.0.3' });
      const mine = (await n.fdbList({ ifindex: l.index })).filter((f) => f.mac === MAC2);
      expect(mine).to.deep.equal([{ ifindex: l.index, mac: MAC2, dst: '198.18.0.3', self: true, state: 0x80, vni: null }]);
      // A known MAC with another dst: success, and nothing is deleted (the kernel's vxlan_fdb_delete).
      await n.fdbDelete({ ifindex: l.index, mac: MAC2, dst: '198.18.0.2' });
      expect((await n.fdbList({ ifindex: l.index })).filter((f) => f.mac === MAC2)).to.have.length(1);
      await n.fdbDelete({ ifindex: l.index, mac: MAC2, dst: '198.18.0.3' });
      expect((await n.fdbList({ ifindex: l.index })).filter((f) => f.mac === MAC2)).to.deep.equal([]);
      expect((await rejection(n.fdbDelete({ ifindex: l.index, mac: MAC2 }))).code).to.equal('ENOENT');
    });

    it('drops the neighbours of a link that goes down but keeps its FDB', async () => {
      const l = await upVxlan();
      await n.neighReplace({ ifindex: l.index, ip: '10.244.2.0', mac: MAC2 });
      await n.fdbReplace({ ifindex: l.index, mac: MAC2, dst: '198.18.0.2' });
      await n.linkSet(l.index, { up: false });
      expect(await n.neighList({ ifindex: l.index, family: 4 })).to.deep.equal([]);
      expect((await n.fdbList({ ifindex: l.index })).map((f) => f.mac)).to.include(MAC2);
    });
  });

  describe('routes', () => {
    it('replaces, lists and deletes an onlink route via the vxlan device', async () => {
      const l = await upVxlan();
      await n.routeReplace({ dst: '10.244.2.0/24', gateway: '10.244.2.0', ifindex: l.index, onlink: true });
      await n.routeReplace({ dst: '10.244.2.0/24', gateway: '10.244.2.1', ifindex: l.index, onlink: true });
      const routes = await n.routeList({ family: 4, ifindex: l.index });
      expect(routes).to.have.length(1);
      expect(routes[0]).to.include({ dst: '10.244.2.0/24', gateway: '10.244.2.1', ifindex: l.index, onlink: true, scope: 0, table: 254, protocol: 3, type: 1 });
      await n.routeDelete({ dst: '10.244.2.0/24', gateway: '10.244.2.1', ifindex: l.index });
      expect(await n.routeList({ family: 4, ifindex: l.index })).to.deep.equal([]);
      expect((await rejection(n.routeDelete({ dst: '10.244.2.0/24' }))).code).to.equal('ESRCH');
    });

    it('resolves the device of a route via a directly connected gateway', async () => {
      await n.routeReplace({ dst: '10.244.3.0/24', gateway: '198.18.0.3' });
      const r = (await n.routeList({ family: 4 })).find((x) => x.dst === '10.244.3.0/24');
      expect(r).to.include({ gateway: '198.18.0.3', ifindex: env.eth0.index, onlink: false });
    });

    it('refuses an unreachable gateway (ENETUNREACH) and onlink on a down link (ENETDOWN)', async () => {
      expect((await rejection(n.routeReplace({ dst: '10.244.3.0/24', gateway: '10.9.9.9' }))).code).to.equal('ENETUNREACH');
      const l = await n.linkAddVxlan(vxlan());
      const e = await rejection(n.routeReplace({ dst: '10.244.2.0/24', gateway: '10.244.2.0', ifindex: l.index, onlink: true }));
      expect(e.code).to.equal('ENETDOWN');
    });

    it('replaces, lists (type 6, no gateway, no device) and deletes a blackhole route', async () => {
      await n.routeReplace({ dst: '10.244.7.0/24', type: 'blackhole' });
      await n.routeReplace({ dst: '10.244.7.0/24', type: 'blackhole' });
      const mine = (await n.routeList({ family: 4 })).filter((r) => r.dst === '10.244.7.0/24');
      expect(mine).to.have.length(1);
      expect(mine[0]).to.include({ type: 6, gateway: null, ifindex: 0, onlink: false, scope: 0, table: 254, protocol: 3, metric: 0 });
      expect((await rejection(n.routeGet('10.244.7.9'))).code).to.equal('EINVAL');
      // A delete naming the unicast type does not match it; one naming blackhole does.
      expect((await rejection(n.routeDelete({ dst: '10.244.7.0/24', type: 'unicast' }))).code).to.equal('ESRCH');
      await n.routeDelete({ dst: '10.244.7.0/24', type: 'blackhole' });
      expect((await n.routeList({ family: 4 })).filter((r) => r.dst === '10.244.7.0/24')).to.deep.equal([]);
      expect((await rejection(n.routeDelete({ dst: '10.244.7.0/24', type: 'blackhole' }))).code).to.equal('ESRCH');
    });

    it('keeps a high-metric blackhole route beside a connected route for the same dst', async () => {
      await n.routeReplace({ dst: '198.18.0.0/24', type: 'blackhole', metric: 0xffffffff });
      const same = (await n.routeList({ family: 4 })).filter((r) => r.dst === '198.18.0.0/24');
      expect(same.map((r) => [r.type, r.ifindex, r.metric]).sort()).to.deep.equal([[1, env.eth0.index, 0], [6, 0, 0xffffffff]]);
      // The connected route wins the lookup.
      expect((await n.routeGet('198.18.0.2'))[0]).to.include({ ifindex: env.eth0.index });
      // A blackhole delete leaves the connected route alone, also when nothing is left to delete.
      await n.routeDelete({ dst: '198.18.0.0/24', type: 'blackhole', metric: 0xffffffff });
      expect((await rejection(n.routeDelete({ dst: '198.18.0.0/24', type: 'blackhole' }))).code).to.equal('ESRCH');
      const left = (await n.routeList({ family: 4 })).filter((r) => r.dst === '198.18.0.0/24');
      expect(left.map((r) => r.type)).to.deep.equal([1]);
    });

    it('refuses a blackhole route with a gateway or a device, and an unknown type', async () => {
      for (const p of [
        n.routeReplace({ dst: '10.244.7.0/24', type: 'blackhole', gateway: '198.18.0.3' }),
        n.routeReplace({ dst: '10.244.7.0/24', type: 'blackhole', ifindex: env.eth0.index }),
        n.routeReplace({ dst: '10.244.7.0/24', type: 'prohibit' as never }),
      ]) {
        const e = await rejection(p);
        expect(e).to.be.instanceOf(NativeArgumentError);
      }
    });

    it('answers routeGet like `ip route get`', async () => {
      const direct = await n.routeGet('198.18.0.2');
      expect(direct).to.have.length(1);
      expect(direct[0]).to.include({ gateway: null, ifindex: env.eth0.index });
      await n.routeReplace({ dst: '10.244.3.0/24', gateway: '198.18.0.3' });
      expect((await n.routeGet('10.244.3.7'))[0]).to.include({ gateway: '198.18.0.3', ifindex: env.eth0.index });
      expect((await rejection(n.routeGet('203.0.113.1'))).code).to.equal('ENETUNREACH');
    });
  });

  describe('batches', () => {
    it('applies many writes in one call and answers per op', async () => {
      const l = await upVxlan();
      const ops: Op[] = [];
      for (let i = 0; i < 600; i++) {
        const net = `10.${100 + (i >> 8)}.${i & 255}`;
        ops.push({ op: 'route.replace', route: { dst: `${net}.0/24`, gateway: `${net}.0`, ifindex: l.index, onlink: true } });
      }
      ops.push({ op: 'neigh.delete', neigh: { ifindex: l.index, ip: '10.244.9.0' } });
      ops.push({ op: 'fdb.replace', fdb: { ifindex: l.index, mac: 'not-a-mac', dst: '198.18.0.9' } });
      ops.push({ op: 'neigh.replace', neigh: { ifindex: l.index, ip: '10.244.9.0', mac: MAC2 } });
      const res = await n.apply(ops);
      expect(res.slice(0, 600).every((r) => r === null)).to.equal(true);
      expect(res[600]?.code).to.equal('ENOENT');
      expect(res[601]).to.be.instanceOf(NativeArgumentError);
      expect(res[601]?.code).to.equal('EINVAL');
      expect(res[602]).to.equal(null);
      expect(await n.routeList({ family: 4, ifindex: l.index })).to.have.length(600);
      expect(await n.neighList({ ifindex: l.index, family: 4 })).to.have.length(1);
    });

    it('removes the routes, neighbours and FDB entries of a deleted link', async () => {
      const l = await upVxlan();
      await n.apply([
        { op: 'neigh.replace', neigh: { ifindex: l.index, ip: '10.244.2.0', mac: MAC2 } },
        { op: 'fdb.replace', fdb: { ifindex: l.index, mac: MAC2, dst: '198.18.0.2' } },
        { op: 'route.replace', route: { dst: '10.244.2.0/24', gateway: '10.244.2.0', ifindex: l.index, onlink: true } },
      ]);
      await n.linkDelete(l.index);
      expect((await n.routeList({ family: 4 })).filter((r) => r.dst === '10.244.2.0/24')).to.deep.equal([]);
      expect((await n.neighList({ family: 4 })).filter((x) => x.ip === '10.244.2.0')).to.deep.equal([]);
      expect((await n.fdbList()).filter((f) => f.mac === MAC2)).to.deep.equal([]);
    });
  });

  describe('arguments and lifecycle', () => {
    it('rejects bad arguments in TypeScript with NativeArgumentError (EINVAL)', async () => {
      for (const p of [
        n.routeReplace({ dst: '10.244.2.1/24', ifindex: env.eth0.index }),
        n.neighReplace({ ifindex: env.eth0.index, ip: '10.244.2.0', mac: 'zz:00:00:00:00:00' }),
        n.linkAddVxlan(vxlan({ name: 'a/b' })),
        n.linkAddVxlan(vxlan({ vni: 1 << 24 })),
        n.addrAdd({ ifindex: 0, address: '10.0.0.1', prefixLen: 32 }),
      ]) {
        const e = await rejection(p);
        expect(e).to.be.instanceOf(NativeArgumentError);
        expect(e.code).to.equal('EINVAL');
      }
    });

    it('writes a sysctl of a link in its namespace', async () => {
      await n.linkAddVxlan(vxlan());
      await n.writeSysctl('net/ipv6/conf/flannel.1/accept_ra', '0');
      expect((await env.readSysctl('net/ipv6/conf/flannel.1/accept_ra')).trim()).to.equal('0');
      await n.writeSysctl('net/ipv6/conf/flannel.1/accept_ra', '2');
      expect((await env.readSysctl('net/ipv6/conf/flannel.1/accept_ra')).trim()).to.equal('2');
      expect((await rejection(n.writeSysctl('net/ipv6/conf/nosuch0/accept_ra', '0'))).code).to.equal('ENOENT');
    });

    it('reads and sets the tx checksum offload of a vxlan device (on by default, again on a new device)', async () => {
      await n.linkAddVxlan(vxlan());
      expect(await n.txChecksumOffload('flannel.1')).to.equal(true);
      expect(await n.txChecksumOffload('flannel.1', false)).to.equal(false);
      expect(await n.txChecksumOffload('flannel.1')).to.equal(false);
      expect(await n.txChecksumOffload('flannel.1', true)).to.equal(true);
      await n.txChecksumOffload('flannel.1', false);
      await n.linkDelete((await n.linkGet('flannel.1'))!.index);
      await n.linkAddVxlan(vxlan());
      expect(await n.txChecksumOffload('flannel.1')).to.equal(true);
      expect((await rejection(n.txChecksumOffload('nosuch0'))).code).to.equal('ENODEV');
    });

    it('rejects calls after close with EBADF; close twice is fine', async () => {
      await n.close();
      await n.close();
      expect((await rejection(n.linkGet('eth0'))).code).to.equal('EBADF');
    });
  });
}
