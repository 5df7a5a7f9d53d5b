// Transmit checksum offload on the vxlan devices (issue 14 item 4). On some kernels the checksum of a
// VXLAN packet whose source port was SNATed (kube-proxy's masquerade, --random-fully) is computed wrong
// when offloaded, and the receiver drops it: TCP stalls ~63 s while ping works (flannel #1279, #2152).
// Like Calico (felix ChecksumOffloadBroken), "auto" turns it off on kernels <= 5.7.0 (and on a version it
// cannot read) and leaves it alone elsewhere, since off also turns TSO off and costs CPU. "on"/"off"
// force either way. Applied when a device is configured: at start-up and after it is recreated.

export type TxChecksumMode = 'auto' | 'on' | 'off';

/** What to do with a device's tx checksum offload: set it (true/false) or leave it (null), and why. */
export interface OffloadDecision {
  set: boolean | null;
  why: string;
}

/** [major, minor, patch] of a kernel release such as "6.18.44-fc-v1147" or "5.4.0-150-generic"; null when unreadable. */
export function kernelVersion(release: string): [number, number, number] | null {
  const m = /^(\d+)\.(\d+)(?:\.(\d+))?/.exec(release);
  return m ? [Number(m[1]), Number(m[2]), Number(m[3] ?? 0)] : null;
}

const FIXED_AFTER: [number, number, number] = [5, 7, 0];

function atMost(v: [number, number, number], limit: [number, number, number]): boolean {
  for (let i = 0; i < 3; i++) if (v[i] !== limit[i]) return v[i]! < limit[i]!;
  return true;
}

export function decideOffload(mode: TxChecksumMode, release: string): OffloadDecision {
  if (mode === 'on') return { set: true, why: 'TxChecksumOffload is "on"' };
  if (mode === 'off') return { set: false, why: 'TxChecksumOffload is "off"' };
  const v = kernelVersion(release);
  if (!v) return { set: false, why: `kernel release "${release}" cannot be read, so it is treated as affected (TxChecksumOffload "auto")` };
  if (atMost(v, FIXED_AFTER)) return { set: false, why: `kernel ${v.join('.')} is <= 5.7.0, where offloaded checksums of SNATed VXLAN packets can be wrong (TxChecksumOffload "auto")` };
  return { set: null, why: `kernel ${v.join('.')} is not affected (TxChecksumOffload "auto")` };
}
