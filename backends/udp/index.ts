// The udp backend as a module (backends/module.ts); the design note is in backend.ts. It reads no
// BackendData (a peer is its PublicIP), so every lease the shared acceptance rule lets through is usable.
import { overlayProbeTargets, type BackendModule } from '../module.js';

export const udp: BackendModule = {
  type: 'udp',
  async create(ctx, deps) {
    const [{ createUdpBackend }, { openUdpLoop }] = await Promise.all([import('./backend.js'), import('../../native/udp.js')]);
    return createUdpBackend(ctx, deps.native(), openUdpLoop);
  },
  leaseDataValidator: () => null,
  // The peer's flannel0 holds its subnet's network address: the probe crosses our packet loop and its.
  probeTargets: (config) => overlayProbeTargets(config, { 4: 'flannel0', 6: 'flannel0' }),
  async diagnose(input) {
    const { checkUdp } = await import('./diagnose.js');
    return checkUdp(input);
  },
};
