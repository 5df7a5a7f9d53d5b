// The one list of backend modules: flanneld's start-up and `flanneld diagnose` both read it. Adding a
// backend is its folder under backends/ and one line here. Types the reference knows but flannel-ts does
// not implement yet are refused with a message saying so, never silently swapped for another.
import type { BackendModule } from '../backends/module.js';
import { alloc } from '../backends/alloc/index.js';
import { vxlan } from '../backends/vxlan/index.js';
import { hostGw } from '../backends/host-gw/index.js';
import { udp } from '../backends/udp/index.js';
import { extension } from '../backends/extension/index.js';
import { wireguard } from '../backends/wireguard/index.js';
import { FatalError } from './errors.js';

export const BACKENDS: readonly BackendModule[] = [alloc, vxlan, hostGw, udp, extension, wireguard];

const REFERENCE_ONLY = ['ipip', 'ipsec', 'tencent-vpc'];

/** The module for `type` (lower case), or undefined. */
export function findBackendModule(type: string): BackendModule | undefined {
  return BACKENDS.find((m) => m.type === type);
}

/** The module for `type`; FatalError naming the supported types when there is none. */
export function backendModule(type: string): BackendModule {
  const mod = findBackendModule(type);
  if (mod) return mod;
  const supported = BACKENDS.map((m) => m.type).join(', ');
  if (REFERENCE_ONLY.includes(type)) {
    throw new FatalError(`backend type "${type}" is not supported by flannel-ts yet; supported: ${supported}`);
  }
  throw new FatalError(`unknown backend type: "${type}" (Backend.Type in the network config); supported: ${supported}`);
}
