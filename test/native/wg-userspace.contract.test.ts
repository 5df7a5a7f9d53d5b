// The WireGuard contract against wireguard-go, run in a namespace of the test's own with a private mount
// namespace whose /run is a temp folder (wireguard-go's /var/run/wireguard is not per network namespace).
import { mkdir, mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { openNative } from '../../native/kernel.js';
import { UserspaceWireGuard } from '../../native/wg-userspace.js';
import { TestBed } from '../helpers/netns.js';
import { describeWgContract } from './wg-contract.js';

describe('WireGuard contract: wireguard-go in a fresh network namespace @netns', function () {
  this.timeout(20_000);
  describeWgContract(async () => {
    const bed = await TestBed.single('wgc');
    const run = await mkdtemp(join(tmpdir(), 'fl-wgc-'));
    const dir = join(run, 'wireguard');
    await mkdir(dir);
    const native = openNative({ netns: bed.prefix });
    const script = 'mount --bind "$0" /run && exec wireguard-go -f "$1"';
    const wg = new UserspaceWireGuard({
      socketDir: dir,
      pollMs: 50,
      command: (name) => ['ip', 'netns', 'exec', bed.prefix, 'unshare', '--mount', '--propagation', 'private', 'sh', '-c', script, run, name],
    });
    return {
      wg,
      linkGet: (n) => native.linkGet(n),
      kill: async (n) => void process.kill(Number(await readFile(join(dir, `${n}.pid`), 'utf8')), 'SIGKILL'),
      teardown: async () => {
        wg.close();
        await native.close();
        await bed.destroy(); // kills the wireguard-go processes left in the namespace
        await rm(run, { recursive: true, force: true });
      },
    };
  });
});
