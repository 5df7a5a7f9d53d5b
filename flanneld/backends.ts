// The one explicit map from backend type (lower case) to factory; only flanneld knows the concrete
// backends and the real native layer. Types the reference knows but flannel-ts does not implement yet
// are refused with a message saying so, never silently swapped for another.
import { createAllocBackend } from '../backends/alloc/alloc.js';
import { createVxlanBackend } from '../backends/vxlan/index.js';
import { createHostGwBackend } from '../backends/host-gw/host-gw.js';
import { createUdpBackend } from '../backends/udp/index.js';
import { openUdpLoop } from '../native/udp.js';
import type { Backend, BackendContext } from '../backends/backend.js';
import type { Native } from '../native/index.js';
import { parseVxlanConfig, type VxlanConfig } from '../backends/vxlan/config.js';
import { validateLeaseData as validateVxlan } from '../backends/vxlan/lease-check.js';
import { validateLeaseData as validateHostGw } from '../backends/host-gw/lease-check.js';
import { validateLeaseData as validateUdp } from '../backends/udp/lease-check.js';
import type { LeaseDataValidator } from '../subnet-lease/acceptance.js';
import type { NetworkConfig } from '../subnet-lease/config.js';
import { FatalError } from './errors.js';

/** What a backend may need besides its context; `native()` opens the kernel layer on first use. */
export interface BackendDeps {
  native: () => Native;
}

type Factory = (ctx: BackendContext, deps: BackendDeps) => Backend;

const BACKENDS: ReadonlyMap<string, Factory> = new Map<string, Factory>([
  ['alloc', (ctx) => createAllocBackend(ctx)],
  ['vxlan', (ctx, deps) => createVxlanBackend(ctx, deps.native())],
  ['host-gw', (ctx, deps) => createHostGwBackend(ctx, deps.native())],
  ['udp', (ctx, deps) => createUdpBackend(ctx, deps.native(), openUdpLoop)],
]);

const REFERENCE_ONLY = ['ipip', 'ipsec', 'wireguard', 'extension', 'tencent-vpc'];

/** The factory for `type`; FatalError naming the supported types when there is none. */
export function backendFactory(type: string): Factory {
  const factory = BACKENDS.get(type);
  if (factory) return factory;
  const supported = [...BACKENDS.keys()].join(', ');
  if (REFERENCE_ONLY.includes(type)) {
    throw new FatalError(`backend type "${type}" is not supported by flannel-ts yet; supported: ${supported}`);
  }
  throw new FatalError(`unknown backend type: "${type}" (Backend.Type in the network config); supported: ${supported}`);
}

/**
 * The backend's own check of another host's lease data, for the acceptance rule (issue 12); null for
 * backends that read none. An invalid Backend config is left to the backend's factory to report.
 */
export function leaseDataValidator(config: NetworkConfig): LeaseDataValidator | null {
  switch (config.backendType) {
    case 'vxlan': {
      let own: VxlanConfig;
      try {
        own = parseVxlanConfig(config.backend);
      } catch {
        return null; // the backend's factory names the bad field
      }
      return (attrs, lease) => validateVxlan(attrs, own, { v4: config.enableIPv4, v6: config.enableIPv6 && lease.ipv6Subnet !== null });
    }
    case 'host-gw':
      return (attrs) => validateHostGw(attrs);
    case 'udp':
      return (attrs) => validateUdp(attrs);
    default:
      return null;
  }
}
