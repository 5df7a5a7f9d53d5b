// The flannel plugin's network config (stdin), read by one validator. Field names match as Go's
// encoding/json matches them in the reference (case-insensitively, the last duplicate wins), and a
// JSON null leaves a field at its default, as it does there.
import { isValidNetworkName } from './env.js';
import { CniCode, CniError } from './errors.js';
import { FieldError, parseRoutes, type Route } from './routes.js';

export const DEFAULT_SUBNET_FILE = '/run/flannel/subnet.env';
export const DEFAULT_DATA_DIR = '/var/lib/cni/flannel';

export type JsonObject = Record<string, unknown>;

export interface FlannelNetConf {
  /** '' when the config has none. */
  cniVersion: string;
  name: string;
  subnetFile: string;
  dataDir: string;
  /** The delegate options; checked: no `name`, no `ipam`, a string `type` if any. */
  delegate: JsonObject | null;
  ipam: JsonObject | null;
  /** `ipam.routes`, re-encoded as the reference does. */
  ipamRoutes: Route[];
  runtimeConfig: JsonObject | null;
}

/** Decodes stdin; code 6 when it is not a JSON object. */
export function decodeNetConf(stdin: string): JsonObject {
  let raw: unknown;
  try {
    raw = JSON.parse(stdin);
  } catch (e) {
    throw new CniError(CniCode.DecodingFailure, 'failed to load netconf: stdin is not JSON', (e as Error).message);
  }
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) {
    throw new CniError(CniCode.DecodingFailure, 'failed to load netconf: stdin is not a JSON object', stdin.slice(0, 200));
  }
  return raw as JsonObject;
}

/** The config's cniVersion ('' when none), checked before the rest as libcni's skel does. */
export function peekVersion(o: JsonObject): string {
  try {
    return str(o, 'cniVersion', '');
  } catch (e) {
    if (e instanceof FieldError) throw new CniError(CniCode.DecodingFailure, e.message);
    throw e;
  }
}

/**
 * Validates a decoded config; code 7 naming the field and value when a field is bad. The checks of
 * the delegate's keys and of ipam.routes are ADD's only, as in the reference: a DEL after an ADD that
 * failed on them must still succeed, or the runtime could never tear the sandbox down.
 */
export function validateNetConf(o: JsonObject, command: 'ADD' | 'DEL' | 'CHECK' = 'ADD'): FlannelNetConf {
  try {
    return validate(o, command === 'ADD');
  } catch (e) {
    if (e instanceof FieldError) throw new CniError(CniCode.InvalidNetworkConfig, e.message);
    throw e;
  }
}

/** decodeNetConf and validateNetConf (for ADD) in one. */
export function parseNetConf(stdin: string): FlannelNetConf {
  return validateNetConf(decodeNetConf(stdin));
}

function validate(o: JsonObject, forAdd: boolean): FlannelNetConf {
  const name = str(o, 'name', '');
  if (name === '') throw new CniError(CniCode.InvalidNetworkConfig, 'missing network name', 'netconf field "name" is required');
  if (!isValidNetworkName(name)) {
    throw new CniError(CniCode.InvalidNetworkConfig, 'invalid characters found in network name', `netconf field "name" is "${name}"`);
  }
  const ipam = obj(o, 'ipam');
  return {
    cniVersion: str(o, 'cniVersion', ''),
    name,
    subnetFile: nonEmpty(o, 'subnetFile', DEFAULT_SUBNET_FILE),
    dataDir: nonEmpty(o, 'dataDir', DEFAULT_DATA_DIR),
    delegate: forAdd ? delegateOptions(o) : obj(o, 'delegate'),
    ipam,
    ipamRoutes: forAdd && ipam && Object.hasOwn(ipam, 'routes') ? parseRoutes(ipam['routes']) : [],
    runtimeConfig: obj(o, 'runtimeConfig'),
  };
}

/** The reference's checks and messages for the `delegate` dictionary. */
function delegateOptions(o: JsonObject): JsonObject | null {
  const d = obj(o, 'delegate');
  if (d === null) return null;
  const refuse = (msg: string, field: string): never => {
    throw new CniError(CniCode.InvalidNetworkConfig, msg, `netconf field "delegate.${field}" is ${JSON.stringify(d[field])}`);
  };
  if (Object.hasOwn(d, 'type') && typeof d['type'] !== 'string') refuse("'delegate' dictionary, if present, must have (string) 'type' field", 'type');
  if (Object.hasOwn(d, 'name')) refuse("'delegate' dictionary must not have 'name' field, it'll be set by flannel", 'name');
  if (Object.hasOwn(d, 'ipam')) refuse("'delegate' dictionary must not have 'ipam' field, it'll be set by flannel", 'ipam');
  return d;
}

/** The value of `field` matched as Go does: case-insensitively, the last match winning. */
function field(o: JsonObject, name: string): unknown {
  const folded = name.toLowerCase();
  let value: unknown;
  for (const [k, v] of Object.entries(o)) if (k.toLowerCase() === folded) value = v;
  return value;
}

function str(o: JsonObject, name: string, dflt: string): string {
  const v = field(o, name);
  if (v === undefined || v === null) return dflt;
  if (typeof v !== 'string') throw new FieldError(name, 'a string', v);
  return v;
}

function nonEmpty(o: JsonObject, name: string, dflt: string): string {
  const v = str(o, name, dflt);
  if (v === '') throw new FieldError(name, `a non-empty string (default ${dflt})`, v);
  return v;
}

function obj(o: JsonObject, name: string): JsonObject | null {
  const v = field(o, name);
  if (v === undefined || v === null) return null;
  if (typeof v !== 'object' || Array.isArray(v)) throw new FieldError(name, 'an object', v);
  return v as JsonObject;
}
