// The etcd client against a real etcd: the golden bytes of proto.test.ts do what they should there,
// int64 values read back exactly as etcdctl prints them, a dead member is skipped, and an expired auth
// token is replaced without the caller noticing.
import { expect } from 'chai';
import net from 'node:net';
import type { AddressInfo } from 'node:net';
import { EtcdClient } from '../../../subnet-lease/etcd/client.js';
import { GrpcChannel } from '../../../subnet-lease/etcd/grpc.js';
import * as m from '../../../subnet-lease/etcd/messages.js';
import { ProtoWriter } from '../../../subnet-lease/etcd/proto.js';
import { useEtcd } from '../../helpers/etcd.js';
import { TcpProxy } from '../../helpers/tcp-proxy.js';
import { GOLDEN_TXN } from './golden.js';

describe('etcd client on a real etcd @etcd', function () {
  this.timeout(30_000);
  const etcd = useEtcd();
  const client = (endpoints = [etcd().endpoint], timeoutMs = 2000): EtcdClient => new EtcdClient({ endpoints, tls: null, timeoutMs });

  it('creates a key with the golden Txn bytes on lease 0x1234, and the same bytes again find it taken', async () => {
    await etcd().etcdctl(['del', 'k']);
    const channel = new GrpcChannel(etcd().endpoint, null);
    try {
      // LeaseGrant { TTL: 60, ID: 0x1234 }: etcd takes the ID we ask for.
      m.decodeLeaseGrantResponse(await channel.unary('/etcdserverpb.Lease/LeaseGrant', Buffer.from('083c10b424', 'hex'), {}, 2000));
      const first = m.decodeTxnResponse(await channel.unary('/etcdserverpb.KV/Txn', GOLDEN_TXN, {}, 2000));
      const second = m.decodeTxnResponse(await channel.unary('/etcdserverpb.KV/Txn', GOLDEN_TXN, {}, 2000));
      expect([first.succeeded, second.succeeded]).to.deep.equal([true, false]);
      const kv = (JSON.parse(await etcd().etcdctl(['get', 'k', '-w', 'json'])) as { kvs: Array<{ value: string; lease: number }> }).kvs[0]!;
      expect([Buffer.from(kv.value, 'base64').toString(), kv.lease]).to.deep.equal(['v', 0x1234]);
      await channel.unary('/etcdserverpb.Lease/LeaseRevoke', m.encodeLeaseRevoke('4660'), {}, 2000);
    } finally {
      channel.close();
    }
  });

  it('reads a lease ID above 2^53 and the revisions exactly as etcdctl prints them', async () => {
    const c = client();
    const channel = new GrpcChannel(etcd().endpoint, null);
    try {
      const id = 0x7abcdef012345678n;
      const grant = await channel.unary('/etcdserverpb.Lease/LeaseGrant', new ProtoWriter().int64(1, 60).int64(2, id).finish(), {}, 2000);
      expect(m.decodeLeaseGrantResponse(grant).ID).to.equal(String(id));
      await c.put({ key: Buffer.from('big'), value: Buffer.from('x'), lease: String(id) });
      const res = await c.range({ key: Buffer.from('big') });
      const out = await etcd().etcdctl(['get', 'big', '-w', 'json']);
      // etcdctl's JSON prints int64 as a number; read it as text, not through JSON.parse.
      expect(out).to.contain(`"lease":${id}`);
      expect(out).to.contain(`"mod_revision":${res.kvs[0]!.mod_revision}`);
      expect(out).to.contain(`"revision":${res.header.revision}`);
      expect(res.kvs[0]!.lease).to.equal(String(id));
      await c.leaseRevoke(String(id));
      expect((await c.range({ key: Buffer.from('big') })).kvs).to.deep.equal([]);
    } finally {
      channel.close();
      c.close();
    }
  });

  it('goes on to the next member when one refuses connections, and keeps using the one that answered', async () => {
    const dead = await TcpProxy.start('127.0.0.1', etcd().port);
    dead.refuse();
    const live = await TcpProxy.start('127.0.0.1', etcd().port);
    const c = client([dead.endpoint(), live.endpoint()]);
    try {
      await c.put({ key: Buffer.from('failover'), value: Buffer.from('1') });
      expect((await c.range({ key: Buffer.from('failover') })).kvs[0]!.value.toString()).to.equal('1');
      expect(live.connections).to.equal(1);
    } finally {
      c.close();
      await dead.close();
      await live.close();
    }
  });

  it('leaves a member that accepts connections but answers nothing (frozen) after the 3 s ping timeout', async () => {
    const frozen = net.createServer(() => {});
    await new Promise<void>((r) => frozen.listen(0, '127.0.0.1', r));
    const c = client([`http://127.0.0.1:${(frozen.address() as AddressInfo).port}`, etcd().endpoint], 10_000);
    try {
      const t0 = Date.now();
      await c.range({ key: Buffer.from('k') });
      expect(Date.now() - t0).to.be.within(2900, 8000);
    } finally {
      c.close();
      frozen.close();
    }
  });

  it('rejects with ClientClosedError after close()', async () => {
    const c = client();
    c.close();
    const err = await c.range({ key: Buffer.from('k') }).then(() => null, (e: Error) => e);
    expect(err?.name).to.equal('ClientClosedError');
  });
});

describe('etcd client with auth on a real etcd @etcd', function () {
  this.timeout(30_000);
  const root = 'root:Auth-Test-Pw';
  const etcd = useEtcd({ extraArgs: ['--auth-token-ttl', '1'] });
  before(async () => {
    await etcd().etcdctl(['user', 'add', root]);
    await etcd().etcdctl(['auth', 'enable']);
  });

  it('authenticates once, and again when the token expired, without failing the call', async () => {
    const c = new EtcdClient({ endpoints: [etcd().endpoint], tls: null, timeoutMs: 2000, auth: { username: 'root', password: 'Auth-Test-Pw' } });
    const auths = async (): Promise<number> => etcd().metric('grpc_server_started_total', { grpc_method: 'Authenticate' });
    try {
      const before = await auths();
      await c.put({ key: Buffer.from('a'), value: Buffer.from('1') });
      await c.put({ key: Buffer.from('a'), value: Buffer.from('2') });
      expect((await auths()) - before).to.equal(1);
      await new Promise((r) => setTimeout(r, 2500)); // the 1 s token TTL runs out
      expect((await c.range({ key: Buffer.from('a') })).kvs[0]!.value.toString()).to.equal('2');
      expect((await auths()) - before).to.equal(2);
    } finally {
      c.close();
    }
  });
});
