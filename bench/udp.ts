// Benchmark: iperf3 pod to pod between two namespace hosts over the udp backend, the vxlan backend,
// host-gw and wireguard (wireguard-go, when installed and flanneld knows the backend), every overlay set up by flanneld processes in the same run. One
// cluster per backend stays up for the whole run; the measurements alternate between them (single
// stream, then -P 4), `rounds` times, and the medians are printed with the udp/vxlan ratio and the
// CPU seconds the udp packet loop's threads used. Figures, not assertions.
// Usage: node dist/bench/udp.js [--seconds S] [--rounds R]   (root; builds fl-<pid>-bu* namespaces)
import { execFileSync } from 'node:child_process';
import { pathToFileURL } from 'node:url';
import { findBackendModule } from '../flanneld/backends.js';
import { Cluster } from '../test/backends/udp/cluster.js';
import type { Row } from './table.js';

interface Sample {
  gbps: number;
  /** CPU seconds of the udp loop threads on both hosts during the run (udp only). */
  loopCpu: number;
}

const MODES = [
  { name: 'single stream', streams: 1 },
  { name: '-P 4', streams: 4 },
];

function hasBackend(type: string): boolean {
  return findBackendModule(type) !== undefined;
}

/** wireguard needs wireguard-go (this kernel, and the backend for now, use the userspace data path). */
function hasWireguard(): boolean {
  if (!hasBackend('wireguard')) return false;
  try {
    execFileSync('wireguard-go', ['--version'], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}

async function iperf(c: Cluster, streams: number, seconds: number): Promise<Sample> {
  const cpu = async (): Promise<number> => (await c.threadCpu(1, 'flannel-udp')) + (await c.threadCpu(2, 'flannel-udp'));
  const before = await cpu();
  const out = await c.bed.exec(c.pod(1), ['iperf3', '-c', c.podIP.get(2)!, '-t', String(seconds), '-P', String(streams), '-J']);
  const report = JSON.parse(out) as { end: { sum_received: { bits_per_second: number } } };
  return { gbps: report.end.sum_received.bits_per_second / 1e9, loopCpu: (await cpu()) - before };
}

const median = (xs: number[]): number => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)] ?? NaN;

export async function benchUdp(seconds = 5, rounds = 3): Promise<Row[]> {
  const rows: Row[] = [];
  // "vxlan-csum-off": vxlan with TxChecksumOffload "off" (issue 14 item 4), next to vxlan with it on.
  const BACKEND: Record<string, Record<string, unknown>> = { 'vxlan-csum-off': { Type: 'vxlan', TxChecksumOffload: 'off' } };
  const types = ['udp', 'vxlan', 'vxlan-csum-off', ...(hasBackend('host-gw') ? ['host-gw'] : []), ...(hasWireguard() ? ['wireguard'] : [])];
  console.log(`udp backend: iperf3 pod to pod across two namespace hosts, ${seconds} s per run, ${rounds} alternating rounds`);
  const clusters = new Map<string, Cluster>();
  try {
    for (const t of types) {
      const c = await Cluster.start({ tag: `bu${types.indexOf(t)}`, hosts: 2, backend: BACKEND[t] ?? { Type: t } });
      clusters.set(t, c);
      c.bed.spawn(c.pod(2), ['iperf3', '-s']);
    }
    await new Promise((r) => setTimeout(r, 500)); // iperf3 servers listening
    const samples = new Map<string, Sample[]>();
    for (let r = 1; r <= rounds; r++) {
      for (const m of MODES) {
        for (const t of types) {
          const s = await iperf(clusters.get(t)!, m.streams, seconds);
          const key = `${t}|${m.name}`;
          samples.set(key, [...(samples.get(key) ?? []), s]);
          const cpu = t === 'udp' ? `, loop CPU ${s.loopCpu.toFixed(2)} s` : '';
          console.log(`  round ${r} ${m.name.padEnd(13)} ${t.padEnd(14)} ${s.gbps.toFixed(2)} Gbit/s${cpu}`);
        }
      }
    }
    for (const m of MODES) {
      const med = (t: string): number => median((samples.get(`${t}|${m.name}`) ?? []).map((s) => s.gbps));
      const cpu = median((samples.get(`udp|${m.name}`) ?? []).map((s) => s.loopCpu));
      const hg = types.includes('host-gw') ? `, host-gw ${med('host-gw').toFixed(2)}` : ', host-gw: not available';
      console.log(
        `  median ${m.name}: udp ${med('udp').toFixed(2)} Gbit/s, vxlan ${med('vxlan').toFixed(2)}${hg}; ` +
          `udp/vxlan ${(med('udp') / med('vxlan')).toFixed(2)} (goal >= 0.5); udp loop CPU ${cpu.toFixed(2)} s per ${seconds} s run`,
      );
      const ratio = med('udp') / med('vxlan');
      rows.push({
        what: `udp backend throughput, iperf3 pod to pod, ${m.name}, median of ${rounds}`,
        ours: `${med('udp').toFixed(2)} Gbit/s`,
        baseline: `kernel vxlan: ${med('vxlan').toFixed(2)} Gbit/s (ratio ${ratio.toFixed(2)})${types.includes('host-gw') ? `; host-gw ${med('host-gw').toFixed(2)}` : ''}`,
        goal: 'ratio ≥ 0.5',
        met: ratio >= 0.5,
      });
      rows.push({
        what: `vxlan throughput with TxChecksumOffload "off" (checksums in software, TSO off), iperf3 pod to pod, ${m.name}, median of ${rounds}`,
        ours: `${med('vxlan-csum-off').toFixed(2)} Gbit/s`,
        baseline: `vxlan with offload on: ${med('vxlan').toFixed(2)} Gbit/s (ratio ${(med('vxlan-csum-off') / med('vxlan')).toFixed(2)})`,
        goal: '',
      });
      if (types.includes('wireguard')) {
        console.log(`  median ${m.name}: wireguard (userspace, wireguard-go) ${med('wireguard').toFixed(2)} Gbit/s`);
        rows.push({
          what: `wireguard backend throughput (userspace data path: wireguard-go), iperf3 pod to pod, ${m.name}, median of ${rounds}`,
          ours: `${med('wireguard').toFixed(2)} Gbit/s`,
          baseline: `kernel vxlan (unencrypted): ${med('vxlan').toFixed(2)} Gbit/s; udp ${med('udp').toFixed(2)}`,
          goal: '',
        });
      }
    }
    if (!types.includes('host-gw')) console.log('  host-gw: not available');
    if (!types.includes('wireguard')) console.log('  wireguard: not available (wireguard-go missing)');
  } finally {
    for (const c of clusters.values()) await c.destroy();
  }
  return rows;
}

function arg(name: string, dflt: number): number {
  const i = process.argv.indexOf(`--${name}`);
  return i > 0 ? Number(process.argv[i + 1]) : dflt;
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) await benchUdp(arg('seconds', 5), arg('rounds', 3));
