import { FakeNative } from '../../native/fake.js';
import { type ContractEnv, describeContract } from './contract.js';
import { describeEntryEvents, describeRouteGetMany } from './contract-entries.js';
import { describeRouteProtocol } from './contract-protocol.js';

describe('native contract: FakeNative', () => {
  const makeEnv = async (): Promise<ContractEnv> => {
    const native = new FakeNative();
    const eth0 = native.addTestLink({ name: 'eth0', kind: 'veth', mtu: 1500 });
    await native.addrAdd({ ifindex: eth0.index, address: '198.18.0.1', prefixLen: 24 });
    return {
      native,
      other: native,
      eth0,
      readSysctl: async (key) => native.sysctls.get(key) ?? '',
      teardown: () => native.close(),
    };
  };
  describeContract(makeEnv);
  describeEntryEvents(makeEnv);
  describeRouteGetMany(makeEnv);
  describeRouteProtocol(makeEnv);
});
