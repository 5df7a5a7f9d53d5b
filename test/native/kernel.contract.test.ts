import { openNative } from '../../native/kernel.js';
import { TestBed } from '../helpers/netns.js';
import { type ContractEnv, describeContract } from './contract.js';
import { describeEntryEvents, describeRouteGetMany } from './contract-entries.js';
import { describeRouteProtocol } from './contract-protocol.js';

describe('native contract: kernel in a fresh network namespace @netns', function () {
  this.timeout(20000);
  const makeEnv = async (): Promise<ContractEnv> => {
    const bed = await TestBed.single('nc');
    const ns = bed.prefix;
    try {
      await bed.ip(ns, 'link', 'add', 'eth0', 'type', 'veth', 'peer', 'name', 'peer0');
      await bed.ip(ns, 'addr', 'add', '198.18.0.1/24', 'dev', 'eth0');
      await bed.ip(ns, 'link', 'set', 'eth0', 'up');
      await bed.ip(ns, 'link', 'set', 'peer0', 'up');
      const native = openNative({ netns: ns });
      const eth0 = (await native.linkGet('eth0'))!;
      return {
        native,
        eth0,
        readSysctl: (key) => bed.exec(ns, ['cat', `/proc/sys/${key}`]),
        teardown: async () => {
          await native.close();
          await bed.destroy();
        },
      };
    } catch (e) {
      await bed.destroy();
      throw e;
    }
  };
  describeContract(makeEnv);
  describeEntryEvents(makeEnv);
  describeRouteGetMany(makeEnv);
  describeRouteProtocol(makeEnv);
});
