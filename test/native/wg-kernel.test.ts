// The kernel WireGuard data path against the real kernel, in a namespace of the test's own: generic
// netlink family resolution (nlctrl, ethtool and, where the kernel has none, wireguard), the rtnetlink
// link creation it uses, and the choice openWireGuard makes. On a kernel without WireGuard (this
// project's machines) that choice must be wireguard-go, with a `why` naming both failed attempts.
import { expect } from 'chai';
import { existsSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadAddon } from '../../native/addon.js';
import { encodeLinkAddKind } from '../../native/netlink/encode.js';
import { GENL_ID_CTRL, NETLINK_GENERIC, resolveFamily } from '../../native/netlink/genl.js';
import { Transport, answerError } from '../../native/netlink/transport.js';
import { deleteLink, linkByName, openRtnetlink } from '../../native/kernel.js';
import { addWireguardLink, openKernelWireGuard } from '../../native/wg-kernel.js';
import { dataPathFromEnv, openWireGuard } from '../../native/wireguard.js';
import { TestBed, netnsPath } from '../helpers/netns.js';

const hasModule = existsSync('/sys/module/wireguard');

describe('kernel WireGuard against the real kernel: family resolution, link, choice @netns', function () {
  this.timeout(20_000);
  let bed: TestBed;
  let genl: Transport;
  let rt: Transport;

  before(async () => {
    bed = await TestBed.single('wgk');
    genl = new Transport(new (loadAddon().NlSocket)(netnsPath(bed.prefix), NETLINK_GENERIC));
    rt = openRtnetlink(loadAddon(), netnsPath(bed.prefix));
  });
  after(async () => {
    await genl?.close();
    await rt?.close();
    await bed?.destroy();
  });

  it('resolves nlctrl to its fixed id and ethtool to the id `genl ctrl get` reports', async () => {
    expect(await resolveFamily(genl, 'nlctrl')).to.equal(GENL_ID_CTRL);
    const shown = await bed.exec(bed.prefix, ['genl', 'ctrl', 'get', 'name', 'ethtool']);
    const id = /\bID:\s*(0x[0-9a-f]+)/i.exec(shown);
    expect(id, shown).to.not.equal(null);
    expect(await resolveFamily(genl, 'ethtool')).to.equal(Number(id![1]));
  });

  it('says "generic netlink family wireguard not found" (ENOENT) where the kernel has no WireGuard', async function () {
    if (hasModule) this.skip();
    const err = await resolveFamily(genl, 'wireguard').then(() => null, (e: unknown) => e);
    expect(err).to.include({ name: 'NativeError', code: 'ENOENT', syscall: 'CTRL_CMD_GETFAMILY' });
    expect((err as Error).message).to.match(/^generic netlink family wireguard not found: /);
    const open = await openKernelWireGuard({ netns: bed.prefix }).then(() => null, (e: unknown) => e);
    expect(open).to.include({ code: 'ENOENT' });
  });

  it('creates, finds and deletes a link by kind over rtnetlink (here a bridge: the same request as for wireguard)', async () => {
    const [a] = await rt.request('link add', (w, next) => encodeLinkAddKind(w, 'wgk-br', 'bridge', next()));
    expect(answerError(a!, 'RTM_NEWLINK', 'link add')).to.equal(null);
    const link = await linkByName(rt, 'wgk-br');
    expect(link).to.include({ name: 'wgk-br', kind: 'bridge' });
    expect(await bed.ip(bed.prefix, '-d', 'link', 'show', 'wgk-br')).to.match(/bridge/);
    await deleteLink(rt, link!.index, 'link delete wgk-br');
    expect(await linkByName(rt, 'wgk-br')).to.equal(null);
  });

  it('fails to create a link of kind wireguard with EOPNOTSUPP where the kernel has no WireGuard', async function () {
    if (hasModule) this.skip();
    const err = await addWireguardLink(rt, 'flannel-wg').then(() => null, (e: unknown) => e);
    expect((err as { errno?: number }).errno).to.equal(95); // EOPNOTSUPP (Node names it ENOTSUP)
    expect(await linkByName(rt, 'flannel-wg')).to.equal(null);
  });

  it('openWireGuard picks wireguard-go and says why, leaving no probe link behind', async function () {
    if (hasModule) this.skip();
    const dir = await mkdtemp(join(tmpdir(), 'fl-wgk-'));
    try {
      const wg = await openWireGuard({ netns: bed.prefix, socketDir: dir });
      wg.close();
      expect(wg.kind).to.equal('userspace');
      expect(wg.why).to.equal(
        'userspace WireGuard (wireguard-go): the kernel has no WireGuard (generic netlink family wireguard not found, creating a link of kind wireguard failed: EOPNOTSUPP)',
      );
      expect((await bed.ip(bed.prefix, '-o', 'link', 'show')).trim().split('\n')).to.have.length(1); // only lo
      const quiet = await openWireGuard({ netns: bed.prefix, socketDir: dir, probeLink: false });
      quiet.close();
      expect(quiet.why).to.equal('userspace WireGuard (wireguard-go): the kernel has no WireGuard (generic netlink family wireguard not found)');
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  it('FLANNEL_TS_WIREGUARD_DATAPATH: userspace never asks the kernel, kernel fails naming why, a bad value is refused', async function () {
    const dir = await mkdtemp(join(tmpdir(), 'fl-wgk-'));
    try {
      const user = await openWireGuard({ netns: bed.prefix, socketDir: dir, dataPath: 'userspace' });
      user.close();
      expect(user.kind).to.equal('userspace');
      expect(user.why).to.equal('userspace WireGuard (wireguard-go): chosen by FLANNEL_TS_WIREGUARD_DATAPATH=userspace');
      if (!hasModule) {
        const err = await openWireGuard({ netns: bed.prefix, socketDir: dir, dataPath: 'kernel' }).then(() => null, (e: unknown) => e as Error);
        expect(err?.name).to.equal('WireGuardDataPathError');
        expect(err?.message).to.equal(
          'FLANNEL_TS_WIREGUARD_DATAPATH=kernel, but the kernel has no WireGuard (generic netlink family wireguard not found, creating a link of kind wireguard failed: EOPNOTSUPP)',
        );
        expect((await bed.ip(bed.prefix, '-o', 'link', 'show')).trim().split('\n')).to.have.length(1); // only lo
      }
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
    expect(dataPathFromEnv({})).to.equal('auto');
    expect(dataPathFromEnv({ FLANNEL_TS_WIREGUARD_DATAPATH: '' })).to.equal('auto');
    expect(dataPathFromEnv({ FLANNEL_TS_WIREGUARD_DATAPATH: 'userspace' })).to.equal('userspace');
    expect(() => dataPathFromEnv({ FLANNEL_TS_WIREGUARD_DATAPATH: 'Kernel' })).to.throw('FLANNEL_TS_WIREGUARD_DATAPATH="Kernel": must be auto, kernel or userspace');
  });

  it('openWireGuard picks the kernel where the kernel has WireGuard', async function () {
    if (!hasModule) this.skip();
    const wg = await openWireGuard({ netns: bed.prefix });
    wg.close();
    expect(wg.kind).to.equal('kernel');
    expect(wg.why).to.equal('kernel WireGuard (generic netlink family wireguard)');
  });
});
