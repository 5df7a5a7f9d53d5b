// One contract, two registries: the in-memory one the lease-manager tests use, and etcd itself.
import { useEtcd } from '../helpers/etcd.js';
import { registryContract } from './registry-contract.js';
import { etcdHarness, memoryHarness } from './registry-harness.js';

describe('Registry contract: MemoryRegistry', () => {
  registryContract(async () => memoryHarness());
});

describe('Registry contract: EtcdRegistry @etcd', function () {
  this.timeout(30_000);
  const etcd = useEtcd();
  let n = 0;
  // Each test gets its own key prefix on the shared etcd, so no test sees another's keys.
  registryContract(() => etcdHarness(etcd(), `/flannel-ts-test/${process.pid}-${++n}`));
});
