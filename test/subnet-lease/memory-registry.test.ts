// The MemoryRegistry's own test controls: the injectable clock and TTL expiry, availability, forced
// re-snapshots, raw access. (Its Registry behaviour is covered by the shared contract.)
import { expect } from 'chai';
import { MemoryRegistry } from '../../subnet-lease/memory/registry.js';
import { ConfigNotFoundError, StoreUnavailableError, isRetryable } from '../../subnet-lease/store.js';
import { RecordingLogger } from '../helpers/recording-logger.js';
import { DAY, JSON_A, attrsA, attrsB, keysOf, net, rejection } from './registry-fixtures.js';
import { WatchProbe } from './watch-probe.js';

describe('MemoryRegistry test controls', () => {
  const signal = new AbortController().signal;
  let reg: MemoryRegistry;
  let probe: WatchProbe | undefined;
  beforeEach(() => {
    reg = new MemoryRegistry({ startMs: Date.UTC(2024, 0, 1), logger: new RecordingLogger() });
  });
  afterEach(async () => {
    await probe?.stop();
    probe = undefined;
    await reg.close();
  });

  it('computes expirations from its own clock', async () => {
    const lease = await reg.createSubnet(net('10.5.52.0/24'), null, attrsA, DAY, signal);
    expect(lease.expiration!.getTime()).to.equal(Date.UTC(2024, 0, 2));
    expect(reg.getRaw('10.5.52.0-24')!.expiresAt).to.equal(Date.UTC(2024, 0, 2));
  });

  it('advance() deletes leased keys when their TTL is up (not before), never reservations', async () => {
    await reg.createSubnet(net('10.5.52.0/24'), null, attrsA, DAY, signal);
    await reg.createSubnet(net('10.5.53.0/24'), null, attrsA, 3600, signal);
    await reg.updateSubnet(net('10.5.54.0/24'), null, attrsB, 0, signal);
    probe = new WatchProbe(reg);
    await probe.next('the snapshot');
    reg.advance(3600 * 1000 - 1);
    expect(reg.rawKeys()).to.deep.equal(['10.5.52.0-24', '10.5.53.0-24', '10.5.54.0-24']);
    reg.advance(1);
    expect(reg.rawKeys()).to.deep.equal(['10.5.52.0-24', '10.5.54.0-24']);
    const item = await probe.next('the removal');
    expect(item.kind === 'events' && item.events.map((e) => `${e.type} ${e.lease.subnet}`)).to.deep.equal(['removed 10.5.53.0/24']);
    reg.advance(400 * DAY * 1000);
    expect(reg.rawKeys()).to.deep.equal(['10.5.54.0-24']);
  });

  it('a renewal moves the expiry on', async () => {
    await reg.createSubnet(net('10.5.52.0/24'), null, attrsA, 3600, signal);
    reg.advance(3000 * 1000);
    await reg.updateSubnet(net('10.5.52.0/24'), null, attrsA, 3600, signal);
    reg.advance(3000 * 1000);
    expect(reg.rawKeys()).to.deep.equal(['10.5.52.0-24']);
  });

  it('expire() ends a leased key now, and refuses a reservation', async () => {
    reg.putRaw('10.5.52.0-24', JSON_A);
    reg.putRaw('10.5.53.0-24', JSON_A, { leased: false });
    expect(reg.expire(net('10.5.52.0/24'))).to.equal(true);
    expect(reg.expire(net('10.5.53.0/24'))).to.equal(false);
    expect(reg.rawKeys()).to.deep.equal(['10.5.53.0-24']);
  });

  it('setConfig(null) removes the config again', async () => {
    reg.setConfig('{}');
    expect(await reg.getNetworkConfig(signal)).to.equal('{}');
    reg.setConfig(null);
    expect(await rejection(reg.getNetworkConfig(signal))).to.be.instanceOf(ConfigNotFoundError);
  });

  it('setAvailable(false) fails every call with a retryable StoreUnavailableError until switched back', async () => {
    reg.setAvailable(false);
    const err = await rejection(reg.getSubnets(signal));
    expect(err).to.be.instanceOf(StoreUnavailableError);
    expect(isRetryable(err)).to.equal(true);
    expect(await rejection(reg.createSubnet(net('10.5.52.0/24'), null, attrsA, DAY, signal))).to.be.instanceOf(StoreUnavailableError);
    reg.setAvailable(true);
    expect(await reg.getSubnets(signal)).to.deep.equal([]);
  });

  it('forceResnapshot() makes an active watch send a fresh snapshot', async () => {
    probe = new WatchProbe(reg);
    await probe.next('the snapshot');
    reg.putRaw('10.5.52.0-24', JSON_A);
    await probe.next('the added event');
    reg.forceResnapshot();
    const item = await probe.next('the forced snapshot');
    expect(item.kind).to.equal('snapshot');
    expect(item.kind === 'snapshot' && keysOf(item.leases)).to.deep.equal(['10.5.52.0-24']);
  });

  it('a compaction does not disturb a watch that is up to date', async () => {
    probe = new WatchProbe(reg);
    await probe.next('the snapshot');
    reg.compact();
    reg.putRaw('10.5.52.0-24', JSON_A);
    expect((await probe.next('the added event')).kind).to.equal('events');
  });
});
