// The extension backend as a module (backends/module.ts); the design note is in backend.ts.
import type { BackendModule } from '../module.js';

export const extension: BackendModule = {
  type: 'extension',
  async create(ctx) {
    const { createExtensionBackend } = await import('./backend.js');
    return createExtensionBackend(ctx);
  },
  // Receivers decode BackendData as a JSON string (what PreStartupCommand printed) or find none.
  leaseDataValidator: () => (attrs) =>
    attrs.backendData === undefined || attrs.backendData === null || typeof attrs.backendData === 'string'
      ? null
      : `BackendData ${JSON.stringify(attrs.backendData).slice(0, 60)} is not a string (the extension backend passes it to SubnetAddCommand on stdin)`,
  async diagnose() {
    return [{ kind: 'note', text: 'the extension backend programs nothing itself: its commands do; nothing to compare' }];
  },
};
