// The etcd lease store (LocalManager) end to end: one suite, run on the in-memory registry and on a
// real etcd. What it checks is what an operator sees in etcd: the key, the exact value, the lease.
import { expect } from 'chai';
import { EtcdRegistry } from '../../subnet-lease/etcd/registry.js';
import { MemoryRegistry } from '../../subnet-lease/memory/registry.js';
import { LocalManager, type LocalManagerOptions } from '../../subnet-lease/local-manager.js';
import { IP4Net, parseIP4 } from '../../common/ip.js';
import type { Lease, LeaseAttrs, LeaseEvent } from '../../subnet-lease/lease.js';
import type { Registry } from '../../subnet-lease/store.js';
import { RecordingLogger } from '../helpers/recording-logger.js';
import { useEtcd } from '../helpers/etcd.js';

const PREFIX = '/coreos.com/network';
const CONFIG = '{"Network":"10.5.0.0/16","Backend":{"Type":"alloc"}}';

/** What the suite needs to look at and poke the store from outside, as another writer would. */
interface Harness {
  registry(logger?: RecordingLogger): Registry;
  setConfig(text: string): Promise<void>;
  /** The key's value and whether it has an etcd lease (with its remaining TTL in seconds). */
  inspect(key: string): Promise<{ value: string; ttl: number | null } | null>;
  put(key: string, value: string, leased: boolean): Promise<void>;
  del(key: string): Promise<void>;
  keys(): Promise<string[]>;
}

const attrs = (ip: string): LeaseAttrs => ({ publicIP: parseIP4(ip), publicIPv6: null });

function manager(h: Harness, extra: Partial<LocalManagerOptions> = {}, logger = new RecordingLogger()): LocalManager {
  return new LocalManager({ registry: h.registry(logger), logger, renewMarginMs: 3_600_000, retryDelayMs: 100, ...extra });
}

async function until(what: string, cond: () => Promise<boolean> | boolean, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await cond())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

