// What `flanneld diagnose` found, and how it is shown: a list of leases, then one line per finding
// ("missing: …", "stale: …", "device: …", "note: …") and a summary. Exit code 0 when nothing is missing,
// stale or wrong; 1 otherwise (notes alone do not fail the check).
import type { RejectedLease } from '../../subnet-lease/acceptor.js';
import type { Finding, FindingKind } from '../../backends/module.js';
import { formatIP4 } from '../../common/ip.js';
import { describeSubnets, publicAddress, type Lease } from '../../subnet-lease/lease.js';
import { findBackendModule } from '../backends.js';

export interface Report {
  backend: string;
  own: Lease;
  leases: readonly Lease[];
  findings: Finding[];
  /** Leases flanneld's acceptance rule ignores (never programmed), with why. */
  rejected?: readonly RejectedLease[];
}

/** Exit code: 0 all matches, 1 something missing, stale or wrong. */
export function exitCode(report: Report): 0 | 1 {
  return report.findings.some((f) => f.kind !== 'note') ? 1 : 0;
}

function vtepMac(lease: Lease): string {
  return findBackendModule(lease.attrs.backendType ?? '')?.vtepMac?.(lease) ?? '-';
}

function count(report: Report, kind: FindingKind): number {
  return report.findings.filter((f) => f.kind === kind).length;
}

export function renderText(report: Report): string {
  const lines = [`leases known (${report.leases.length}), backend ${report.backend}:`];
  for (const l of report.leases) {
    const mine = l === report.own ? '  (this host)' : '';
    lines.push(`  ${describeSubnets(l)}  public IP ${publicAddress(l) ?? '(none)'}  backend ${l.attrs.backendType || '(none)'}  VTEP MAC ${vtepMac(l)}${mine}`);
  }
  const rejected = report.rejected ?? [];
  if (rejected.length > 0) lines.push(`leases ignored by the acceptance rule, never programmed (${rejected.length}):`);
  for (const r of rejected) lines.push(`  ${r.key}: ${r.rejection.field} ${r.rejection.why} [${r.rejection.reason}]`);
  for (const f of report.findings) lines.push(`${f.kind}: ${f.text}`);
  const [m, s, d] = [count(report, 'missing'), count(report, 'stale'), count(report, 'device')];
  const verdict = exitCode(report) === 0 ? 'OK: the kernel matches the leases' : 'PROBLEMS FOUND';
  lines.push(`summary: ${m} missing, ${s} stale, ${d} device problems; ${verdict}`);
  return `${lines.join('\n')}\n`;
}

export function renderJson(report: Report): string {
  const byKind = (k: FindingKind): string[] => report.findings.filter((f) => f.kind === k).map((f) => f.text);
  return `${JSON.stringify({
    ok: exitCode(report) === 0,
    backend: report.backend,
    leases: report.leases.map((l) => ({
      subnet: l.subnet.toString(),
      publicIP: formatIP4(l.attrs.publicIP),
      backendType: l.attrs.backendType ?? '',
      vtepMac: vtepMac(l),
      own: l === report.own,
    })),
    rejected: (report.rejected ?? []).map((r) => ({ key: r.key, reason: r.rejection.reason, field: r.rejection.field, why: r.rejection.why })),
    missing: byKind('missing'),
    stale: byKind('stale'),
    device: byKind('device'),
    notes: byKind('note'),
  })}\n`;
}
