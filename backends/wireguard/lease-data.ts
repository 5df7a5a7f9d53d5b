// The wireguard BackendData and BackendV6Data (fact sheet §1.4): {"PublicKey":"<base64 44>","Port":<u16>},
// in that field order, Port always present. Remote data without Port (or 0; flannel before Mar 2025)
// means "the port of our own device for that family".
import { getField } from '../../common/json.js';
import { isKey } from './config.js';

export interface WgLeaseData {
  publicKey: string;
  /** 0: not given. */
  port: number;
}

export function encodeLeaseData(publicKey: string, port: number): { PublicKey: string; Port: number } {
  return { PublicKey: publicKey, Port: port };
}

/** The data, or a text saying what is wrong with it (naming the field). */
export function decodeLeaseData(raw: unknown, field: 'BackendData' | 'BackendV6Data'): WgLeaseData | string {
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) return `${field} is not a JSON object: ${JSON.stringify(raw) ?? 'missing'}`;
  const obj = raw as Record<string, unknown>;
  const key = getField(obj, 'PublicKey');
  if (typeof key !== 'string' || !isKey(key)) return `${field}.PublicKey is not the base64 of a 32-byte key: ${JSON.stringify(key) ?? 'missing'}`;
  const port = getField(obj, 'Port');
  if (port === undefined || port === null) return { publicKey: key, port: 0 };
  if (typeof port !== 'number' || !Number.isInteger(port) || port < 0 || port > 65535) return `${field}.Port must be an integer in 0..65535, got ${JSON.stringify(port)}`;
  return { publicKey: key, port };
}
