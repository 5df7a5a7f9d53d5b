// The one explicit map from backend type (lower case) to factory. Types the reference knows but
// flannel-ts does not implement yet are refused with a message saying so, never silently swapped.
import { createAllocBackend } from '../backends/alloc/alloc.js';
import type { BackendFactory } from '../backends/backend.js';
import { FatalError } from './errors.js';

const BACKENDS: ReadonlyMap<string, BackendFactory> = new Map<string, BackendFactory>([['alloc', createAllocBackend]]);

const REFERENCE_ONLY = ['vxlan', 'host-gw', 'udp', 'ipip', 'ipsec', 'wireguard', 'extension', 'tencent-vpc'];

export function backendFactory(type: string): BackendFactory {
  const factory = BACKENDS.get(type);
  if (factory) return factory;
  if (REFERENCE_ONLY.includes(type)) {
    throw new FatalError(`backend type "${type}" is not supported by flannel-ts yet; supported: ${[...BACKENDS.keys()].join(', ')}`);
  }
  throw new FatalError(`unknown backend type: "${type}" (Backend.Type in the network config); supported: ${[...BACKENDS.keys()].join(', ')}`);
}
