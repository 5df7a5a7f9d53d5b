// The wireguard backend as a module (backends/module.ts); the design note is in backend.ts. Another
// host's lease must carry a usable BackendData (BackendV6Data with IPv6): a 32-byte base64 PublicKey
// and a Port in 0..65535.
import { overlayProbeTargets, type BackendModule } from '../module.js';
import { decodeLeaseData } from './lease-data.js';

export const wireguard: BackendModule = {
  type: 'wireguard',
  async create(ctx, deps) {
    const [{ createWireguardBackend }, { openWireGuard, dataPathFromEnv }] = await Promise.all([import('./backend.js'), import('../../native/wireguard.js')]);
    return createWireguardBackend(ctx, deps.native(), await openWireGuard({ dataPath: dataPathFromEnv() }));
  },
  leaseDataValidator(config) {
    return (attrs, lease) => {
      const checks: Array<[unknown, 'BackendData' | 'BackendV6Data']> = [];
      if (config.enableIPv4) checks.push([attrs.backendData, 'BackendData']);
      if (config.enableIPv6 && lease.ipv6Subnet) checks.push([attrs.backendV6Data, 'BackendV6Data']);
      for (const [raw, field] of checks) {
        const d = decodeLeaseData(raw, field);
        if (typeof d === 'string') return d;
      }
      return null;
    };
  },
  probeTargets(config) {
    // Mode "separate" (the default) puts IPv6 on flannel-wg-v6; the single-tunnel modes carry both on flannel-wg.
    const mode = typeof config.backend.Mode === 'string' ? config.backend.Mode : 'separate';
    return overlayProbeTargets(config, { 4: 'flannel-wg', 6: mode === 'separate' ? 'flannel-wg-v6' : 'flannel-wg' });
  },
  mtuAdvice: (works) => `Set "MTU": ${works + 80} in the wireguard Backend config (the device and the pods then get ${works})`,
  async diagnose(input) {
    const [{ checkWireguard }, { openWireGuard, dataPathFromEnv }] = await Promise.all([import('./diagnose.js'), import('../../native/wireguard.js')]);
    const wg = await openWireGuard({ probeLink: false, dataPath: dataPathFromEnv() });
    try {
      return await checkWireguard(input, wg);
    } finally {
      wg.close();
    }
  },
};
