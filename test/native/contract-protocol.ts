// The contract for a route's protocol (rtm_protocol), run on the fake and on the kernel: a route
// installed with a protocol of its own lists with it, the default is RTPROT_BOOT, a delete naming a
// protocol leaves a route of another protocol alone, and a delete naming none matches any.
import { expect } from 'chai';
import { NativeArgumentError, NativeError } from '../../native/errors.js';
import type { Native } from '../../native/types.js';
import type { ContractEnv } from './contract.js';

const MINE = 0x9c;

async function code(p: Promise<unknown>): Promise<string> {
  try {
    await p;
  } catch (e) {
    expect(e).to.be.instanceOf(NativeError);
    return (e as NativeError).code;
  }
  throw new Error('expected a rejection');
}

export function describeRouteProtocol(makeEnv: () => Promise<ContractEnv>): void {
  describe('route protocol', () => {
    let env: ContractEnv;
    let n: Native;
    beforeEach(async () => {
      env = await makeEnv();
      n = env.native;
    });
    afterEach(async () => {
      await env?.teardown();
    });
    const find = async (dst: string) => (await n.routeList({ family: 4 })).filter((r) => r.dst === dst);

    it('installs a route with the protocol given, and RTPROT_BOOT without one', async () => {
      await n.routeReplace({ dst: '10.244.2.0/24', gateway: '198.18.0.2', ifindex: env.eth0.index, protocol: MINE });
      await n.routeReplace({ dst: '10.244.3.0/24', gateway: '198.18.0.3', ifindex: env.eth0.index });
      expect((await find('10.244.2.0/24')).map((r) => r.protocol)).to.deep.equal([MINE]);
      expect((await find('10.244.3.0/24')).map((r) => r.protocol)).to.deep.equal([3]);
    });

    it('replace rewrites the protocol of the route in the same slot', async () => {
      await n.routeReplace({ dst: '10.244.2.0/24', gateway: '198.18.0.2', ifindex: env.eth0.index });
      await n.routeReplace({ dst: '10.244.2.0/24', gateway: '198.18.0.2', ifindex: env.eth0.index, protocol: MINE });
      expect((await find('10.244.2.0/24')).map((r) => [r.gateway, r.protocol])).to.deep.equal([['198.18.0.2', MINE]]);
    });

    it('deletes only a route of the protocol named, and any route when none is named', async () => {
      await n.routeReplace({ dst: '10.244.2.0/24', gateway: '198.18.0.2', ifindex: env.eth0.index });
      expect(await code(n.routeDelete({ dst: '10.244.2.0/24', gateway: '198.18.0.2', protocol: MINE }))).to.equal('ESRCH');
      expect(await find('10.244.2.0/24')).to.have.length(1);
      await n.routeReplace({ dst: '10.244.2.0/24', gateway: '198.18.0.2', ifindex: env.eth0.index, protocol: MINE });
      await n.routeDelete({ dst: '10.244.2.0/24', gateway: '198.18.0.2', protocol: MINE });
      expect(await find('10.244.2.0/24')).to.deep.equal([]);
      await n.routeReplace({ dst: '10.244.2.0/24', gateway: '198.18.0.2', ifindex: env.eth0.index, protocol: MINE });
      await n.routeDelete({ dst: '10.244.2.0/24' });
      expect(await find('10.244.2.0/24')).to.deep.equal([]);
    });

    it('refuses a protocol outside 0..255', async () => {
      for (const protocol of [256, -1, 1.5]) {
        const p = n.routeReplace({ dst: '10.244.2.0/24', gateway: '198.18.0.2', protocol });
        await p.then(
          () => expect.fail(`protocol ${protocol} accepted`),
          (e: unknown) => expect(e).to.be.instanceOf(NativeArgumentError),
        );
      }
    });
  });
}
