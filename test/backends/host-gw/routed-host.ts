// One more host for a TestBed, on another segment behind a router, for "not on the same L2 segment" tests:
//   router `${prefix}-rt`: eth0 198.18.0.253/24 on the bed's switch br0, bridge br1 198.18.1.254/24,
//                          forwarding on;
//   host   `${prefix}-h<n>`: eth0 198.18.1.<n>/24 on br1, default route via 198.18.1.254;
//   the switch and hosts 1..N of the bed: 198.18.1.0/24 via 198.18.0.253.
// Only namespaces under the bed's prefix are touched. `destroy()` deletes the two namespaces; a process
// 'exit' handler does the same should the run die first.
import { execFile, execFileSync } from 'node:child_process';
import { promisify } from 'node:util';
import type { TestBed } from '../../helpers/netns.js';

const run = promisify(execFile);
const live = new Set<string>();
let hooked = false;

function hookExit(): void {
  if (hooked) return;
  hooked = true;
  process.on('exit', () => {
    for (const ns of live) {
      try {
        execFileSync('ip', ['netns', 'del', ns], { stdio: 'ignore' });
      } catch {
        /* already gone */
      }
    }
  });
}

export interface RoutedHost {
  router: string;
  host: string;
  addr: string;
  destroy(): Promise<void>;
}

export async function addRoutedHost(bed: TestBed, n: number): Promise<RoutedHost> {
  hookExit();
  const router = `${bed.prefix}-rt`;
  const host = bed.host(n);
  const addr = `198.18.1.${n}`;
  const own: string[] = [];
  const destroy = async (): Promise<void> => {
    for (const ns of own.splice(0).reverse()) {
      await run('ip', ['netns', 'del', ns]).catch(() => undefined);
      live.delete(ns);
    }
  };
  try {
    for (const ns of [router, host]) {
      await run('ip', ['netns', 'add', ns]);
      live.add(ns);
      own.push(ns);
      await bed.ip(ns, 'link', 'set', 'lo', 'up');
    }
    await wire(bed, router, host, addr);
  } catch (e) {
    await destroy();
    throw e;
  }
  return { router, host, addr, destroy };
}

async function wire(bed: TestBed, router: string, host: string, addr: string): Promise<void> {
  await bed.ip(router, 'link', 'add', 'eth0', 'type', 'veth', 'peer', 'name', 'rt', 'netns', bed.sw);
  await bed.ip(bed.sw, 'link', 'set', 'rt', 'master', 'br0', 'up');
  await bed.ip(router, 'addr', 'add', '198.18.0.253/24', 'dev', 'eth0');
  await bed.ip(router, 'link', 'set', 'eth0', 'up');
  await bed.ip(router, 'link', 'add', 'br1', 'type', 'bridge');
  await bed.ip(router, 'addr', 'add', '198.18.1.254/24', 'dev', 'br1');
  await bed.ip(router, 'link', 'set', 'br1', 'up');
  await bed.exec(router, ['sysctl', '-qw', 'net.ipv4.ip_forward=1']);
  await bed.ip(router, 'link', 'add', 'far', 'type', 'veth', 'peer', 'name', 'eth0', 'netns', host);
  await bed.ip(router, 'link', 'set', 'far', 'master', 'br1', 'up');
  await bed.ip(host, 'addr', 'add', `${addr}/24`, 'dev', 'eth0');
  await bed.ip(host, 'link', 'set', 'eth0', 'up');
  await bed.ip(host, 'route', 'add', 'default', 'via', '198.18.1.254');
  await bed.exec(host, ['sysctl', '-qw', 'net.ipv4.ip_forward=1']);
  for (const ns of [bed.sw, ...Array.from({ length: bed.hosts }, (_, i) => bed.host(i + 1))]) {
    await bed.ip(ns, 'route', 'add', '198.18.1.0/24', 'via', '198.18.0.253');
  }
}
