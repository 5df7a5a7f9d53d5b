// TLS with client certificates (an openssl-made CA, etcd with --client-cert-auth) and password auth,
// with the password absent from every log line and error message.
import { expect } from 'chai';
import path from 'node:path';
import { EtcdRegistry } from '../../../subnet-lease/etcd/registry.js';
import { LeaseStoreError, isRetryable } from '../../../subnet-lease/store.js';
import { useEtcd, useTlsEtcd } from '../../helpers/etcd.js';
import { RecordingLogger } from '../../helpers/recording-logger.js';
import { TcpProxy } from '../../helpers/tcp-proxy.js';
import type { TestCerts } from '../../helpers/tls.js';
import { DAY, JSON_A, JSON_B, attrsA, net, rejection } from '../registry-fixtures.js';
import { WatchProbe } from '../watch-probe.js';

const signal = new AbortController().signal;

describe('EtcdRegistry over TLS with client certificates @etcd', function () {
  this.timeout(30_000);
  const { etcd, certs } = useTlsEtcd();
  const registryWith = (files: { keyFile?: string; certFile?: string; caFile?: string }, logs = new RecordingLogger()) =>
    new EtcdRegistry({ endpoints: [etcd().endpoint], logger: logs, dialTimeoutMs: 2000, ...files });

  it('writes and watches with the client certificate, without the plaintext warning', async () => {
    const logs = new RecordingLogger();
    const registry = registryWith({ keyFile: certs().clientKeyFile, certFile: certs().clientCertFile, caFile: certs().caFile }, logs);
    const probe = new WatchProbe(registry);
    try {
      expect(etcd().endpoint).to.match(/^https:/);
      await registry.createSubnet(net('10.5.52.0/24'), null, attrsA, DAY, signal);
      expect(await etcd().etcdctl(['get', '/coreos.com/network/subnets/10.5.52.0-24', '--print-value-only'])).to.equal(`${JSON_A}\n`);
      await probe.next('the snapshot');
      await etcd().etcdctl(['put', '/coreos.com/network/subnets/10.5.53.0-24', JSON_B]);
      expect((await probe.next('the added event')).kind).to.equal('events');
      expect(logs.messages('warn')).to.deep.equal([]);
    } finally {
      await probe.stop();
      await registry.close();
    }
  });

  for (const [name, files] of [
    ['without a client certificate', (c: TestCerts) => ({ caFile: c.caFile })],
    ['with a certificate from another CA', (c: TestCerts) => ({ keyFile: c.strangerKeyFile, certFile: c.strangerCertFile, caFile: c.caFile })],
  ] as const) {
    it(`is refused ${name}`, async () => {
      const registry = registryWith(files(certs()));
      try {
        const err = await rejection(registry.getSubnets(signal));
        expect(err).to.be.instanceOf(LeaseStoreError);
        expect(err.message).to.contain(etcd().endpoint);
      } finally {
        await registry.close();
      }
    });
  }

  it('names a TLS file it cannot read', () => {
    expect(() => registryWith({ keyFile: path.join(path.dirname(certs().caFile), 'missing.key'), certFile: certs().clientCertFile }))
      .to.throw(LeaseStoreError, /key file .*missing\.key/);
  });
});

describe('EtcdRegistry with username and password @etcd', function () {
  this.timeout(30_000);
  const password = 'S3cret-Passw0rd-xyzzy';
  const root = `root:${password}`;
  // A short token TTL, so the watch below has to cope with an expired token when it reconnects.
  const etcd = useEtcd({ extraArgs: ['--auth-token-ttl', '1'] });
  before(async () => {
    await etcd().etcdctl(['user', 'add', root]);
    await etcd().etcdctl(['auth', 'enable']);
  });

  it('works with the right password, which appears in no log line', async () => {
    const proxy = await TcpProxy.start('127.0.0.1', etcd().port);
    const logs = new RecordingLogger();
    const registry = new EtcdRegistry({ endpoints: [proxy.endpoint()], logger: logs, username: 'root', password });
    let probe: WatchProbe | undefined;
    try {
      await etcd().etcdctl(['put', '/coreos.com/network/subnets/junk', 'junk'], { user: root });
      await registry.createSubnet(net('10.5.52.0/24'), null, attrsA, DAY, signal);
      probe = new WatchProbe(registry, () => logs.text());
      await probe.next('the snapshot');
      // Break the watch and let the auth token expire meanwhile: it must log, re-authenticate and resume.
      proxy.refuse();
      proxy.cut();
      await new Promise((r) => setTimeout(r, 2500));
      proxy.accept();
      await etcd().etcdctl(['put', '/coreos.com/network/subnets/10.5.53.0-24', JSON_B], { user: root });
      const item = await probe.next('the event after reconnecting');
      expect(item.kind === 'events' && item.events.map((e) => e.lease.subnet.toString())).to.deep.equal(['10.5.53.0/24']);
      expect(logs.messages('warn').length, logs.text()).to.be.above(1);
      expect(logs.text()).to.not.contain(password);
    } finally {
      await probe?.stop();
      await registry.close();
      await proxy.close();
    }
  });

  for (const [name, creds] of [
    ['a wrong password', { username: 'root', password: 'Wr0ng-Passw0rd-plugh' }],
    ['no credentials', {}],
  ] as const) {
    it(`fails finally (not retryable) with ${name}, without the password in the message`, async () => {
      const logs = new RecordingLogger();
      const registry = new EtcdRegistry({ endpoints: [etcd().endpoint], logger: logs, ...creds });
      try {
        const err = await rejection(registry.getSubnets(signal));
        expect(err).to.be.instanceOf(LeaseStoreError);
        expect(isRetryable(err), err.message).to.equal(false);
        expect(`${err.message}\n${logs.text()}`).to.not.contain('Passw0rd');
      } finally {
        await registry.close();
      }
    });
  }
});
