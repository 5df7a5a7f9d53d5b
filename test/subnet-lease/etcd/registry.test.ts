// What only a real etcd can show: the reference's key layout under the default prefix, the lease TTL
// etcd really holds, leases not leaked, the number of RPCs, connection failures and watch streams.
import { expect } from 'chai';
import { EtcdRegistry } from '../../../subnet-lease/etcd/registry.js';
import { StoreUnavailableError, SubnetExistsError, isRetryable } from '../../../subnet-lease/store.js';
import { useEtcd } from '../../helpers/etcd.js';
import type { EtcdInstance } from '../../helpers/etcd.js';
import { RecordingLogger } from '../../helpers/recording-logger.js';
import { TcpProxy } from '../../helpers/tcp-proxy.js';
import { DAY, JSON_A, attrsA, attrsB, net, rejection } from '../registry-fixtures.js';
import { etcdHarness, leaseOf } from '../registry-harness.js';
import { WatchProbe } from '../watch-probe.js';

async function timeToLive(etcd: EtcdInstance, key: string): Promise<{ id: string; granted: number; remaining: number }> {
  const id = leaseOf(await etcd.etcdctl(['get', key, '-w', 'json']));
  if (!id) throw new Error(`${key} has no lease`);
  const out = await etcd.etcdctl(['lease', 'timetolive', id]);
  const m = /granted with TTL\((\d+)s\), remaining\((-?\d+)s\)/.exec(out);
  if (!m) throw new Error(`unexpected timetolive output: ${out}`);
  return { id, granted: Number(m[1]), remaining: Number(m[2]) };
}

async function leaseCount(etcd: EtcdInstance): Promise<number> {
  return Number(/found (\d+) leases/.exec(await etcd.etcdctl(['lease', 'list']))![1]);
}

