// flannel-ts under microk8s: packaging/snap/bin/run-flanneld-with-args with microk8s's exact default args
// file (`--iface=""`, TLS etcd on 127.0.0.1:12379 with the server certificate as client certificate,
// the subnet file under $SNAP_COMMON, --ip-masq) on a namespace host whose only way out is a default
// route. The wrapper seeds microk8s's default network config, flanneld picks the default-route
// interface and writes subnet.env; flanneld-env is sourced; a flannel-network-mgr-config file is written
// to etcd at every start; the args file is split into words the way bash parses it.
import { expect } from 'chai';
import { chmod, copyFile, mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { startEtcd, type EtcdInstance } from '../helpers/etcd.js';
import { FLANNELD, until } from '../helpers/flanneld.js';
import { TestBed } from '../helpers/netns.js';
import { makeHostCerts } from './certs.js';

const WRAPPER = resolve('packaging/snap/bin/run-flanneld-with-args');
/** microk8s-resources/default-args/flanneld, byte for byte. */
const MICROK8S_ARGS = `--iface=""
--etcd-endpoints=https://127.0.0.1:12379
--etcd-cafile=\${SNAP_DATA}/certs/ca.crt
--etcd-certfile=\${SNAP_DATA}/certs/server.crt
--etcd-keyfile=\${SNAP_DATA}/certs/server.key
--subnet-file=\${SNAP_COMMON}/run/flannel/subnet.env
--ip-masq=true
`;

describe('microk8s: the default args file through run-flanneld-with-args @netns @etcd', function () {
  this.timeout(120_000);
  let bed: TestBed;
  let etcd: EtcdInstance;
  let tmp: string;
  let snap: string;
  let data: string;
  const children: Array<ReturnType<TestBed['spawn']>> = [];

  const runWrapper = (extraEnv: string[] = []) => {
    const child = bed.spawn(bed.host(1), ['env', `SNAP=${snap}`, `SNAP_DATA=${data}`, `SNAP_COMMON=${join(tmp, 'common')}`, ...extraEnv, 'bash', join(snap, 'bin', 'run-flanneld-with-args')]);
    children.push(child);
    const out = { log: '', exited: new Promise<number | null>((r) => child.once('exit', (code) => r(code))) };
    child.stdout?.on('data', (b: Buffer) => (out.log += b.toString()));
    child.stderr?.on('data', (b: Buffer) => (out.log += b.toString()));
    return { child, out };
  };

  before(async function () {
    this.timeout(60_000);
    bed = await TestBed.create({ tag: 'mk8s', hosts: 1 });
    await bed.ip(bed.host(1), 'route', 'add', 'default', 'via', '198.18.0.254', 'dev', 'eth0');
    tmp = await mkdtemp(join(tmpdir(), 'fl-mk8s-'));
    snap = join(tmp, 'snap');
    data = join(tmp, 'data');
    for (const d of [join(snap, 'bin'), join(data, 'args'), join(data, 'certs')]) await mkdir(d, { recursive: true });
    const certs = makeHostCerts(join(data, 'certs'));
    // microk8s's etcd: https on a loopback port of the host, client certificates required.
    etcd = await startEtcd({
      netns: bed.host(1),
      listenHost: '127.0.0.1',
      clientPort: 12379,
      peerPort: 12380,
      tls: { certFile: certs.serverCertFile, keyFile: certs.serverKeyFile, caFile: certs.caFile, clientCertAuth: true, clientCertFile: certs.serverCertFile, clientKeyFile: certs.serverKeyFile },
    });
    await writeFile(join(snap, 'bin', 'flanneld'), `#!/bin/sh\nexec ${JSON.stringify(process.execPath)} ${JSON.stringify(FLANNELD)} "$@"\n`);
    await chmod(join(snap, 'bin', 'flanneld'), 0o755);
    await copyFile(WRAPPER, join(snap, 'bin', 'run-flanneld-with-args'));
    await writeFile(join(data, 'args', 'flanneld'), MICROK8S_ARGS);
    // FLANNELD_IFACE is ignored (--iface= is given); FLANNELD_PUBLIC_IP is exported and used.
    await writeFile(join(data, 'args', 'flanneld-env'), 'FLANNELD_IFACE=nosuch0\nFLANNELD_PUBLIC_IP="198.18.0.77"\n');
  });
  after(async function () {
    this.timeout(30_000);
    for (const c of children) if (c.exitCode === null) c.kill('SIGKILL');
    await etcd?.stop();
    await bed?.destroy();
    if (tmp) await rm(tmp, { recursive: true, force: true });
  });

  it('seeds the default config, chooses the default-route interface and writes subnet.env', async () => {
    const { child, out } = runWrapper();
    const subnetFile = join(tmp, 'common/run/flannel/subnet.env');
    await until(`subnet.env (log:\n${out.log.slice(-3000)})`, async () => (await readFile(subnetFile, 'utf8').catch(() => '')) !== '', 60_000);
    expect(await readFile(subnetFile, 'utf8')).to.match(/^FLANNEL_NETWORK=10\.1\.0\.0\/16\nFLANNEL_SUBNET=10\.1\.\d+\.1\/24\nFLANNEL_MTU=1450\nFLANNEL_IPMASQ=true\n$/);
    expect(await etcd.etcdctl(['get', '/coreos.com/network/config', '--print-value-only'])).to.equal('{"Network": "10.1.0.0/16", "Backend": {"Type": "vxlan"}}\n');
    expect(out.log).to.include("was missing: wrote microk8s's default");
    expect(out.log).to.match(/using interface eth0 \(index \d+, MTU 1500, address 198\.18\.0\.1, public IP 198\.18\.0\.77\)/);
    expect(await etcd.etcdctl(['get', '/coreos.com/network/subnets/', '--prefix'])).to.include('"PublicIP":"198.18.0.77"');
    child.kill('SIGTERM');
    expect(await out.exited).to.equal(0);
  });

  it('writes flannel-network-mgr-config at every start, and passes the args as bash words', async () => {
    const config = '{"Network": "10.5.0.0/16", "Backend": {"Type": "host-gw"}}';
    await writeFile(join(data, 'args', 'flannel-network-mgr-config'), config);
    await writeFile(join(tmp, 'argv.sh'), '#!/bin/sh\nfor a in "$@"; do printf "<%s>\\n" "$a"; done\n');
    await chmod(join(tmp, 'argv.sh'), 0o755);
    await writeFile(
      join(data, 'args', 'flanneld'),
      MICROK8S_ARGS + '# a comment\n--etcd-password="two words#not-a-comment"  --v 2\n--public-ip=\'198.18.0.1\'\n',
    );
    const { out } = runWrapper([`FLANNELD_BIN=${join(tmp, 'argv.sh')}`]);
    expect(await out.exited, out.log).to.equal(0);
    expect(await etcd.etcdctl(['get', '/coreos.com/network/config', '--print-value-only'])).to.equal(`${config}\n`);
    const argv = out.log.split('\n').filter((l) => l.startsWith('<'));
    expect(argv).to.deep.equal([
      '<--iface=>',
      '<--etcd-endpoints=https://127.0.0.1:12379>',
      `<--etcd-cafile=${data}/certs/ca.crt>`,
      `<--etcd-certfile=${data}/certs/server.crt>`,
      `<--etcd-keyfile=${data}/certs/server.key>`,
      `<--subnet-file=${tmp}/common/run/flannel/subnet.env>`,
      '<--ip-masq=true>',
      '<--etcd-password=two words#not-a-comment>',
      '<--v>',
      '<2>',
      '<--public-ip=198.18.0.1>',
    ]);
  });
});