function leaseStoreSuite(getHarness: () => Harness): void {
  let h: Harness;
  let ac: AbortController;
  beforeEach(async () => {
    h = getHarness();
    ac = new AbortController();
    for (const k of await h.keys()) await h.del(k);
    await h.setConfig(CONFIG);
  });
  afterEach(() => ac.abort());

  it('creates the exact key and value with a 24 h lease', async () => {
    const lease = await manager(h).acquireLease({ ...attrs('198.18.0.1'), backendType: 'host-gw' }, ac.signal);
    const key = `${PREFIX}/subnets/${lease.subnet.ip >>> 24}.${(lease.subnet.ip >>> 16) & 255}.${(lease.subnet.ip >>> 8) & 255}.0-24`;
    const got = await h.inspect(key);
    expect(got?.value).to.equal('{"PublicIP":"198.18.0.1","PublicIPv6":null,"BackendType":"host-gw"}');
    expect(got?.ttl).to.be.within(86_300, 86_400);
    expect(lease.reservation).to.equal(false);
  });

  it('gets the same subnet back on restart, by public IP and by subnet.env', async () => {
    const first = await manager(h).acquireLease(attrs('198.18.0.1'), ac.signal);
    const again = await manager(h).acquireLease(attrs('198.18.0.1'), ac.signal);
    expect(again.subnet.toString()).to.equal(first.subnet.toString());
    expect(await h.keys()).to.have.length(1);
    // New public IP, but subnet.env of the previous run names a free subnet: it is taken back. (Free: not
    // the one the first acquisition picked at random.)
    const free = first.subnet.toString() === '10.5.77.0/24' ? '10.5.78.0/24' : '10.5.77.0/24';
    const prev = await manager(h, { previousSubnet: IP4Net.parse(free) }).acquireLease(attrs('198.18.0.2'), ac.signal);
    expect(prev.subnet.toString()).to.equal(free);
  });

  it('tells our previous lease attrs (by public IP) with one listing, which the acquisition then reuses', async () => {
    const data = { VNI: 1, VtepMAC: '0a:11:22:33:44:55' };
    await manager(h).acquireLease({ ...attrs('198.18.0.1'), backendType: 'vxlan', backendData: data }, ac.signal);
    await manager(h).acquireLease({ ...attrs('198.18.0.2'), backendType: 'vxlan', backendData: { VNI: 1, VtepMAC: '0a:22:22:22:22:22' } }, ac.signal);
    let listings = 0;
    const registry = h.registry();
    const counting = new Proxy(registry, {
      get(target, prop) {
        const v: unknown = Reflect.get(target, prop, target);
        if (prop === 'getSubnets') listings++;
        return typeof v === 'function' ? (v as (...a: unknown[]) => unknown).bind(target) : v;
      },
    });
    const logger = new RecordingLogger();
    const m = new LocalManager({ registry: counting, logger, renewMarginMs: 3_600_000, retryDelayMs: 100 });
    const prev = await m.previousLease({ publicIP: parseIP4('198.18.0.1') }, ac.signal);
    expect(prev.attrs).to.deep.equal({ publicIP: parseIP4('198.18.0.1'), publicIPv6: null, backendType: 'vxlan', backendData: data });
    // The listing is handed over explicitly: the acquisition starts from it instead of listing again.
    const lease = await m.acquireLease({ ...attrs('198.18.0.1'), backendType: 'vxlan', backendData: data }, ac.signal, prev.reading);
    expect(lease.attrs.backendData).to.deep.equal(data);
    expect(listings).to.equal(1);
    // Not handed over, it lists: no hidden state carried between the calls.
    await m.acquireLease({ ...attrs('198.18.0.1'), backendType: 'vxlan', backendData: data }, ac.signal);
    expect(listings).to.equal(2);
    expect(await h.keys()).to.have.length(2);
    // No lease of ours (another IP, or none at all), or no public IP: null.
    expect((await manager(h).previousLease({ publicIP: parseIP4('198.18.0.3') }, ac.signal)).attrs).to.equal(null);
    expect((await manager(h).previousLease({ publicIP: 0 }, ac.signal)).attrs).to.equal(null);
    // Aborted: rejects.
    const aborted = new AbortController();
    aborted.abort(new Error('stop'));
    const err = await manager(h).previousLease({ publicIP: parseIP4('198.18.0.1') }, aborted.signal).then(() => null, (e: Error) => e);
    expect(err).to.be.instanceOf(Error);
  });

  it('reuses a reservation and keeps it without a lease across renewals', async () => {
    const key = `${PREFIX}/subnets/10.5.9.0-24`;
    await h.put(key, '{"PublicIP":"198.18.0.3","PublicIPv6":null}', false);
    const m = manager(h, { ttlSeconds: 2, renewMarginMs: 1500 });
    const lease = await m.acquireLease(attrs('198.18.0.3'), ac.signal);
    expect(lease.subnet.toString()).to.equal('10.5.9.0/24');
    expect(lease.reservation).to.equal(true);
    const logger = new RecordingLogger();
    const kept = new LocalManager({ registry: h.registry(logger), logger, ttlSeconds: 2, renewMarginMs: 1500, retryDelayMs: 100 });
    void kept.keepLease(lease, ac.signal, () => undefined);
    await until('a renewal', () => logger.messages('info').some((m) => m.startsWith('renewed lease')));
    expect((await h.inspect(key))?.ttl).to.equal(null);
  });

  it('renews before expiry, so a short lease outlives its TTL', async () => {
    const logger = new RecordingLogger();
    const m = manager(h, { ttlSeconds: 3, renewMarginMs: 2000 }, logger);
    const lease = await m.acquireLease(attrs('198.18.0.4'), ac.signal);
    void m.keepLease(lease, ac.signal, () => undefined);
    await new Promise((r) => setTimeout(r, 4500)); // longer than the TTL
    const key = (await h.keys())[0]!;
    expect(key).to.match(/10\.5\.\d+\.0-24$/);
    expect((await h.inspect(key))?.ttl).to.be.greaterThan(0);
    expect(logger.messages('info').filter((x) => x.startsWith('renewed lease')).length).to.be.at.least(2);
  });

  it('hands out distinct subnets to racing hosts, and a clean "out of subnets" to the rest', async () => {
    await h.setConfig('{"Network":"10.5.0.0/28","Backend":{"Type":"alloc"}}'); // three /30 subnets
    const loggers = Array.from({ length: 5 }, () => new RecordingLogger());
    // Not AbortSignal.timeout inside AbortSignal.any: Node may collect that timer's signal before it fires.
    const giveUp = new AbortController();
    const timer = setTimeout(() => giveUp.abort(), 3000);
    const signal = giveUp.signal;
    const results = await Promise.allSettled(
      loggers.map((l, i) => manager(h, {}, l).acquireLease(attrs(`198.18.0.${10 + i}`), signal)),
    );
    clearTimeout(timer);
    const won = results.flatMap((r) => (r.status === 'fulfilled' ? [r.value.subnet.toString()] : []));
    expect(won).to.have.length(3);
    expect(new Set(won).size).to.equal(3);
    const starved = loggers.filter((_, i) => results[i]!.status === 'rejected');
    expect(starved).to.have.length(2);
    for (const l of starved) expect(l.messages('error').join('\n')).to.match(/out of subnets/);
  });

  it('follows other hosts: adds and removes by another writer, own subnet filtered out', async () => {
    const m = manager(h);
    const own = await m.acquireLease(attrs('198.18.0.1'), ac.signal);
    await h.put(`${PREFIX}/subnets/10.5.200.0-24`, '{"PublicIP":"198.18.0.2","PublicIPv6":null}', true);
    const batches: LeaseEvent[][] = [];
    const done = (async () => {
      for await (const b of m.watchLeases(() => own, ac.signal)) batches.push(b);
    })().catch(() => undefined);
    await until('initial batch', () => batches.length >= 1);
    expect(batches[0]!.map((e) => `${e.type} ${e.lease.subnet}`)).to.deep.equal(['added 10.5.200.0/24']);
    await h.put(`${PREFIX}/subnets/10.5.201.0-24`, '{"PublicIP":"198.18.0.3","PublicIPv6":null}', true);
    await h.put(`${PREFIX}/subnets/10.5.202.0-24`, 'garbage', true);
    await h.del(`${PREFIX}/subnets/10.5.200.0-24`);
    const flat = (): string[] => batches.flat().map((e) => `${e.type} ${e.lease.subnet}`);
    await until('add and remove', () => flat().includes('removed 10.5.200.0/24'));
    expect(flat()).to.deep.equal(['added 10.5.200.0/24', 'added 10.5.201.0/24', 'removed 10.5.200.0/24']);
    expect(flat().some((x) => x.includes(own.subnet.toString()))).to.equal(false);
    ac.abort();
    await done;
  });

  it('acquires our lease again, same subnet, when someone deletes it', async () => {
    const logger = new RecordingLogger();
    const m = manager(h, {}, logger);
    const lease = await m.acquireLease(attrs('198.18.0.5'), ac.signal);
    const changes: Lease[] = [];
    void m.keepLease(lease, ac.signal, (l) => changes.push(l));
    await new Promise((r) => setTimeout(r, 300)); // let the own-key watch start
    const key = (await h.keys())[0]!;
    await h.del(key);
    await until('re-acquisition', () => changes.length === 1);
    expect(changes[0]!.subnet.toString()).to.equal(lease.subnet.toString());
    expect((await h.inspect(key))?.value).to.equal('{"PublicIP":"198.18.0.5","PublicIPv6":null}');
    expect(logger.messages('warn').join('\n')).to.match(/deleted or has expired; acquiring it again/);
  });
}

