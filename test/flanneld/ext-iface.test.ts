// External interface selection (fact sheet §1a) on a multi-homed host namespace, through the real
// kernel: each option picks the expected interface and address; errors name every attempt.
import { expect } from 'chai';
import { type ChildProcess } from 'node:child_process';
import { parseArgs } from '../../flanneld/cli.js';
import { chooseExternalInterface, type IfaceOptions, InterfaceError } from '../../flanneld/ext-iface.js';
import { openNative, type Native } from '../../native/index.js';
import { formatIP4, formatIP6 } from '../../common/ip.js';
import { TestBed } from '../helpers/netns.js';

describe('external interface selection on a multi-homed namespace host @netns', function () {
  this.timeout(60_000);
  let bed: TestBed;
  let h: string;
  let native: Native;
  let sleeper: ChildProcess;
  let inet6Path: string;

  before(async () => {
    bed = await TestBed.single('iface');
    h = bed.prefix;
    const ip = (...a: string[]) => bed.ip(h, ...a);
    for (const [i, name] of ['eth0', 'eth1', 'eth2', 'eth3'].entries()) {
      await ip('link', 'add', name, 'type', 'veth', 'peer', 'name', `p${i}`);
      await ip('link', 'set', name, 'up');
      await ip('link', 'set', `p${i}`, 'up');
    }
    await ip('addr', 'add', '169.254.5.5/16', 'dev', 'eth0'); // link-local first: must lose to the global one
    await ip('addr', 'add', '198.18.0.1/24', 'dev', 'eth0');
    await ip('addr', 'add', '198.18.0.9/24', 'dev', 'eth0');
    await ip('addr', 'add', '198.18.1.1/24', 'dev', 'eth1');
    await ip('addr', 'add', '198.18.2.1/24', 'dev', 'eth2');
    await ip('addr', 'add', '169.254.7.7/16', 'dev', 'eth3');
    // The kernel lists IPv6 addresses newest first: the permanent one comes last in its dump.
    await ip('addr', 'add', 'fd00:1::6/64', 'dev', 'eth1', 'nodad'); // permanent: the one to use
    await ip('addr', 'add', 'fd00:1::5/64', 'dev', 'eth1', 'nodad', 'valid_lft', '3000', 'preferred_lft', '3000'); // dynamic
    await ip('addr', 'add', 'fd00:1::9/64', 'dev', 'eth1', 'nodad', 'preferred_lft', '0'); // deprecated
    await ip('addr', 'add', 'fd00:2::1/64', 'dev', 'eth2', 'nodad');
    await ip('route', 'add', 'default', 'via', '198.18.1.254', 'dev', 'eth1');
    await ip('-6', 'route', 'add', 'default', 'via', 'fd00:1::fe', 'dev', 'eth1');
    await ip('route', 'add', '198.18.50.0/24', 'via', '198.18.2.254', 'dev', 'eth2', 'src', '198.18.2.1');
    await ip('link', 'set', 'eth2', 'mtu', '1400');
    native = openNative({ netns: h });
    // /proc/net/if_inet6 is per namespace: read the host's through a process living in it.
    sleeper = bed.spawn(h, ['sleep', '600']);
    await new Promise((r) => setTimeout(r, 300));
    // `ip netns exec` execs the command, so the pid is sleep's own.
    inet6Path = `/proc/${sleeper.pid}/net/if_inet6`;
  });
  after(async () => {
    await native?.close();
    await bed?.destroy();
  });

  const choose = (o: Partial<IfaceOptions>) => chooseExternalInterface({ iface: [], publicIP: '', inet6Path, ...o }, native);
  const pick = async (o: Partial<IfaceOptions>) => {
    const e = await choose(o);
    return { name: e.name, addr: formatIP4(e.ifaceAddr), ext: formatIP4(e.extAddr), v6: e.ifaceV6Addr === null ? null : formatIP6(e.ifaceV6Addr), mtu: e.mtu };
  };

  it('without flags: the default route interface and its preferred address', async () => {
    expect(await pick({})).to.include({ name: 'eth1', addr: '198.18.1.1', ext: '198.18.1.1', v6: null });
  });

  it('--iface by name, by address (that address is used), and in order: first match wins', async () => {
    expect(await pick({ iface: ['eth2'] })).to.include({ name: 'eth2', addr: '198.18.2.1', mtu: 1400 });
    expect(await pick({ iface: ['eth0'] })).to.include({ name: 'eth0', addr: '198.18.0.1' }); // global before link-local
    expect(await pick({ iface: ['198.18.0.9'] })).to.include({ name: 'eth0', addr: '198.18.0.9' });
    expect(await pick({ iface: ['eth9', '198.18.7.7', 'eth2', 'eth0'] })).to.include({ name: 'eth2' });
  });

  it('--iface-regex: addresses first, then names, tried only after every --iface failed', async () => {
    expect(await pick({ ifaceRegex: ['^198\\.18\\.2\\.'] })).to.include({ name: 'eth2', addr: '198.18.2.1' });
    expect(await pick({ ifaceRegex: ['\\.0\\.9$'] })).to.include({ name: 'eth0', addr: '198.18.0.9' });
    expect(await pick({ ifaceRegex: ['^eth3$'] })).to.include({ name: 'eth3', addr: '169.254.7.7' }); // only a link-local: it will do
    expect(await pick({ iface: ['eth9'], ifaceRegex: ['^nomatch', '^eth0$'] })).to.include({ name: 'eth0', addr: '198.18.0.1' });
    expect(await pick({ iface: ['eth2'], ifaceRegex: ['^eth0$'] })).to.include({ name: 'eth2' });
  });

  it('--iface-can-reach: the interface and source address of the route to that address, tried last', async () => {
    expect(await pick({ ifaceCanReach: '198.18.50.7' })).to.include({ name: 'eth2', addr: '198.18.2.1' });
    expect(await pick({ ifaceCanReach: '198.18.0.77' })).to.include({ name: 'eth0', addr: '198.18.0.1' });
    expect(await pick({ iface: ['eth9'], ifaceRegex: ['^zz'], ifaceCanReach: '198.18.50.7' })).to.include({ name: 'eth2' });
  });

  it('--public-ip: the interface holding it, else the default route interface; it is the address others use', async () => {
    expect(await pick({ publicIP: '198.18.0.9' })).to.include({ name: 'eth0', addr: '198.18.0.9', ext: '198.18.0.9' });
    expect(await pick({ publicIP: '203.0.113.5' })).to.include({ name: 'eth1', addr: '198.18.1.1', ext: '203.0.113.5' });
    expect(await pick({ iface: ['eth2'], publicIP: '203.0.113.5' })).to.include({ name: 'eth2', addr: '198.18.2.1', ext: '203.0.113.5' });
  });

  it('an empty --iface or --iface-regex (microk8s: --iface="") means the default-route interface', async () => {
    const flags = parseArgs(['--iface=', '--ip-masq=true'], { FLANNELD_IFACE: 'eth2' });
    if (flags.kind !== 'run') throw new Error('expected run');
    expect(flags.flags.iface).to.deep.equal(['']); // FLANNELD_IFACE is ignored: the flag is set
    expect(await pick({ iface: flags.flags.iface })).to.include({ name: 'eth1', addr: '198.18.1.1' });
    expect(await pick({ ifaceRegex: [''] })).to.include({ name: 'eth1', addr: '198.18.1.1' });
    // Unlike no flag at all, --public-ip does not choose the interface here: it is only advertised.
    expect(await pick({ iface: [''], publicIP: '198.18.0.9' })).to.include({ name: 'eth1', addr: '198.18.1.1', ext: '198.18.0.9' });
    expect(await pick({ iface: ['eth9', '', 'eth2'] })).to.include({ name: 'eth1' });
  });

  it('dual stack: IPv6 address preference skips deprecated and dynamic addresses; --public-ipv6 overrides', async () => {
    expect(await pick({ ipv6: true })).to.include({ name: 'eth1', v6: 'fd00:1::6' });
    const e = await choose({ ipv6: true, iface: ['eth2'], publicIPv6: 'fd00:99::1' });
    expect(formatIP6(e.ifaceV6Addr!)).to.equal('fd00:2::1');
    expect(formatIP6(e.extV6Addr!)).to.equal('fd00:99::1');
  });

  it('IPv6-only: the ::/0 route\'s interface and an IPv6 address; no IPv4 address or IPv4 default route needed', async () => {
    await bed.ip(h, 'link', 'add', 'eth4', 'type', 'veth', 'peer', 'name', 'p4');
    await bed.ip(h, 'link', 'set', 'eth4', 'up');
    await bed.ip(h, 'addr', 'add', 'fd00:4::1/64', 'dev', 'eth4', 'nodad');
    await bed.ip(h, 'route', 'del', 'default');
    try {
      const v6only = { ipv4: false, ipv6: true };
      expect(await pick(v6only)).to.include({ name: 'eth1', addr: '0.0.0.0', ext: '0.0.0.0', v6: 'fd00:1::6' });
      expect(await pick({ ...v6only, iface: ['eth4'] })).to.include({ name: 'eth4', addr: '0.0.0.0', v6: 'fd00:4::1' });
      expect(await pick({ ...v6only, publicIPv6: 'fd00:4::1' })).to.include({ name: 'eth4', v6: 'fd00:4::1' });
      // the same host in IPv4 mode: no IPv4 default route, and eth4 has no IPv4 address
      await choose({}).then(() => expect.fail('IPv4 without a default route'), (e: Error) => expect(e.message).to.match(/no IPv4 default route/));
      await choose({ iface: ['eth4'] }).then(() => expect.fail('IPv4 on eth4'), (e: Error) => expect(e.message).to.include('failed to find IPv4 address for interface eth4'));
    } finally {
      await bed.ip(h, 'route', 'add', 'default', 'via', '198.18.1.254', 'dev', 'eth1');
      await bed.ip(h, 'link', 'del', 'eth4');
    }
  });

  it('fails with one message naming every attempt and the interfaces present', async () => {
    const err = await choose({ iface: ['eth9', '198.18.7.7'], ifaceRegex: ['^zz', '(['], ifaceCanReach: 'nope' }).then(
      () => null,
      (e: unknown) => e,
    );
    expect(err).to.be.instanceOf(InterfaceError);
    const m = (err as Error).message;
    for (const part of [
      '--iface=eth9 (no interface has that name)',
      '--iface=198.18.7.7 (no interface holds that address)',
      '--iface-regex=^zz (it matches no address and no interface name)',
      '--iface-regex=([ (not a valid regular expression',
      '--iface-can-reach=nope (not an IP address)',
      'eth0 [',
    ]) {
      expect(m).to.include(part);
    }
    // dual stack needs the same default-route interface for both families
    await bed.ip(h, '-6', 'route', 'replace', 'default', 'via', 'fd00:2::fe', 'dev', 'eth2');
    try {
      await choose({ ipv6: true }).then(() => expect.fail('dual stack with different default interfaces'), (e: Error) => expect(e.message).to.include('must be the same'));
    } finally {
      await bed.ip(h, '-6', 'route', 'replace', 'default', 'via', 'fd00:1::fe', 'dev', 'eth1');
    }
  });
});
