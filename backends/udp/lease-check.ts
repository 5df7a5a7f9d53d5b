// The udp backend's check of another host's lease data: it reads none (the peer is its PublicIP and
// subnet, both checked by the shared acceptance rule), so every lease passes.
import type { LeaseAttrs } from '../../subnet-lease/lease.js';

export function validateLeaseData(_attrs: LeaseAttrs): string | null {
  return null;
}
