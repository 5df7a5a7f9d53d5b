// `flanneld status`: what a running daemon knows about the overlay, read from its health server's
// /status (the daemon probes; this command never does). Found through the same --healthz-ip and
// --healthz-port flags (and FLANNELD_HEALTHZ_*) the daemon was started with. Exit code 0: every peer
// is reachable; 1: some are not; 2: it cannot tell (no daemon, no /status, probes off, peers unknown).
import { request } from 'node:http';
import { reportCommandLine } from '../report-cli.js';
import type { PeerDocument, StatusDocument } from './status.js';

const USAGE =
  'Usage: flanneld status [flags] [--output=text|json]\n\n' +
  "Shows a running flanneld's lease, backend, MTU, lease store and the probe state of every peer, read\n" +
  'from its health server (/status): give the --healthz-ip/--healthz-port it was started with (or the same\n' +
  'FLANNELD_HEALTHZ_* environment). Exit code 0: every peer reachable; 1: some are not; 2: cannot tell.\n\n';

const TIMEOUT_MS = 5000;

export async function statusMain(argv: readonly string[], env: NodeJS.ProcessEnv): Promise<number> {
  const { parsed, format } = reportCommandLine(argv, env, { command: 'flanneld status', badUsageExit: 2, usage: USAGE });
  if (parsed.kind === 'exit') return parsed.code;
  const { healthzIP, healthzPort } = parsed.flags;
  if (healthzPort <= 0) {
    process.stderr.write('flanneld status: the health server is off (--healthz-port is 0): give the --healthz-port flanneld runs with\n');
    return 2;
  }
  const host = connectHost(healthzIP);
  let doc: StatusDocument;
  try {
    doc = await fetchStatus(host, healthzPort);
  } catch (e) {
    process.stderr.write(`flanneld status: ${(e as Error).message}\n`);
    return 2;
  }
  process.stdout.write(format === 'json' ? `${JSON.stringify(doc, null, 2)}\n` : renderText(doc));
  return exitCode(doc);
}

/** The address to connect to for a listen address: the wildcard means this host. */
export function connectHost(listen: string): string {
  if (listen === '' || listen === '0.0.0.0') return '127.0.0.1';
  if (listen === '::' || listen === '[::]') return '::1';
  return listen.replace(/^\[(.*)\]$/, '$1');
}

export function exitCode(doc: StatusDocument): number {
  if (doc.summary.unreachable > 0) return 1;
  if (!doc.probes.enabled || doc.lease === null || doc.summary.unknown > 0) return 2;
  return 0;
}

function fetchStatus(host: string, port: number): Promise<StatusDocument> {
  const where = `http://${host.includes(':') ? `[${host}]` : host}:${port}/status`;
  return new Promise((resolve, reject) => {
    const req = request({ host, port, path: '/status', method: 'GET', timeout: TIMEOUT_MS }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => {
        const body = Buffer.concat(chunks).toString('utf8');
        if (res.statusCode === 404) return reject(new Error(`${where} answered 404: that daemon has no /status (the reference flanneld, or a flannel-ts older than this command)`));
        if (res.statusCode !== 200) return reject(new Error(`${where} answered ${res.statusCode}: ${body.trim().slice(0, 200)}`));
        try {
          const doc = JSON.parse(body) as StatusDocument;
          if (typeof doc !== 'object' || doc === null || !Array.isArray(doc.peers) || typeof doc.summary !== 'object') throw new Error('not a status document');
          resolve(doc);
        } catch (e) {
          reject(new Error(`${where} answered something that is not flanneld's status: ${(e as Error).message}`));
        }
      });
      res.on('error', reject);
    });
    req.on('timeout', () => req.destroy(new Error(`no answer within ${TIMEOUT_MS / 1000} s`)));
    req.on('error', (e: NodeJS.ErrnoException) => {
      const hint = e.code === 'ECONNREFUSED' ? ` (is flanneld running with --healthz-ip=${host} --healthz-port=${port}?)` : '';
      reject(new Error(`cannot read ${where}: ${e.code ?? e.message}${hint}`));
    });
    req.end();
  });
}

/** "12 s ago", "3 min ago", "2 h ago", relative to the document's own time. */
function ago(iso: string | null, now: number): string {
  if (iso === null) return '-';
  const s = Math.max(0, Math.round((now - Date.parse(iso)) / 1000));
  if (s < 120) return `${s} s ago`;
  if (s < 7200) return `${Math.round(s / 60)} min ago`;
  return `${Math.round(s / 3600)} h ago`;
}

function state(p: PeerDocument): string {
  if (p.reachable === null) return 'unknown';
  return p.reachable ? 'reachable' : 'unreachable';
}

function mtuText(p: PeerDocument): string {
  const m = p.mtu;
  if (m.state === 'ok') return `ok (${m.size})`;
  if (m.state === 'too-small') return `TOO SMALL: ${m.size} lost, ${m.works} pass`;
  return m.state;
}

function table(rows: string[][]): string {
  const widths = rows[0]!.map((_, i) => Math.max(...rows.map((r) => (r[i] ?? '').length)));
  return rows.map((r) => r.map((c, i) => (i === r.length - 1 ? c : c.padEnd(widths[i]! + 2))).join('').trimEnd()).join('\n');
}

export function renderText(doc: StatusDocument): string {
  const now = Date.parse(doc.time);
  const out: string[] = [];
  out.push(`flanneld ${doc.version}: ${doc.ready ? 'ready' : 'NOT READY'}, backend ${doc.backend ?? '(not yet)'}, MTU ${doc.mtu ?? '-'}`);
  if (doc.lease) {
    const subnets = [doc.lease.subnet, doc.lease.ipv6Subnet].filter((s) => s !== null).join(' and ');
    const ips = [doc.lease.publicIP, doc.lease.publicIPv6].filter((s) => s !== null).join(', ');
    out.push(`lease:  ${subnets} (public IP ${ips})${doc.lease.expiration ? `, expires ${doc.lease.expiration}` : ''}`);
  } else {
    out.push('lease:  none yet');
  }
  const s = doc.store;
  out.push(`store:  ${s.name}, ${s.connected ? 'connected' : 'RECONNECTING'}, last event ${ago(s.lastEvent, now)}, ${s.leasesKnown} other leases followed`);
  if (s.degraded) out.push(`        ${s.degraded}`);
  out.push(doc.probes.enabled ? `probes: every ${doc.probes.intervalSeconds} s per peer (at most 50/s in all)` : 'probes: off (--peer-probe-interval=0)');
  if (doc.peers.length > 0) {
    const rows = [['PEER', 'PUBLIC IP', 'PROBED', 'STATE', 'RTT', 'SINCE', 'PATH MTU']];
    for (const p of doc.peers) {
      rows.push([p.subnet, p.publicIP, p.probeAddress, state(p), p.lastRttMs === null ? '-' : `${p.lastRttMs.toFixed(2)} ms`, ago(p.lastChange, now), mtuText(p)]);
    }
    out.push('', table(rows));
  }
  const sum = doc.summary;
  const mtu = sum.mtuProblems > 0 ? `; ${sum.mtuProblems} with a path-MTU problem` : '';
  out.push('', `${sum.peers} peer${sum.peers === 1 ? '' : 's'}: ${sum.reachable} reachable, ${sum.unreachable} unreachable, ${sum.unknown} unknown${mtu}`);
  return `${out.join('\n')}\n`;
}
