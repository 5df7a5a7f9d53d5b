// The behaviour every Registry must have, checked on what is stored (read behind the registry's back
// through the harness), not on which calls were made. Run against the in-memory registry and etcd.
import { expect } from 'chai';
import { IP6Net } from '../../common/ip.js';
import { ConfigNotFoundError, LeaseStoreError, SubnetExistsError, isRetryable } from '../../subnet-lease/store.js';
import type { RegistryHarness } from './registry-harness.js';
import { DAY, JSON_A, JSON_B, attrsA, attrsB, keysOf, net, rejection } from './registry-fixtures.js';
import { registryWatchContract } from './registry-watch-contract.js';

/** Registers the contract in the current describe; `make` gives a fresh, empty store for each test. */
export function registryContract(make: () => Promise<RegistryHarness>): void {
  let h: RegistryHarness;
  let signal: AbortSignal;
  beforeEach(async () => {
    h = await make();
    signal = new AbortController().signal;
  });
  afterEach(async () => {
    await h.close();
  });

  describe('network config', () => {
    it('is ConfigNotFoundError (retryable, naming the key) while missing, then the exact text', async () => {
      const err = await rejection(h.registry.getNetworkConfig(signal));
      expect(err).to.be.instanceOf(ConfigNotFoundError);
      expect(isRetryable(err)).to.equal(true);
      expect(err.message).to.contain('flannel config not found in etcd store. Did you create your config using etcdv3 API?');
      expect(err.message).to.contain(`${h.prefix}/config`);
      const text = '{"Network":"10.244.0.0/16",  "Backend":{"Type":"vxlan"}}';
      await h.setConfig(text);
      expect(await h.registry.getNetworkConfig(signal)).to.equal(text);
    });
  });

  describe('createSubnet', () => {
    it('writes the exact key and the Go JSON, bound to a lease, and returns the expiration', async () => {
      const before = h.now();
      const lease = await h.registry.createSubnet(net('10.5.52.0/24'), null, attrsA, DAY, signal);
      expect(await h.getRaw('10.5.52.0-24')).to.deep.equal({ value: JSON_A, leased: true });
      expect(lease.reservation).to.equal(false);
      expect(lease.subnet.toString()).to.equal('10.5.52.0/24');
      const exp = lease.expiration!.getTime();
      expect(exp).to.be.within(before + DAY * 1000 - 2000, h.now() + DAY * 1000 + 2000);
    });

    it('writes a dual-stack key with the IPv4 part first', async () => {
      await h.registry.createSubnet(net('10.5.52.0/24'), IP6Net.parse('2001:cafe:42:1::/64'), attrsB, DAY, signal);
      expect(await h.getRaw('10.5.52.0-24&2001:cafe:42:1::-64')).to.deep.equal({ value: JSON_B, leased: true });
      const got = await h.registry.getSubnet(net('10.5.52.0/24'), IP6Net.parse('2001:cafe:42:1::/64'), signal);
      expect(got?.ipv6Subnet?.toString()).to.equal('2001:cafe:42:1::/64');
    });

    it('fails with SubnetExistsError on an existing key and leaves the key as it was', async () => {
      await h.putRaw('10.5.52.0-24', JSON_B, false);
      const err = await rejection(h.registry.createSubnet(net('10.5.52.0/24'), null, attrsA, DAY, signal));
      expect(err).to.be.instanceOf(SubnetExistsError);
      expect(isRetryable(err)).to.equal(true);
      expect(err.message).to.contain(`${h.prefix}/subnets/10.5.52.0-24`);
      expect(await h.getRaw('10.5.52.0-24')).to.deep.equal({ value: JSON_B, leased: false });
    });

    it('rejects with the abort reason when the signal is already aborted, writing nothing', async () => {
      const ac = new AbortController();
      ac.abort(new Error('shutting down'));
      const err = await rejection(h.registry.createSubnet(net('10.5.52.0/24'), null, attrsA, DAY, ac.signal));
      expect(err.message).to.equal('shutting down');
      expect(await h.getRaw('10.5.52.0-24')).to.equal(null);
    });
  });

  describe('updateSubnet', () => {
    it('with TTL 0 writes a reservation: no lease on the key, no expiration', async () => {
      await h.registry.createSubnet(net('10.5.52.0/24'), null, attrsA, DAY, signal);
      const lease = await h.registry.updateSubnet(net('10.5.52.0/24'), null, attrsB, 0, signal);
      expect(lease.reservation).to.equal(true);
      expect(lease.expiration).to.equal(undefined);
      expect(await h.getRaw('10.5.52.0-24')).to.deep.equal({ value: JSON_B, leased: false });
      const got = await h.registry.getSubnet(net('10.5.52.0/24'), null, signal);
      expect(got?.reservation).to.equal(true);
    });

    it('with a TTL overwrites the value on a new lease', async () => {
      await h.putRaw('10.5.52.0-24', JSON_B, false);
      const lease = await h.registry.updateSubnet(net('10.5.52.0/24'), null, attrsA, DAY, signal);
      expect(lease.reservation).to.equal(false);
      expect(lease.expiration!.getTime()).to.be.closeTo(h.now() + DAY * 1000, 5000);
      expect(await h.getRaw('10.5.52.0-24')).to.deep.equal({ value: JSON_A, leased: true });
      expect((await h.registry.getSubnet(net('10.5.52.0/24'), null, signal))?.reservation).to.equal(false);
    });
  });

  describe('getSubnet and deleteSubnet', () => {
    it('getSubnet decodes one key and returns null for a missing one', async () => {
      await h.putRaw('10.5.52.0-24', JSON_A, true);
      const got = await h.registry.getSubnet(net('10.5.52.0/24'), null, signal);
      expect(got?.attrs).to.deep.equal(attrsA);
      expect(got?.reservation).to.equal(false);
      expect(await h.registry.getSubnet(net('10.5.53.0/24'), null, signal)).to.equal(null);
    });

    it('deleteSubnet removes the key; deleting a missing key is no error', async () => {
      await h.putRaw('10.5.52.0-24', JSON_A, true);
      await h.registry.deleteSubnet(net('10.5.52.0/24'), null, signal);
      expect(await h.getRaw('10.5.52.0-24')).to.equal(null);
      await h.registry.deleteSubnet(net('10.5.52.0/24'), null, signal);
    });
  });

  describe('getSubnets', () => {
    it('returns the good leases and skips junk keys and bad values, naming each in a warning', async () => {
      await h.putRaw('10.5.52.0-24', JSON_A, true);
      await h.putRaw('10.5.53.0-24', JSON_B, false);
      await h.putRaw('10.5.54.0-24', 'this is not json', true);
      await h.putRaw('junk-key', JSON_A, true);
      await h.putRaw('10.5.55.0-24', '{"PublicIP":"300.1.2.3"}', true);
      const leases = await h.registry.getSubnets(signal);
      expect(keysOf(leases)).to.deep.equal(['10.5.52.0-24', '10.5.53.0-24']);
      const a = leases.find((l) => l.attrs.backendType === 'vxlan')!;
      const b = leases.find((l) => l.attrs.backendType === 'host-gw')!;
      expect([a.reservation, b.reservation]).to.deep.equal([false, true]);
      expect([a.expiration, b.expiration]).to.deep.equal([undefined, undefined]);
      const warnings = h.logs.messages('warn').join('\n');
      for (const bad of ['10.5.54.0-24', 'junk-key', '10.5.55.0-24']) expect(warnings).to.contain(`${h.prefix}/subnets/${bad}`);
      expect(warnings).to.not.contain('10.5.52.0-24');
    });

    it('is empty for an empty store', async () => {
      expect(await h.registry.getSubnets(signal)).to.deep.equal([]);
    });
  });

  describe('close', () => {
    it('is safe to call twice', async () => {
      await h.registry.close();
      await h.registry.close();
      const err = await rejection(h.registry.getSubnets(signal));
      expect(err).to.be.instanceOf(LeaseStoreError);
      expect(isRetryable(err)).to.equal(false);
    });
  });

  registryWatchContract(() => h);
}
