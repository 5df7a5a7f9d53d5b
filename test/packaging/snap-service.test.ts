// The snap-style service: packaging/snap/bin/run-flanneld-with-args starts flanneld from an args file
// ($SNAP_DATA/args/flanneld, one flag per line, as microk8s keeps it) against an etcd that requires
// TLS client certificates and a user/password. It acquires a lease, writes subnet.env, and at -v 10
// not one log line holds the password or the private key.
import { expect } from 'chai';
import { chmod, mkdir, mkdtemp, readFile, rm, writeFile, copyFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { startEtcd, type EtcdInstance } from '../helpers/etcd.js';
import { FLANNELD, until } from '../helpers/flanneld.js';
import { TestBed } from '../helpers/netns.js';
import { makeHostCerts } from './certs.js';

const WRAPPER = resolve('packaging/snap/bin/run-flanneld-with-args');
const ROOT_PW = 'r00t-Pw-Zx81';
const PASSWORD = 'Pa55 w0rd#Qv7-secret';

describe('snap-style args-file service against etcd with TLS client certificates @netns @etcd', function () {
  this.timeout(120_000);
  let bed: TestBed;
  let etcd: EtcdInstance;
  let tmp: string;
  let log = '';
  let exited: Promise<number | null>;
  let child: ReturnType<TestBed['spawn']>;
  const asRoot = { user: `root:${ROOT_PW}` };

  before(async function () {
    this.timeout(60_000);
    bed = await TestBed.create({ tag: 'snap', hosts: 1 });
    tmp = await mkdtemp(join(tmpdir(), 'fl-snap-'));
    const snap = join(tmp, 'snap');
    const data = join(tmp, 'data');
    await mkdir(join(snap, 'bin'), { recursive: true });
    await mkdir(join(data, 'args'), { recursive: true });
    await mkdir(join(data, 'certs'), { recursive: true });
    const certs = makeHostCerts(join(data, 'certs'));
    etcd = await startEtcd({
      netns: bed.sw,
      listenHost: '198.18.0.254',
      tls: { certFile: certs.serverCertFile, keyFile: certs.serverKeyFile, caFile: certs.caFile, clientCertAuth: true, clientCertFile: certs.clientCertFile, clientKeyFile: certs.clientKeyFile },
    });
    await etcd.etcdctl(['user', 'add', `root:${ROOT_PW}`]);
    await etcd.etcdctl(['user', 'add', `flannel:${PASSWORD}`]);
    await etcd.etcdctl(['role', 'add', 'flannel']);
    await etcd.etcdctl(['role', 'grant-permission', 'flannel', '--prefix=true', 'readwrite', '/coreos.com/network/']);
    await etcd.etcdctl(['user', 'grant-role', 'flannel', 'flannel']);
    await etcd.etcdctl(['auth', 'enable']);
    await etcd.etcdctl(['put', '/coreos.com/network/config', '{"Network":"10.244.0.0/16","Backend":{"Type":"vxlan"}}'], asRoot);
    // $SNAP/bin/flanneld: the built daemon (the release binary stands in for it in the binary test).
    await writeFile(join(snap, 'bin', 'flanneld'), `#!/bin/sh\nexec ${JSON.stringify(process.execPath)} ${JSON.stringify(FLANNELD)} "$@"\n`);
    await chmod(join(snap, 'bin', 'flanneld'), 0o755);
    await copyFile(WRAPPER, join(snap, 'bin', 'run-flanneld-with-args'));
    await writeFile(
      join(data, 'args', 'flanneld'),
      [
        '# flanneld flags for this test host',
        '--etcd-endpoints=https://198.18.0.254:2379',
        '--etcd-cafile=${SNAP_DATA}/certs/ca.crt',
        '--etcd-certfile=${SNAP_DATA}/certs/client.crt',
        '--etcd-keyfile=${SNAP_DATA}/certs/client.key',
        '--etcd-username=flannel',
        `--etcd-password="${PASSWORD}"`,
        '',
        '  --iface=eth0  ',
        '--subnet-file=${SNAP_COMMON}/run/flannel/subnet.env',
        '--ip-masq=true',
        '-v=10',
      ].join('\n'),
    );
    child = bed.spawn(bed.host(1), ['env', `SNAP=${snap}`, `SNAP_DATA=${data}`, `SNAP_COMMON=${join(tmp, 'common')}`, 'bash', join(snap, 'bin', 'run-flanneld-with-args')]);
    child.stdout?.on('data', (b: Buffer) => (log += b.toString()));
    child.stderr?.on('data', (b: Buffer) => (log += b.toString()));
    exited = new Promise((r) => child.once('exit', (code) => r(code)));
  });
  after(async function () {
    this.timeout(30_000);
    if (child?.exitCode === null) child.kill('SIGKILL');
    await etcd?.stop();
    await bed?.destroy();
    if (tmp) await rm(tmp, { recursive: true, force: true });
  });

  it('acquires a lease over TLS with the client certificate and the password, and writes subnet.env', async () => {
    const subnetFile = join(tmp, 'common/run/flannel/subnet.env');
    await until(`subnet.env (log:\n${log.slice(-3000)})`, async () => (await readFile(subnetFile, 'utf8').catch(() => '')) !== '', 60_000);
    const env = await readFile(subnetFile, 'utf8');
    expect(env).to.match(/^FLANNEL_NETWORK=10\.244\.0\.0\/16\nFLANNEL_SUBNET=10\.244\.\d+\.1\/24\nFLANNEL_MTU=1450\nFLANNEL_IPMASQ=true\n$/);
    const leases = await etcd.etcdctl(['get', '/coreos.com/network/subnets/', '--prefix'], asRoot);
    expect(leases).to.include('"PublicIP":"198.18.0.1"');
    expect(log).to.match(/^I\d{4} /m); // klog-style lines
  });

  it('logs at -v 10 without the password or the private key, and exits 0 on SIGTERM', async () => {
    await until('a few debug lines', () => log.split('\n').length > 10);
    child.kill('SIGTERM');
    expect(await exited).to.equal(0);
    const key = await readFile(join(tmp, 'data/certs/client.key'), 'utf8');
    const keyLines = key.split('\n').filter((l) => l !== '' && !l.startsWith('-----'));
    expect(log).not.to.include(PASSWORD);
    for (const piece of [...PASSWORD.split(' '), ...keyLines]) expect(log, `secret piece ${piece}`).not.to.include(piece);
    expect(log).to.match(/CLI flags config .*etcd-password=\"?<redacted>/);
    expect(log).to.include('Exiting cleanly');
  });
});