describe('etcd lease store on the in-memory registry', () => {
  let mem: MemoryRegistry;
  beforeEach(() => {
    mem = new MemoryRegistry();
  });
  leaseStoreSuite(() => ({
    registry: () => mem,
    setConfig: async (t) => mem.setConfig(t),
    inspect: async (key) => {
      const e = mem.getRaw(key.slice(`${PREFIX}/subnets/`.length));
      if (!e) return null;
      return { value: e.value, ttl: e.expiresAt === null ? null : Math.round((e.expiresAt - mem.now()) / 1000) };
    },
    put: async (key, value, leased) => mem.putRaw(key.slice(`${PREFIX}/subnets/`.length), value, { leased }),
    del: async (key) => mem.deleteRaw(key.slice(`${PREFIX}/subnets/`.length)),
    keys: async () => mem.rawKeys().map((k) => `${PREFIX}/subnets/${k}`),
  }));
});

describe('etcd lease store on a real etcd @etcd', () => {
  const etcd = useEtcd();
  const opened: Registry[] = [];
  afterEach(async () => {
    for (const r of opened.splice(0)) await r.close();
  });

  it('keeps its own key and follows the other hosts through one etcd watch', async () => {
    const watchers = (): Promise<number> => etcd().metric('etcd_debugging_mvcc_watcher_total');
    const streams = (): Promise<number> => etcd().metric('grpc_server_started_total', { grpc_method: 'Watch' });
    const ac = new AbortController();
    const registry = new EtcdRegistry({ endpoints: [etcd().endpoint], logger: new RecordingLogger() });
    opened.push(registry);
    try {
      await etcd().etcdctl(['del', '--prefix', `${PREFIX}/`]);
      await etcd().etcdctl(['put', `${PREFIX}/config`, CONFIG]);
      const m = new LocalManager({ registry, logger: new RecordingLogger(), renewMarginMs: 3_600_000, retryDelayMs: 100 });
      const own = await m.acquireLease(attrs('198.18.0.1'), ac.signal);
      const [w0, s0] = [await watchers(), await streams()];
      const changes: Lease[] = [];
      const kept = m.keepLease(own, ac.signal, (l) => changes.push(l));
      const seen: string[] = [];
      const followed = (async () => {
        for await (const b of m.watchLeases(() => own, ac.signal)) seen.push(...b.map((e) => `${e.type} ${e.lease.subnet}`));
      })();
      await etcd().etcdctl(['put', `${PREFIX}/subnets/10.5.210.0-24`, '{"PublicIP":"198.18.0.2","PublicIPv6":null}']);
      await until('the other host followed', () => seen.includes('added 10.5.210.0/24'));
      await etcd().etcdctl(['del', `${PREFIX}/subnets/${own.subnet.toString().replace('/', '-')}`]);
      await until('our key re-acquired', () => changes.length === 1);
      expect([(await watchers()) - w0, (await streams()) - s0]).to.deep.equal([1, 1]);
      ac.abort();
      await Promise.all([kept, followed]);
      await until('the watch gone after abort', async () => (await watchers()) === w0);
    } finally {
      ac.abort();
    }
  });

  leaseStoreSuite(() => ({
    registry: (logger = new RecordingLogger()) => {
      const r = new EtcdRegistry({ endpoints: [etcd().endpoint], logger });
      opened.push(r);
      return r;
    },
    setConfig: async (t) => void (await etcd().etcdctl(['put', `${PREFIX}/config`, t])),
    inspect: async (key) => {
      const out = await etcd().etcdctl(['get', key, '-w', 'json']);
      const lease = /"lease":(\d+)/.exec(out)?.[1];
      const value = /"value":"([^"]*)"/.exec(out)?.[1];
      if (value === undefined) return null;
      const text = Buffer.from(value, 'base64').toString();
      if (!lease) return { value: text, ttl: null };
      const ttlOut = await etcd().etcdctl(['lease', 'timetolive', BigInt(lease).toString(16)]);
      return { value: text, ttl: Number(/remaining\((-?\d+)s\)/.exec(ttlOut)?.[1]) };
    },
    put: async (key, value, leased) => {
      if (!leased) return void (await etcd().etcdctl(['put', key, value]));
      const grant = await etcd().etcdctl(['lease', 'grant', '600']);
      const id = /lease ([0-9a-f]+) granted/.exec(grant)![1]!;
      await etcd().etcdctl(['put', key, value, `--lease=${id}`]);
    },
    del: async (key) => void (await etcd().etcdctl(['del', key])),
    keys: async () => (await etcd().etcdctl(['get', `${PREFIX}/subnets/`, '--prefix', '--keys-only'])).split('\n').filter(Boolean),
  }));
});
