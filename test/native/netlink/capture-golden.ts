// Captures the golden bytes of golden-bytes.ts: what iproute2 (`ip`, `bridge`) sends to the kernel for
// the writes flanneld makes, and what the kernel answers to the dumps it reads. Not a test: run it by
// hand, as root, when a case is added (`npm run build && node dist/test/native/netlink/capture-golden.js
// > test/native/netlink/golden-bytes.ts`). Everything happens in a network namespace of its own
// (fl-golden-<pid>), removed at the end; the bytes come from `strace -e write=… / read=…` hex dumps.
import { execFileSync, spawnSync } from 'node:child_process';

const NS = `fl-golden-${process.pid}`;

interface Capture {
  name: string;
  /** The command, for the reader. */
  command: string;
  /** Each netlink buffer the command sent (requests) or received (dump replies), as hex. */
  buffers: string[];
}

function sh(args: string[]): string {
  return execFileSync(args[0]!, args.slice(1), { encoding: 'utf8' });
}

/** The hex dumps strace printed for each sendmsg/recvmsg buffer on the netlink socket. */
function dumps(stderr: string, syscall: 'sendmsg' | 'recvmsg'): Buffer[] {
  const out: Buffer[] = [];
  let current: number[] | null = null;
  let take = false;
  for (const line of stderr.split('\n')) {
    if (/^(\[pid +\d+\] )?[a-z_0-9]+\(/.test(line)) {
      if (current) out.push(Buffer.from(current));
      current = null;
      take = line.includes(`${syscall}(`) && line.includes('AF_NETLINK');
      continue;
    }
    if (!take) continue;
    if (/^ \* \d+ bytes in buffer/.test(line)) {
      if (current) out.push(Buffer.from(current));
      current = [];
      continue;
    }
    const m = /^ \| [0-9a-f]{5}  ((?:[0-9a-f]{2} {1,2}){1,16})/.exec(line);
    if (m && current) current.push(...m[1]!.trim().split(/ +/).map((h) => parseInt(h, 16)));
  }
  if (current) out.push(Buffer.from(current));
  return out.filter((b) => b.length >= 16);
}

function run(name: string, cmd: string[], syscall: 'sendmsg' | 'recvmsg', want: (b: Buffer) => boolean): Capture {
  const res = straced(['ip', 'netns', 'exec', NS, 'strace', '-f', '-e', `trace=${syscall}`, '-e', `${syscall === 'sendmsg' ? 'write' : 'read'}=all`, ...cmd]);
  const buffers = dumps(res, syscall).filter(want).map((b) => b.toString('hex'));
  if (buffers.length === 0) throw new Error(`${name}: no netlink buffer captured from ${cmd.join(' ')}`);
  return { name, command: cmd.join(' '), buffers };
}

/** Runs `args` and returns its stderr, where strace writes the trace; the command's own output is dropped. */
function straced(args: string[]): string {
  const r = spawnSync(args[0]!, args.slice(1), { encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`${args.join(' ')} exited ${r.status}: ${r.stderr}`);
  return r.stderr;
}

const type = (b: Buffer): number => b.readUInt16LE(4);
const RTM_NEWROUTE = 24;
const RTM_DELROUTE = 25;
const RTM_NEWNEIGH = 28;
const RTM_DELNEIGH = 29;
const RTM_NEWLINK = 16;
const is = (...types: number[]) => (b: Buffer) => types.includes(type(b));

function main(): void {
  const ip = (...a: string[]) => sh(['ip', '-n', NS, ...a]);
  sh(['ip', 'netns', 'add', NS]);
  try {
    ip('link', 'set', 'lo', 'up');
    ip('link', 'add', 'eth0', 'type', 'veth', 'peer', 'name', 'eth1');
    ip('link', 'set', 'eth0', 'up');
    ip('link', 'set', 'eth1', 'up');
    ip('addr', 'add', '198.18.0.1/24', 'dev', 'eth0');
    ip('-6', 'addr', 'add', 'fd00:198:18::1/64', 'dev', 'eth0', 'nodad');
    ip('link', 'add', 'flannel.1', 'address', '0a:00:00:00:00:01', 'type', 'vxlan', 'id', '1', 'local', '198.18.0.1', 'dev', 'eth0', 'nolearning', 'dstport', '0');
    ip('link', 'set', 'flannel.1', 'up');
    ip('link', 'add', 'flannel-v6.1', 'address', '0a:00:00:00:00:61', 'type', 'vxlan', 'id', '1', 'local', 'fd00:198:18::1', 'dev', 'eth0', 'nolearning', 'dstport', '0');
    ip('link', 'set', 'flannel-v6.1', 'up');
    const index = (dev: string): number => Number(/^(\d+):/.exec(ip('-o', 'link', 'show', dev))![1]);
    const links = { eth0: index('eth0'), 'flannel.1': index('flannel.1'), 'flannel-v6.1': index('flannel-v6.1') };
    const x = (...a: string[]) => ['ip', ...a];
    const b = (...a: string[]) => ['bridge', ...a];
    const requests: Capture[] = [
      run('vxlan route replace', x('route', 'replace', '10.244.3.0/24', 'via', '10.244.3.0', 'dev', 'flannel.1', 'onlink'), 'sendmsg', is(RTM_NEWROUTE)),
      run('vxlan route delete', x('route', 'del', '10.244.3.0/24', 'via', '10.244.3.0', 'dev', 'flannel.1', 'onlink'), 'sendmsg', is(RTM_DELROUTE)),
      run('host-gw route replace, proto 157', x('route', 'replace', '10.244.2.0/24', 'via', '198.18.0.2', 'dev', 'eth0', 'proto', '157'), 'sendmsg', is(RTM_NEWROUTE)),
      run('vxlan IPv6 route replace', x('-6', 'route', 'replace', 'fd00:10:244:3::/64', 'via', 'fd00:10:244:3::', 'dev', 'flannel-v6.1', 'onlink'), 'sendmsg', is(RTM_NEWROUTE)),
      run('neighbour replace, permanent', x('neigh', 'replace', '10.244.3.0', 'lladdr', '0a:00:00:00:00:03', 'dev', 'flannel.1', 'nud', 'permanent'), 'sendmsg', is(RTM_NEWNEIGH)),
      run('neighbour delete', x('neigh', 'del', '10.244.3.0', 'dev', 'flannel.1'), 'sendmsg', is(RTM_DELNEIGH)),
      run('fdb replace, self permanent', b('fdb', 'replace', '0a:00:00:00:00:03', 'dev', 'flannel.1', 'dst', '198.18.0.3', 'self', 'permanent'), 'sendmsg', is(RTM_NEWNEIGH)),
      run('fdb delete', b('fdb', 'del', '0a:00:00:00:00:03', 'dev', 'flannel.1', 'dst', '198.18.0.3', 'self'), 'sendmsg', is(RTM_DELNEIGH)),
    ];
    // State to dump: one peer's entries, as the vxlan backend writes them.
    ip('route', 'replace', '10.244.3.0/24', 'via', '10.244.3.0', 'dev', 'flannel.1', 'onlink');
    ip('neigh', 'replace', '10.244.3.0', 'lladdr', '0a:00:00:00:00:03', 'dev', 'flannel.1', 'nud', 'permanent');
    sh(['bridge', '-n', NS, 'fdb', 'replace', '0a:00:00:00:00:03', 'dev', 'flannel.1', 'dst', '198.18.0.3', 'self', 'permanent']);
    const replies: Capture[] = [
      run('route dump', x('route', 'show', 'table', 'main'), 'recvmsg', is(RTM_NEWROUTE)),
      run('neighbour dump', x('neigh', 'show', 'dev', 'flannel.1'), 'recvmsg', is(RTM_NEWNEIGH)),
      run('fdb dump', b('fdb', 'show', 'dev', 'flannel.1'), 'recvmsg', is(RTM_NEWNEIGH)),
      run('link dump of the vxlan device', x('-d', 'link', 'show', 'flannel.1'), 'recvmsg', is(RTM_NEWLINK)),
    ];
    const kernel = sh(['uname', '-r']).trim();
    const iproute = sh(['ip', '-V']).trim();
    process.stdout.write(
      `// Captured by capture-golden.ts (do not edit by hand): kernel ${kernel}, ${iproute}.\n` +
        `// Interface indexes in the capture's namespace: ${JSON.stringify(links)}.\n` +
        `export const LINKS = ${JSON.stringify(links)} as const;\n\n` +
        `export interface Golden {\n  name: string;\n  command: string;\n  buffers: readonly string[];\n}\n\n` +
        `export const REQUESTS: readonly Golden[] = ${JSON.stringify(requests, null, 2)};\n\n` +
        `export const REPLIES: readonly Golden[] = ${JSON.stringify(replies, null, 2)};\n`,
    );
  } finally {
    sh(['ip', 'netns', 'del', NS]);
  }
}

main();
