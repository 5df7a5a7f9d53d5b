// The WireGuard contract against the kernel's WireGuard, in a namespace of the test's own: the device is
// a link of kind wireguard, configured over generic netlink. Skipped with its reason (the @wgkernel
// requirement in test/helpers/requirements.ts) where the kernel has no WireGuard, as on the machines
// this project is built on.
import { openNative } from '../../native/kernel.js';
import { openKernelWireGuard } from '../../native/wg-kernel.js';
import { TestBed } from '../helpers/netns.js';
import { describeWgContract } from './wg-contract.js';

describe("WireGuard contract: the kernel's WireGuard in a fresh network namespace @netns @wgkernel", function () {
  this.timeout(20_000);
  describeWgContract(async () => {
    const bed = await TestBed.single('wgkc');
    try {
      const native = openNative({ netns: bed.prefix });
      const wg = await openKernelWireGuard({ netns: bed.prefix });
      return {
        wg,
        linkKind: 'wireguard',
        unsetPort: 'zero',
        linkGet: (n) => native.linkGet(n),
        kill: async (n) => void (await bed.ip(bed.prefix, 'link', 'del', n)),
        teardown: async () => {
          wg.close();
          await native.close();
          await bed.destroy();
        },
      };
    } catch (e) {
      await bed.destroy();
      throw e;
    }
  });
});
