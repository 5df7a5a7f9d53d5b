// The vxlan backend as a module (backends/module.ts); the design note is in backend.ts.
import { overlayProbeTargets, type BackendModule } from '../module.js';
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
  probeTargets(config) {
    let vni = 1;
    try {
      vni = parseVxlanConfig(config.backend).vni;
    } catch {
      // create() names the bad field; the daemon never gets this far
    }
    return overlayProbeTargets(config, { 4: `flannel.${vni}`, 6: `flannel-v6.${vni}` });
  },
  mtuAdvice(works, family) {
    // The backend's MTU option is the underlay's: the device gets it minus the encapsulation (50 / 70).
    const overhead = family === 4 ? 50 : 70;
    return `Set "MTU": ${works + overhead} in the vxlan Backend config (the device and the pods then get ${works})`;
  },
  vtepMac(lease) {
    const d = decodeLeaseData(lease.attrs.backendData);
    return typeof d === 'string' ? '(invalid)' : d.vtepMac;
  },
};
