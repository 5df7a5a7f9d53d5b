// The vxlan backend's check of another host's BackendData (issue 12), run by flanneld's acceptance
// rule before the backend sees the lease: VNI equal to ours, VtepMAC a unicast, non-zero MAC.
import type { LeaseAttrs } from '../../subnet-lease/lease.js';
import type { VxlanConfig } from './config.js';
import { decodeLeaseData } from './lease-data.js';

function checkData(raw: unknown, field: 'BackendData' | 'BackendV6Data', own: VxlanConfig): string | null {
  const data = decodeLeaseData(raw);
  if (typeof data === 'string') return data.replace(/^BackendData/, field);
  if (data.vni !== own.vni) return `${field}.VNI ${data.vni} is not our VNI ${own.vni}`;
  const first = Number.parseInt(data.vtepMac.slice(0, 2), 16);
  if (data.vtepMac === '00:00:00:00:00:00') return `${field}.VtepMAC ${data.vtepMac} is all zero`;
  if (first & 0x01) return `${field}.VtepMAC ${data.vtepMac} is a multicast or broadcast MAC`;
  return null;
}

/** Why the vxlan data of a lease is unusable, or null. `v4`/`v6`: the families the lease is used for. */
export function validateLeaseData(attrs: LeaseAttrs, own: VxlanConfig, families: { v4: boolean; v6: boolean }): string | null {
  if (families.v4) {
    const why = checkData(attrs.backendData, 'BackendData', own);
    if (why) return why;
  }
  return families.v6 ? checkData(attrs.backendV6Data, 'BackendV6Data', own) : null;
}
