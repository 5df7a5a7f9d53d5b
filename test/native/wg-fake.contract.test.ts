import { FakeNative } from '../../native/fake.js';
import { FakeWireGuard } from '../../native/wg-fake.js';
import { describeWgContract } from './wg-contract.js';

describe('WireGuard contract: FakeWireGuard', () => {
  describeWgContract(async () => {
    const native = new FakeNative();
    const wg = new FakeWireGuard(native);
    return { wg, linkGet: (n) => native.linkGet(n), kill: async (n) => wg.kill(n), teardown: async () => wg.close() };
  });
});