async function eventually(cond: () => Promise<boolean>, what: string, timeoutMs = 5000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await cond())) {
    if (Date.now() > deadline) throw new Error(`${what}: not within ${timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

describe('EtcdRegistry on a real etcd @etcd', function () {
  this.timeout(30_000);
  const etcd = useEtcd();
  const signal = new AbortController().signal;
  let logs: RecordingLogger;
  let registry: EtcdRegistry;
  beforeEach(async () => {
    await etcd().etcdctl(['del', '--prefix', '/coreos.com/network/']);
    logs = new RecordingLogger();
    registry = new EtcdRegistry({ endpoints: [etcd().endpoint], logger: logs });
  });
  afterEach(() => registry.close());

  it('uses /coreos.com/network by default and warns that the connection is plaintext', async () => {
    await etcd().etcdctl(['put', '/coreos.com/network/config', '{"Network":"10.5.0.0/16"}']);
    expect(await registry.getNetworkConfig(signal)).to.equal('{"Network":"10.5.0.0/16"}');
    await registry.createSubnet(net('10.5.52.0/24'), null, attrsA, DAY, signal);
    expect(await etcd().etcdctl(['get', '/coreos.com/network/subnets/10.5.52.0-24', '--print-value-only'])).to.equal(`${JSON_A}\n`);
    expect(logs.messages('warn')).to.include('no certificate provided: connecting to etcd with http. This is insecure');
  });

  it('says how to create a missing config, naming the key and the endpoint', async () => {
    const err = await rejection(registry.getNetworkConfig(signal));
    expect(err.message).to.contain(
      `etcdctl put /coreos.com/network/config '{"Network":"10.244.0.0/16","Backend":{"Type":"vxlan"}}'`,
    );
    expect(err.message).to.contain(etcd().endpoint);
  });

  it('binds a created key to a lease etcd holds for 24 h', async () => {
    await registry.createSubnet(net('10.5.52.0/24'), null, attrsA, DAY, signal);
    const ttl = await timeToLive(etcd(), '/coreos.com/network/subnets/10.5.52.0-24');
    expect(ttl.granted).to.equal(86400);
    expect(ttl.remaining).to.be.within(86390, 86400);
  });

  it('revokes the fresh lease when the key exists, so no lease is leaked', async () => {
    await registry.createSubnet(net('10.5.52.0/24'), null, attrsA, DAY, signal);
    const before = await leaseCount(etcd());
    const err = await rejection(registry.createSubnet(net('10.5.52.0/24'), null, attrsB, DAY, signal));
    expect(err).to.be.instanceOf(SubnetExistsError);
    expect(await leaseCount(etcd())).to.equal(before);
  });

  it('renews with a new lease of the new TTL and leaves the old lease to expire', async () => {
    const key = '/coreos.com/network/subnets/10.5.52.0-24';
    await registry.createSubnet(net('10.5.52.0/24'), null, attrsA, DAY, signal);
    const first = await timeToLive(etcd(), key);
    await registry.updateSubnet(net('10.5.52.0/24'), null, attrsA, 3600, signal);
    const second = await timeToLive(etcd(), key);
    expect(second.id).to.not.equal(first.id);
    expect(second.granted).to.equal(3600);
    expect(await etcd().etcdctl(['lease', 'list'])).to.contain(first.id);
  });

  it('lists all leases with one Range request and no TimeToLive per key', async () => {
    for (let i = 0; i < 5; i++) await registry.createSubnet(net(`10.5.${60 + i}.0/24`), null, attrsA, DAY, signal);
    const ranges = (): Promise<number> => etcd().metric('grpc_server_started_total', { grpc_method: 'Range' });
    const ttls = (): Promise<number> => etcd().metric('grpc_server_started_total', { grpc_method: 'LeaseTimeToLive' });
    const [r0, t0] = [await ranges(), await ttls()];
    expect(await registry.getSubnets(signal)).to.have.length(5);
    expect([(await ranges()) - r0, (await ttls()) - t0]).to.deep.equal([1, 0]);
  });

  it('an aborted watch leaves no watcher on the server', async () => {
    const watchers = (): Promise<number> => etcd().metric('etcd_debugging_mvcc_watcher_total');
    const probe = new WatchProbe(registry);
    await probe.next('the snapshot');
    await eventually(async () => (await watchers()) === 1, 'the watcher registered');
    await probe.stop();
    await eventually(async () => (await watchers()) === 0, 'the watcher gone after abort');
  });
});

describe('EtcdRegistry connection failures @etcd', function () {
  this.timeout(30_000);
  const etcd = useEtcd();
  const signal = new AbortController().signal;

  it('maps an unreachable etcd to StoreUnavailableError, naming the key and the endpoint', async () => {
    const proxy = await TcpProxy.start('127.0.0.1', etcd().port);
    proxy.refuse();
    const registry = new EtcdRegistry({ endpoints: [proxy.endpoint()], logger: new RecordingLogger(), dialTimeoutMs: 1000 });
    try {
      for (const call of [
        () => registry.getSubnet(net('10.5.52.0/24'), null, signal),
        () => registry.createSubnet(net('10.5.52.0/24'), null, attrsA, DAY, signal),
      ]) {
        const err = await rejection(call());
        expect(err, err.stack).to.be.instanceOf(StoreUnavailableError);
        expect(isRetryable(err)).to.equal(true);
        expect(err.message).to.contain('/coreos.com/network/subnets/10.5.52.0-24').and.contain(proxy.endpoint());
      }
    } finally {
      await registry.close();
      await proxy.close();
    }
  });

  it('logs the watch interruption and the reconnection', async () => {
    const h = await etcdHarness(etcd(), '/flannel-ts-test/reconnect');
    const probe = new WatchProbe(h.registry);
    try {
      await probe.next('the snapshot');
      await h.disconnectWatchers();
      await eventually(async () => h.logs.messages('warn').some((m) => m.startsWith('subnet watch interrupted')), 'warned');
      await h.reconnectWatchers();
      await eventually(async () => h.logs.messages('info').some((m) => m.startsWith('subnet watch reconnected')), 'reconnected');
    } finally {
      await probe.stop();
      await h.close();
    }
    expect(probe.error).to.equal(undefined);
  });

  it('close() ends running watches and drops its connections', async () => {
    const proxy = await TcpProxy.start('127.0.0.1', etcd().port);
    const registry = new EtcdRegistry({ endpoints: [proxy.endpoint()], logger: new RecordingLogger() });
    try {
      const probe = new WatchProbe(registry);
      await probe.next('the snapshot');
      expect(proxy.connections).to.be.above(0);
      await registry.close();
      await probe.finished;
      await eventually(async () => proxy.connections === 0, 'all connections closed');
    } finally {
      await proxy.close();
    }
  });
});
