// The vxlan backend as a module (backends/module.ts); the design note is in backend.ts.
import type { BackendModule } from '../module.js';
import { parseVxlanConfig, type VxlanConfig } from './config.js';
import { decodeLeaseData } from './lease-data.js';
import { validateLeaseData } from './lease-check.js';

export const vxlan: BackendModule = {
  type: 'vxlan',
  async create(ctx, deps) {
    const { createVxlanBackend } = await import('./backend.js');
    return createVxlanBackend(ctx, deps.native());
  },
  leaseDataValidator(config) {
    let own: VxlanConfig;
    try {
      own = parseVxlanConfig(config.backend);
    } catch {
      return null; // create() names the bad field
    }
    return (attrs, lease) => validateLeaseData(attrs, own, { v4: config.enableIPv4, v6: config.enableIPv6 && lease.ipv6Subnet !== null });
  },
  async diagnose(input) {
    const { checkVxlan } = await import('./diagnose.js');
    return checkVxlan(input);
  },
  vtepMac(lease) {
    const d = decodeLeaseData(lease.attrs.backendData);
    return typeof d === 'string' ? '(invalid)' : d.vtepMac;
  },
};
