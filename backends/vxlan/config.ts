// The vxlan part of the network config (`Backend` object, keys case-insensitive like Go's decoder),
// with the reference's defaults: VNI 1, Port 0 (not sent: the kernel's 8472), MTU 0 (the external
// interface's), and GBP, Learning, DirectRouting off.
import { getField } from '../../common/json.js';
import type { TxChecksumMode } from './offload.js';

export class VxlanConfigError extends Error {
  override readonly name = 'VxlanConfigError';
  constructor(
    message: string,
    readonly field: string,
  ) {
    super(message);
  }
}

export interface VxlanConfig {
  vni: number;
  /** 0: IFLA_VXLAN_PORT is not sent. */
  port: number;
  /** 0: use the external interface's MTU as the base. */
  mtu: number;
  gbp: boolean;
  learning: boolean;
  directRouting: boolean;
  /** Transmit checksum offload on the devices (flannel-ts only): "auto" (off on affected kernels), "on", "off". */
  txChecksumOffload: TxChecksumMode;
}

const OFFLOAD_MODES: readonly TxChecksumMode[] = ['auto', 'on', 'off'];

function offloadMode(obj: Record<string, unknown>): TxChecksumMode {
  const v = getField(obj, 'TxChecksumOffload');
  if (v === undefined || v === null) return 'auto';
  if (typeof v !== 'string' || !OFFLOAD_MODES.includes(v as TxChecksumMode)) {
    throw new VxlanConfigError(`vxlan backend: TxChecksumOffload must be "auto", "on" or "off", got ${JSON.stringify(v)}`, 'Backend.TxChecksumOffload');
  }
  return v as TxChecksumMode;
}

function int(obj: Record<string, unknown>, field: string, dflt: number, max: number): number {
  const v = getField(obj, field);
  if (v === undefined || v === null) return dflt;
  if (typeof v !== 'number' || !Number.isInteger(v) || v < 0 || v > max) {
    throw new VxlanConfigError(`vxlan backend: ${field} must be an integer in 0..${max}, got ${JSON.stringify(v)}`, `Backend.${field}`);
  }
  return v;
}

function bool(obj: Record<string, unknown>, field: string): boolean {
  const v = getField(obj, field);
  if (v === undefined || v === null) return false;
  if (typeof v !== 'boolean') throw new VxlanConfigError(`vxlan backend: ${field} must be true or false, got ${JSON.stringify(v)}`, `Backend.${field}`);
  return v;
}

/** Decodes the Backend object; throws VxlanConfigError naming the field. Unknown keys are ignored, as Go does. */
export function parseVxlanConfig(backend: Record<string, unknown>): VxlanConfig {
  return {
    vni: int(backend, 'VNI', 1, 0xffffff),
    port: int(backend, 'Port', 0, 65535),
    mtu: int(backend, 'MTU', 0, 65535),
    gbp: bool(backend, 'GBP'),
    learning: bool(backend, 'Learning'),
    directRouting: bool(backend, 'DirectRouting'),
    txChecksumOffload: offloadMode(backend),
  };
}
