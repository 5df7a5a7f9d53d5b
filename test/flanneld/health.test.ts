// flanneld as a process in a namespace host: /healthz and /readyz with the reference's answers before
// and after subnet.env, /metrics in the Prometheus text format with the values a second host causes,
// and READY=1 on NOTIFY_SOCKET only once subnet.env exists.
import { expect } from 'chai';
import { type ChildProcess, spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startEtcd, type EtcdInstance } from '../helpers/etcd.js';
import { FlanneldProcess, until } from '../helpers/flanneld.js';
import { TestBed } from '../helpers/netns.js';

const CONFIG = '{"Network":"10.244.0.0/16","Backend":{"Type":"vxlan"}}';
const PORT = 18471;

interface Answer {
  status: number;
  type: string;
  body: string;
}

/** One HTTP GET made from inside namespace `ns` (the server listens there). */
async function get(bed: TestBed, ns: string, path: string): Promise<Answer> {
  const script = `fetch('http://127.0.0.1:${PORT}${path}').then(async (r) => console.log(JSON.stringify({status: r.status, type: r.headers.get('content-type'), body: await r.text()})), (e) => console.log(JSON.stringify({status: 0, type: '', body: String(e)})))`;
  return JSON.parse(await bed.exec(ns, [process.execPath, '-e', script])) as Answer;
}

/** Every line of a Prometheus text exposition: a # HELP/# TYPE comment or `name{labels} value`. */
function parsePrometheus(text: string): Map<string, number> {
  const samples = new Map<string, number>();
  const types = new Set(['counter', 'gauge', 'histogram', 'summary', 'untyped']);
  for (const line of text.split('\n')) {
    if (line === '') continue;
    const comment = /^# (HELP|TYPE) ([a-zA-Z_:][a-zA-Z0-9_:]*) (.*)$/.exec(line);
    if (comment) {
      if (comment[1] === 'TYPE' && !types.has(comment[3]!)) throw new Error(`bad TYPE line: ${line}`);
      continue;
    }
    const m = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{(?:[a-zA-Z_][a-zA-Z0-9_]*="(?:[^"\\]|\\.)*",?)*\})? (-?[0-9.e+-]+|\+Inf|-Inf|NaN)$/.exec(line);
    if (!m) throw new Error(`not Prometheus text: ${line}`);
    samples.set(`${m[1]}${m[2] ?? ''}`, Number(m[3]));
  }
  return samples;
}

function sum(samples: Map<string, number>, name: string): number {
  let s = 0;
  for (const [k, v] of samples) if (k === name || k.startsWith(`${name}{`)) s += v;
  return s;
}

