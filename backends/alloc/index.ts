// The alloc backend as a module (backends/module.ts): it only acquires a lease; nothing in the kernel.
import type { BackendModule } from '../module.js';

export const alloc: BackendModule = {
  type: 'alloc',
  async create(ctx) {
    const { createAllocBackend } = await import('./backend.js');
    return createAllocBackend(ctx);
  },
  leaseDataValidator: () => null,
  async diagnose() {
    return [{ kind: 'note', text: 'the alloc backend programs nothing in the kernel; nothing to compare' }];
  },
};
