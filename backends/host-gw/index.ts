// The host-gw backend as a module (backends/module.ts); the design note is in backend.ts. It reads no
// BackendData: the route's gateway is the PublicIP, which the shared acceptance rule checks.
import type { BackendModule } from '../module.js';

export const hostGw: BackendModule = {
  type: 'host-gw',
  async create(ctx, deps) {
    const { createHostGwBackend } = await import('./backend.js');
    return createHostGwBackend(ctx, deps.native());
  },
  leaseDataValidator: () => null,
  async diagnose(input) {
    const { checkHostGw } = await import('./diagnose.js');
    return checkHostGw(input);
  },
};
