// A small cluster as a user runs it, for the udp end-to-end test and the udp benchmark: a test bed of
// host namespaces, a real etcd in the switch namespace, the built flanneld on each host with the
// given backend, and one pod per host through the unchanged kube-flannel conflist (our flannel plugin
// -> Debian's bridge + host-local, then portmap). Everything is named fl-<pid>-<tag>-* and removed by
// destroy() (and by the test bed's exit hook when a run dies).
import { execFile } from 'node:child_process';
import { mkdtemp, readFile, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { KUBE_FLANNEL_CONFLIST, attachPod, flannelCniPath, type CniRunOptions } from '../../helpers/cni.js';
import { startEtcd, type EtcdInstance } from '../../helpers/etcd.js';
import { FlanneldProcess } from '../../helpers/flanneld.js';

/** Each host's health server (/status, /metrics), inside its own namespace. */
export const UDP_HEALTHZ_PORT = 18494;
import { TestBed, removeNamespaces } from '../../helpers/netns.js';

const run = promisify(execFile);

/**
 * Python for: send a UDP datagram to `to` on a connected socket and print the ICMP error the kernel
 * hands back ("ENETUNREACH" for net unreachable: IP_RECVERR, 11, makes that soft error visible), or
 * "none" after 3 s. (Not ping: the loop, as the reference, never answers ICMP with ICMP.)
 */
export function udpProbeScript(to: string): string {
  return `import errno,socket; s=socket.socket(socket.AF_INET,socket.SOCK_DGRAM); s.setsockopt(socket.IPPROTO_IP, 11, 1); s.connect(('${to}',9)); s.settimeout(3)
try:
    s.send(b'probe'); s.recv(10); print('answer')
except socket.timeout:
    print('none')
except OSError as e:
    print(errno.errorcode.get(e.errno, e.errno))`;
}

export interface ClusterOptions {
  tag: string;
  hosts: number;
  /** The Backend object of the network config, e.g. { Type: 'udp' }. */
  backend: Record<string, unknown>;
}

export class Cluster {
  readonly daemons = new Map<number, FlanneldProcess>();
  readonly podIP = new Map<number, string>();
  private cniPath: string[] = [];
  /** Each flanneld runs with its node's own /run (privateMounts): wireguard-go's socket directory is per host. */
  privateRun = false;

  private constructor(
    readonly bed: TestBed,
    readonly etcd: EtcdInstance,
    readonly tmp: string,
  ) {}

  /** Builds the bed, starts etcd with the config, flanneld on every host and a pod per host. */
  static async start(o: ClusterOptions): Promise<Cluster> {
    const bed = await TestBed.create({ tag: o.tag, hosts: o.hosts });
    let c: Cluster | undefined;
    try {
      const etcd = await startEtcd({ netns: bed.sw, listenHost: '198.18.0.254' });
      c = new Cluster(bed, etcd, await mkdtemp(join(tmpdir(), `fl-${o.tag}-`)));
      c.cniPath = await flannelCniPath(c.tmp);
      c.privateRun = String(o.backend.Type).toLowerCase() === 'wireguard';
      await etcd.etcdctl(['put', '/coreos.com/network/config', JSON.stringify({ Network: '10.244.0.0/16', Backend: o.backend })]);
      for (let i = 1; i <= o.hosts; i++) await c.startHost(i);
      for (let i = 1; i <= o.hosts; i++) await c.addPod(i);
      return c;
    } catch (e) {
      if (c) await c.destroy();
      else await bed.destroy();
      throw e;
    }
  }

  nodeRoot(i: number): string {
    return join(this.tmp, `node${i}`);
  }

  pod(i: number): string {
    return `${this.bed.prefix}-pod${i}`;
  }

  cniOpts(i: number): CniRunOptions {
    return { hostNetns: this.bed.host(i), netns: this.pod(i), containerId: `pod${i}`, cniPath: this.cniPath, nodeRoot: this.nodeRoot(i) };
  }

  async startHost(i: number): Promise<FlanneldProcess> {
    // <root>/run/flannel/subnet.env is /run/flannel/subnet.env in the private view, and the same file outside it.
    const file = join(this.nodeRoot(i), 'run/flannel/subnet.env');
    const d = new FlanneldProcess(this.bed, i, file, [`--healthz-port=${UDP_HEALTHZ_PORT}`, '--peer-probe-interval=1'], {}, this.privateRun ? { root: this.nodeRoot(i) } : {});
    this.daemons.set(i, d);
    await d.waitForSubnetEnv();
    return d;
  }

  async addPod(i: number): Promise<void> {
    this.podIP.set(i, (await attachPod(KUBE_FLANNEL_CONFLIST, this.cniOpts(i)))[0]!.split('/')[0]!);
  }

  /** One ping from pod `from` to `to`; true when it was answered. */
  ping(from: number, to: string, ...extra: string[]): Promise<boolean> {
    return this.bed.exec(this.pod(from), ['ping', '-c', '1', '-W', '2', ...extra, to]).then(
      () => true,
      () => false,
    );
  }

  /** What pod `from` hears back for a UDP datagram to `to` (see udpProbeScript). */
  async udpProbe(from: number, to: string): Promise<string> {
    return (await this.bed.exec(this.pod(from), ['python3', '-c', udpProbeScript(to)])).trim();
  }

  /** The leases in etcd: subnet ("10.244.5.0/24") -> the value text, exactly as stored. */
  async leases(): Promise<Map<string, string>> {
    const out = await this.etcd.etcdctl(['get', '/coreos.com/network/subnets/', '--prefix']);
    const lines = out.trim().split('\n');
    const m = new Map<string, string>();
    for (let k = 0; k + 1 < lines.length; k += 2) m.set(lines[k]!.split('/').pop()!.replace('-', '/'), lines[k + 1]!);
    return m;
  }

  /** CPU seconds used so far by the threads of host i's flanneld whose name starts with `prefix`. */
  async threadCpu(i: number, prefix: string): Promise<number> {
    const pid = this.daemons.get(i)?.child.pid;
    if (!pid) return 0;
    const tick = Number((await run('getconf', ['CLK_TCK'])).stdout.trim()) || 100;
    let total = 0;
    for (const tid of await readdir(`/proc/${pid}/task`).catch(() => [] as string[])) {
      const stat = await readFile(`/proc/${pid}/task/${tid}/stat`, 'utf8').catch(() => '');
      const m = /^\d+ \((.*)\) (.*)$/.exec(stat.trim());
      if (!m || !m[1]!.startsWith(prefix)) continue;
      const f = m[2]!.split(' ');
      total += (Number(f[11]) + Number(f[12])) / tick; // utime, stime (fields 14 and 15)
    }
    return total;
  }

  async destroy(): Promise<void> {
    for (const d of this.daemons.values()) await d.kill();
    await this.etcd.stop();
    await removeNamespaces(this.bed.prefix); // the pods, which the bed did not make
    await this.bed.destroy();
    await rm(this.tmp, { recursive: true, force: true });
  }
}
