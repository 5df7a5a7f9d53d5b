// Diagnose applies flanneld's acceptance rule (issue 12) to the store's leases, so that it expects in
// the kernel only the leases flanneld programs, and lists the ones flanneld ignores and why.
import { findBackendModule } from '../backends.js';
import { rulesFor } from '../../subnet-lease/acceptance.js';
import { LeaseAcceptor, type RejectedLease } from '../../subnet-lease/acceptor.js';
import type { NetworkConfig } from '../../subnet-lease/config.js';
import { hasIPv4, type Lease } from '../../subnet-lease/lease.js';

export function screenLeases(config: NetworkConfig, own: Lease, leases: readonly Lease[], kube: boolean): { accepted: Lease[]; rejected: RejectedLease[] } {
  const ownIdentity = { subnet: hasIPv4(own) ? own.subnet : null, ipv6Subnet: own.ipv6Subnet, publicIP: own.attrs.publicIP, publicIPv6: own.attrs.publicIPv6 };
  const acceptor = new LeaseAcceptor(rulesFor(config, !kube, findBackendModule(config.backendType)?.leaseDataValidator(config) ?? null), () => ownIdentity, () => undefined);
  const others = leases.filter((l) => l !== own);
  const accepted = acceptor.apply(others.map((lease) => ({ type: 'added' as const, lease }))).map((e) => e.lease);
  return { accepted, rejected: acceptor.rejections() };
}
