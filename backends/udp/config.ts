// The udp part of the network config (`Backend` object, keys case-insensitive like Go's decoder):
// only `Port`, default 8285, as the reference.
import { getField } from '../../common/json.js';

export class UdpConfigError extends Error {
  override readonly name = 'UdpConfigError';
  constructor(
    message: string,
    readonly field: string,
  ) {
    super(message);
  }
}

export interface UdpConfig {
  port: number;
}

export const DEFAULT_UDP_PORT = 8285;

/** Decodes the Backend object; throws UdpConfigError naming the field. Unknown keys are ignored, as Go does. */
export function parseUdpConfig(backend: Record<string, unknown>): UdpConfig {
  const v = getField(backend, 'Port');
  if (v === undefined || v === null || v === 0) return { port: DEFAULT_UDP_PORT };
  if (typeof v !== 'number' || !Number.isInteger(v) || v < 1 || v > 65535) {
    throw new UdpConfigError(`udp backend: Port must be an integer in 1..65535, got ${JSON.stringify(v)}`, 'Backend.Port');
  }
  return { port: v };
}