describe('flanneld health server, metrics and sd_notify in namespaces @netns @etcd', function () {
  this.timeout(120_000);
  let bed: TestBed;
  let etcd: EtcdInstance;
  let tmp: string;
  let listener: ChildProcess | undefined;
  const daemons: FlanneldProcess[] = [];
  let notified = '';

  before(async function () {
    this.timeout(60_000);
    bed = await TestBed.create({ tag: 'health', hosts: 2 });
    etcd = await startEtcd({ netns: bed.sw, listenHost: '198.18.0.254' });
    tmp = await mkdtemp(join(tmpdir(), 'fl-health-'));
  });
  after(async function () {
    this.timeout(30_000);
    for (const d of daemons) await d.kill();
    if (listener?.pid && listener.exitCode === null) listener.kill('SIGKILL');
    await etcd?.stop();
    await bed?.destroy();
    if (tmp) await rm(tmp, { recursive: true, force: true });
  });

  it('answers /healthz at once and /readyz only after the rules and subnet.env; sends READY=1 after subnet.env', async () => {
    const sock = join(tmp, 'notify.sock');
    const subnetFile = join(tmp, 'h1/subnet.env');
    // A stand-in for systemd's notify socket: prints each datagram with whether subnet.env existed.
    listener = spawn('python3', ['-c', `
import socket, os, sys
s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM); s.bind(${JSON.stringify(sock)})
print('bound', flush=True)
while True:
    m = s.recv(4096).decode()
    print(repr(m) + ' subnet.env=' + str(os.path.exists(${JSON.stringify(subnetFile)})), flush=True)
`], { stdio: ['ignore', 'pipe', 'inherit'] });
    listener.stdout!.on('data', (b: Buffer) => (notified += b.toString()));
    await until('notify listener', () => notified.includes('bound'));

    const d = new FlanneldProcess(bed, 1, subnetFile, [`--healthz-port=${PORT}`, '--healthz-ip=127.0.0.1', '--ip-masq', '--iptables-resync=1'], {
      NOTIFY_SOCKET: sock,
      // A 6 s lease renewed 3 s before it expires: renewals show up in the metrics within seconds.
      FLANNELTS_TEST_LEASE_TTL: '6',
      FLANNELTS_TEST_RENEW_MARGIN_MS: '3000',
    });
    daemons.push(d);
    await until(`healthz up (log: ${d.output()})`, async () => (await get(bed, bed.host(1), '/healthz')).status === 200);
    expect(await get(bed, bed.host(1), '/healthz')).to.deep.equal({ status: 200, type: 'text/plain; charset=utf-8', body: 'flanneld is running' });
    // No network config yet: flanneld waits for it and is not ready.
    expect(await get(bed, bed.host(1), '/readyz')).to.deep.equal({ status: 503, type: 'text/plain; charset=utf-8', body: 'flanneld is not ready yet' });
    expect(existsSync(subnetFile)).to.equal(false);
    expect(notified).not.to.include('READY=1');
    expect(await get(bed, bed.host(1), '/nope')).to.deep.include({ status: 404, body: '404 page not found\n' });

    await etcd.etcdctl(['put', '/coreos.com/network/config', CONFIG]);
    await d.waitForSubnetEnv();
    await until('ready', async () => (await get(bed, bed.host(1), '/readyz')).status === 200);
    expect(await get(bed, bed.host(1), '/readyz')).to.deep.equal({ status: 200, type: 'text/plain; charset=utf-8', body: 'flanneld is ready' });
    await until(`READY=1 (got ${notified})`, () => notified.includes('READY=1'));
    expect(notified).to.include(`READY=1' subnet.env=True`);
    expect(notified).to.match(new RegExp(`MAINPID=\\d+`));
  });

  it('serves /metrics in the Prometheus text format with leases, kernel entries, latency and rule checks', async () => {
    const d2 = new FlanneldProcess(bed, 2, join(tmp, 'h2/subnet.env'));
    daemons.push(d2);
    await d2.waitForSubnetEnv();
    let samples = new Map<string, number>();
    await until('host 2 seen in the metrics', async () => {
      samples = parsePrometheus((await get(bed, bed.host(1), '/metrics')).body);
      return samples.get('flannel_leases_known') === 1 && sum(samples, 'flannel_rule_checks_total') >= 2;
    });
    const answer = await get(bed, bed.host(1), '/metrics');
    expect(answer.status).to.equal(200);
    expect(answer.type).to.equal('text/plain; version=0.0.4; charset=utf-8');
    expect(samples.get('flannel_ready')).to.equal(1);
    expect(samples.get('flannel_kernel_entries_programmed_total{kind="route",op="replace"}')).to.be.at.least(1);
    expect(samples.get('flannel_kernel_entries_programmed_total{kind="neigh",op="replace"}')).to.be.at.least(1);
    expect(samples.get('flannel_kernel_entries_programmed_total{kind="fdb",op="replace"}')).to.be.at.least(1);
    expect(samples.get('flannel_lease_event_to_kernel_seconds_count')).to.be.at.least(1);
    expect(samples.get('flannel_lease_event_to_kernel_seconds_bucket{le="+Inf"}')).to.equal(samples.get('flannel_lease_event_to_kernel_seconds_count'));
    expect(samples.get('flannel_lease_acquisitions_total')).to.equal(1);
    expect(samples.get('flannel_rule_checks_total{family="ipv4",mode="iptables",result="ok"}')).to.be.at.least(1);
    expect(sum(samples, 'flannel_kernel_entries_repaired_total')).to.equal(0);

    // A route deleted by hand comes back through the vxlan reconcile pass: counted as a repair.
    const subnet2 = /FLANNEL_SUBNET=10\.244\.(\d+)\.1\/24/.exec(await d2.subnetEnv())![1]!;
    await bed.ip(bed.host(1), 'route', 'del', `10.244.${subnet2}.0/24`);
    await until('repair counted', async () => {
      samples = parsePrometheus((await get(bed, bed.host(1), '/metrics')).body);
      return (samples.get('flannel_kernel_entries_repaired_total{kind="route"}') ?? 0) >= 1;
    }, 30_000);
    // The masquerade chain flushed by hand: a rule check reports the repair.
    await bed.exec(bed.host(1), ['iptables', '-t', 'nat', '-F', 'FLANNEL-POSTRTG']);
    await until('rule repair counted', async () => {
      samples = parsePrometheus((await get(bed, bed.host(1), '/metrics')).body);
      return (samples.get('flannel_rule_checks_total{family="ipv4",mode="iptables",result="repaired"}') ?? 0) >= 1;
    });
  });

  it('counts lease renewals, and a lease lost (deleted in etcd) and re-acquired', async () => {
    let samples = new Map<string, number>();
    await until('a renewal counted', async () => {
      samples = parsePrometheus((await get(bed, bed.host(1), '/metrics')).body);
      return (samples.get('flannel_lease_renewals_total') ?? 0) >= 1;
    });
    const subnet1 = /FLANNEL_SUBNET=10\.244\.(\d+)\.1\/24/.exec(await daemons[0]!.subnetEnv())![1]!;
    await etcd.etcdctl(['del', `/coreos.com/network/subnets/10.244.${subnet1}.0-24`]);
    await until('the loss counted', async () => {
      samples = parsePrometheus((await get(bed, bed.host(1), '/metrics')).body);
      return (samples.get('flannel_lease_losses_total') ?? 0) >= 1;
    });
    expect(samples.get('flannel_lease_acquisitions_total')).to.equal(2);
  });

  it('exits 0 on SIGTERM and leaves the rules in place', async () => {
    expect(await daemons[0]!.stop()).to.equal(0);
    const nat = await bed.exec(bed.host(1), ['iptables-save', '-t', 'nat']);
    expect(nat).to.include('-A POSTROUTING -m comment --comment "flanneld masq" -j FLANNEL-POSTRTG');
  });
});
