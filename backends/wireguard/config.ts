// The wireguard part of the network config (fact sheet §1.1): keys case-insensitive like Go's decoder,
// values not. Defaults: ListenPort 51820, ListenPortV6 51821, no PSK, PersistentKeepaliveInterval 0
// (off; an integer number of seconds), MTU 0 (the external interface's), Mode "separate".
import { getField } from '../../common/json.js';

export class WireguardConfigError extends Error {
  override readonly name = 'WireguardConfigError';
  constructor(
    message: string,
    readonly field: string,
  ) {
    super(message);
  }
}

export type WireguardMode = 'separate' | 'auto' | 'ipv4' | 'ipv6';
const MODES: readonly WireguardMode[] = ['separate', 'auto', 'ipv4', 'ipv6'];

export interface WireguardConfig {
  listenPort: number;
  listenPortV6: number;
  /** base64 of 32 bytes, or null. */
  psk: string | null;
  /** Seconds, 0 off. */
  persistentKeepalive: number;
  /** 0: the external interface's MTU is the base. */
  mtu: number;
  mode: WireguardMode;
}

function int(obj: Record<string, unknown>, field: string, dflt: number, max: number): number {
  const v = getField(obj, field);
  if (v === undefined || v === null) return dflt;
  if (typeof v !== 'number' || !Number.isInteger(v) || v < 0 || v > max) {
    throw new WireguardConfigError(`wireguard backend: ${field} must be an integer in 0..${max}, got ${JSON.stringify(v)}`, `Backend.${field}`);
  }
  return v;
}

function psk(obj: Record<string, unknown>): string | null {
  const v = getField(obj, 'PSK');
  if (v === undefined || v === null || v === '') return null;
  if (typeof v !== 'string' || !isKey(v)) {
    throw new WireguardConfigError(`wireguard backend: could not parse psk: PSK must be the base64 of 32 bytes (wg genpsk), got ${JSON.stringify(v)}`, 'Backend.PSK');
  }
  return v;
}

function mode(obj: Record<string, unknown>): WireguardMode {
  const v = getField(obj, 'Mode');
  if (v === undefined || v === null) return 'separate';
  if (typeof v !== 'string' || !MODES.includes(v as WireguardMode)) {
    throw new WireguardConfigError(`wireguard backend: no valid Mode configured: Mode must be one of ${MODES.join(', ')} (lower case), got ${JSON.stringify(v)}`, 'Backend.Mode');
  }
  return v as WireguardMode;
}

/** True for the standard base64 (with padding) of exactly 32 bytes. */
export function isKey(s: string): boolean {
  return /^[A-Za-z0-9+/]{43}=$/.test(s) && Buffer.from(s, 'base64').length === 32;
}

/** Decodes the Backend object; throws WireguardConfigError naming the field. Unknown keys are ignored, as Go does. */
export function parseWireguardConfig(backend: Record<string, unknown>): WireguardConfig {
  return {
    listenPort: int(backend, 'ListenPort', 51820, 65535),
    listenPortV6: int(backend, 'ListenPortV6', 51821, 65535),
    psk: psk(backend),
    persistentKeepalive: int(backend, 'PersistentKeepaliveInterval', 0, 65535),
    mtu: int(backend, 'MTU', 0, 65535),
    mode: mode(backend),
  };
}
