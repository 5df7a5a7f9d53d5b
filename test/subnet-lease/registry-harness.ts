// What the registry contract tests need besides the Registry itself: a way to look at and change the
// store behind the registry's back (as another host or an operator would), and to break the watch
// connection. One implementation drives the MemoryRegistry's test controls, the other a real etcd
// through etcdctl and a TCP proxy.
import { EtcdRegistry } from '../../subnet-lease/etcd/registry.js';
import { MemoryRegistry } from '../../subnet-lease/memory/registry.js';
import { parseSubnetKey } from '../../subnet-lease/lease.js';
import type { Registry } from '../../subnet-lease/store.js';
import type { EtcdInstance } from '../helpers/etcd.js';
import { RecordingLogger } from '../helpers/recording-logger.js';
import { TcpProxy } from '../helpers/tcp-proxy.js';

export interface RawValue {
  value: string;
  /** Bound to an etcd lease (false: a reservation). */
  leased: boolean;
}

export interface RegistryHarness {
  readonly registry: Registry;
  readonly logs: RecordingLogger;
  /** The key prefix the registry uses (e.g. '/coreos.com/network'). */
  readonly prefix: string;
  /** The clock expirations are computed from. */
  now(): number;
  setConfig(text: string | null): Promise<void>;
  /** Writes `<prefix>/subnets/<keySuffix>` as another writer would; `leased` binds it to a 24 h lease. */
  putRaw(keySuffix: string, value: string, leased: boolean): Promise<void>;
  deleteRaw(keySuffix: string): Promise<void>;
  getRaw(keySuffix: string): Promise<RawValue | null>;
  /** Lets the etcd lease of a key run out now (etcd: revoke it). */
  expire(keySuffix: string): Promise<void>;
  /** Breaks the watch connections: nothing is delivered until reconnectWatchers(). */
  disconnectWatchers(): Promise<void>;
  reconnectWatchers(): Promise<void>;
  /** Compacts the store's history up to its current revision. */
  compact(): Promise<void>;
  close(): Promise<void>;
}

export function memoryHarness(): RegistryHarness {
  const logs = new RecordingLogger();
  const registry = new MemoryRegistry({ logger: logs });
  return {
    registry,
    logs,
    prefix: '/coreos.com/network',
    now: () => registry.now(),
    setConfig: async (text) => registry.setConfig(text),
    putRaw: async (k, v, leased) => registry.putRaw(k, v, { leased }),
    deleteRaw: async (k) => registry.deleteRaw(k),
    getRaw: async (k) => {
      const e = registry.getRaw(k);
      return e && { value: e.value, leased: e.leased };
    },
    expire: async (k) => {
      const { subnet, ipv6Subnet } = parseSubnetKey(k);
      if (!registry.expire(subnet, ipv6Subnet)) throw new Error(`${k} has no lease to expire`);
    },
    disconnectWatchers: async () => registry.disconnectWatchers(),
    reconnectWatchers: async () => registry.reconnectWatchers(),
    compact: async () => registry.compact(),
    close: () => registry.close(),
  };
}

/** The lease ID (hex, as etcdctl wants it) bound to a key; null for a key without a lease. */
export function leaseOf(getJson: string): string | null {
  // Lease IDs are int64 and lose precision through JSON.parse, so read the digits.
  const m = /"lease":(\d+)/.exec(getJson);
  return m ? BigInt(m[1]!).toString(16) : null;
}

export async function etcdRevision(etcd: EtcdInstance): Promise<number> {
  const out = JSON.parse(await etcd.etcdctl(['get', '/', '-w', 'json'])) as { header: { revision: number } };
  return out.header.revision;
}

/** A registry on `etcd` under its own prefix, connected through a TCP proxy that can cut it off. */
export async function etcdHarness(etcd: EtcdInstance, prefix: string): Promise<RegistryHarness> {
  const logs = new RecordingLogger();
  const proxy = await TcpProxy.start('127.0.0.1', etcd.port);
  const registry = new EtcdRegistry({ endpoints: [proxy.endpoint()], prefix, logger: logs });
  const key = (suffix: string): string => `${prefix}/subnets/${suffix}`;
  const getJson = async (suffix: string): Promise<string | null> => {
    const out = await etcd.etcdctl(['get', key(suffix), '-w', 'json']);
    return (JSON.parse(out) as { kvs?: unknown[] }).kvs?.length ? out : null;
  };
  return {
    registry,
    logs,
    prefix,
    now: () => Date.now(),
    setConfig: async (text) => {
      if (text === null) await etcd.etcdctl(['del', `${prefix}/config`]);
      else await etcd.etcdctl(['put', '--', `${prefix}/config`, text]);
    },
    putRaw: async (suffix, value, leased) => {
      const flags: string[] = [];
      if (leased) {
        const grant = await etcd.etcdctl(['lease', 'grant', '86400']);
        flags.push(`--lease=${/lease ([0-9a-f]+) granted/.exec(grant)![1]}`);
      }
      await etcd.etcdctl(['put', ...flags, '--', key(suffix), value]);
    },
    deleteRaw: async (suffix) => void (await etcd.etcdctl(['del', key(suffix)])),
    getRaw: async (suffix) => {
      const out = await getJson(suffix);
      if (out === null) return null;
      const kv = (JSON.parse(out) as { kvs: { value: string }[] }).kvs[0]!;
      return { value: Buffer.from(kv.value, 'base64').toString(), leased: leaseOf(out) !== null };
    },
    expire: async (suffix) => {
      const id = leaseOf((await getJson(suffix)) ?? '');
      if (!id) throw new Error(`${suffix} has no lease to expire`);
      await etcd.etcdctl(['lease', 'revoke', id]);
    },
    disconnectWatchers: async () => {
      proxy.refuse();
      proxy.cut();
    },
    reconnectWatchers: async () => proxy.accept(),
    compact: async () => void (await etcd.etcdctl(['compact', String(await etcdRevision(etcd))])),
    close: async () => {
      await registry.close();
      await proxy.close();
    },
  };
}
