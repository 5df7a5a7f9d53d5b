import { expect } from 'chai';
import type { EntryEvent } from '../../native/types.js';
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
      const other = openNative({ netns: ns });
      const eth0 = (await native.linkGet('eth0'))!;
      return {
        native,
        other,
        eth0,
        readSysctl: (key) => bed.exec(ns, ['cat', `/proc/sys/${key}`]),
        teardown: async () => {
          await native.close();
          await other.close();
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

  it('leaves out the echoes of its own route and neighbour writes (a start with N peers would decode 2N of them), not those of another writer', async () => {
    const env = await makeEnv();
    try {
      const n = env.native;
      const dev = await n.linkAddVxlan({ name: 'flannel.1', vni: 1, mtu: 1450, link: env.eth0.index, local: '198.18.0.1', learning: false, gbp: false });
      await n.linkSet(dev.index, { up: true });
      const events: EntryEvent[] = [];
      const stop = n.watchEntries((e) => events.push(e));
      await n.apply([
        { op: 'neigh.replace', neigh: { ifindex: dev.index, ip: '10.244.5.0', mac: '0a:00:00:00:00:05' } },
        { op: 'route.replace', route: { dst: '10.244.5.0/24', gateway: '10.244.5.0', ifindex: dev.index, onlink: true } },
        { op: 'fdb.replace', fdb: { ifindex: dev.index, mac: '0a:00:00:00:00:05', dst: '198.18.0.5' } },
      ]);
      // Someone else's write after ours: once it has arrived, ours would have too.
      await env.other.neighReplace({ ifindex: dev.index, ip: '10.244.6.0', mac: '0a:00:00:00:00:06' });
      for (let i = 0; i < 200 && !events.some((e) => e.type === 'neigh' && e.neigh.ip === '10.244.6.0'); i++) await new Promise((r) => setTimeout(r, 10));
      stop();
      const seen = events.map((e) => (e.type === 'neigh' ? `neigh ${e.neigh.ip}` : e.type === 'route' ? `route ${e.route.dst}` : e.type === 'fdb' ? `fdb ${e.fdb.mac}` : e.type));
      expect(seen).to.include('neigh 10.244.6.0');
      expect(seen).to.not.include('neigh 10.244.5.0');
      expect(seen).to.not.include('route 10.244.5.0/24');
      // The vxlan driver sends FDB notifications without the writer's portid: they still arrive.
      expect(seen).to.include('fdb 0a:00:00:00:00:05');
    } finally {
      await env.teardown();
    }
  });
});
