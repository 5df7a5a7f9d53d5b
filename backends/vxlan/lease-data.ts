// The vxlan BackendData in a lease: `{"VNI":<n>,"VtepMAC":"<mac>"}`, byte for byte what the reference
// writes (Go marshals struct fields in declaration order), and its decoder for other hosts' leases.
import { getField } from '../../common/json.js';
import { parseMac } from './mac.js';

export interface VxlanLeaseData {
  vni: number;
  vtepMac: string;
}

/** The JSON value for LeaseAttrs.BackendData; key order matters for byte-exact output. */
export function encodeLeaseData(vni: number, vtepMac: string): { VNI: number; VtepMAC: string } {
  return { VNI: vni, VtepMAC: vtepMac };
}

/** Decodes another host's BackendData; returns a reason string when it is unusable. */
export function decodeLeaseData(raw: unknown): VxlanLeaseData | string {
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) return `BackendData is not a JSON object: ${JSON.stringify(raw)}`;
  const obj = raw as Record<string, unknown>;
  const vni = getField(obj, 'VNI');
  const mac = getField(obj, 'VtepMAC');
  if (vni !== undefined && vni !== null && (typeof vni !== 'number' || !Number.isInteger(vni) || vni < 0)) {
    return `BackendData.VNI must be a non-negative integer, got ${JSON.stringify(vni)}`;
  }
  const parsed = typeof mac === 'string' ? parseMac(mac) : null;
  if (!parsed) return `BackendData.VtepMAC must be a MAC address, got ${JSON.stringify(mac)}`;
  return { vni: typeof vni === 'number' ? vni : 0, vtepMac: parsed };
}
