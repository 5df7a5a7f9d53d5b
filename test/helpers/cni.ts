// A tiny CNI runtime for tests: runs the plugins of a conflist in turn as libcni does, inside a
// host namespace the test made (never the root one).
//
// API
//   const cniPath = await flannelCniPath(tmpDir)
//       [<tmpDir>/bin with `flannel` linked to dist/cni/flannel, '/usr/lib/cni'] (Debian's plugins)
//   const result = await cniAdd(conflist, opts)   ADD through every plugin in order, each given the
//       list's name and cniVersion, the previous plugin's result as prevResult, and runtimeConfig
//       for the capabilities it declares (from opts.capabilityArgs). Resolves with the last result;
//       caches it (per network name, container ID, interface) for cniCheck and cniDel.
//   await cniCheck(conflist, opts)                CHECK in order with the cached result (>= 0.4.0)
//   await cniDel(conflist, opts)                  DEL in reverse order; prevResult = the cached result
//       for >= 0.4.0 (none for 0.3.1, as libcni); forgets the cached result
//   await execPlugin(type, command, config, opts) one plugin, one command; resolves with its stdout
//   const addrs = await attachPod(conflist, opts) makes the pod namespace opts.netns (loopback up) and
//       ADDs it; resolves with its addresses as the result gives them (10.244.1.2/24)
//   KUBE_FLANNEL_CONFLIST                         the conflist kube-flannel.yml installs (0.3.1, portmap)
//   A plugin failure rejects with CniPluginError (plugin, command, code, msg, details, stderr).
//
// opts: { hostNetns, netns, containerId, ifName = 'eth0', cniPath, cniArgs?, capabilityArgs?,
//         nodeRoot?, timeoutMs = 30000 }
//   hostNetns  the namespace the plugins run in (the "node"); required
//   netns      the pod namespace: a name from `ip netns` or a path
//   nodeRoot   a directory standing in for the node's own state: the plugins then run in a private
//              mount namespace where /run/flannel is <nodeRoot>/run/flannel and /var/lib is
//              <nodeRoot>/var/lib. So a conflist without subnetFile/dataDir works as given (the
//              flannel plugin reads <nodeRoot>/run/flannel/subnet.env, host-local keeps its store in
//              <nodeRoot>/var/lib/cni/networks/<name>) and hosts sharing this machine's filesystem
//              do not share these files. Start that host's flanneld with
//              --subnet-file=<nodeRoot>/run/flannel/subnet.env. /run/netns stays visible.
import { execFile, spawn } from 'node:child_process';
import { mkdir, stat, symlink } from 'node:fs/promises';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

export interface ConfList {
  name: string;
  cniVersion: string;
  plugins: Array<Record<string, unknown>>;
}

/** The conflist kube-flannel.yml's ConfigMap installs (cni-conf.json). */
export const KUBE_FLANNEL_CONFLIST: ConfList = {
  name: 'cbr0',
  cniVersion: '0.3.1',
  plugins: [
    { type: 'flannel', delegate: { hairpinMode: true, isDefaultGateway: true } },
    { type: 'portmap', capabilities: { portMappings: true } },
  ],
};

export type CniCommand = 'ADD' | 'DEL' | 'CHECK' | 'STATUS' | 'GC';

export interface CniRunOptions {
  hostNetns: string;
  netns: string;
  containerId: string;
  ifName?: string;
  cniPath: string[];
  cniArgs?: string;
  capabilityArgs?: Record<string, unknown>;
  nodeRoot?: string;
  timeoutMs?: number;
}

export type CniResult = Record<string, unknown>;

export class CniPluginError extends Error {
  override readonly name = 'CniPluginError';
  constructor(
    readonly plugin: string,
    readonly command: CniCommand,
    readonly exitCode: number | null,
    readonly code: number | undefined,
    readonly msg: string,
    readonly details: string,
    readonly stderr: string,
  ) {
    super(`${plugin} ${command} failed (exit ${exitCode}): ${code !== undefined ? `code ${code}: ` : ''}${msg}${details ? ` (${details})` : ''}`);
  }
}

const cache = new Map<string, CniResult>();
// This file runs as dist/test/helpers/cni.js; the plugin is dist/cni/flannel (built by `npm run build`).
const PLUGIN = fileURLToPath(new URL('../../cni/flannel', import.meta.url));

/** Makes <dir>/bin with `flannel` -> dist/cni/flannel and returns it with /usr/lib/cni. Safe to call twice. */
export async function flannelCniPath(dir: string): Promise<string[]> {
  const bin = join(dir, 'bin');
  await mkdir(bin, { recursive: true });
  await symlink(PLUGIN, join(bin, 'flannel')).catch((e: NodeJS.ErrnoException) => {
    if (e.code !== 'EEXIST') throw e;
  });
  return [bin, '/usr/lib/cni'];
}

export async function cniAdd(conflist: ConfList | string, opts: CniRunOptions): Promise<CniResult> {
  const list = parseList(conflist);
  let prev: CniResult | null = null;
  for (const plugin of list.plugins) {
    const out = await execPlugin(pluginType(plugin), 'ADD', pluginConfig(list, plugin, prev, opts), opts);
    prev = JSON.parse(out) as CniResult;
  }
  if (prev === null) throw new Error(`conflist ${list.name} has no plugins`);
  cache.set(cacheKey(list, opts), prev);
  return prev;
}

export async function cniCheck(conflist: ConfList | string, opts: CniRunOptions, prevResult?: CniResult): Promise<void> {
  const list = parseList(conflist);
  const prev = prevResult ?? cache.get(cacheKey(list, opts)) ?? null;
  for (const plugin of list.plugins) await execPlugin(pluginType(plugin), 'CHECK', pluginConfig(list, plugin, prev, opts), opts);
}

export async function cniDel(conflist: ConfList | string, opts: CniRunOptions, prevResult?: CniResult): Promise<void> {
  const list = parseList(conflist);
  const withPrev = versionAtLeast(list.cniVersion, '0.4.0');
  const prev = withPrev ? (prevResult ?? cache.get(cacheKey(list, opts)) ?? null) : null;
  for (const plugin of [...list.plugins].reverse()) {
    await execPlugin(pluginType(plugin), 'DEL', pluginConfig(list, plugin, prev, opts), opts);
  }
  cache.delete(cacheKey(list, opts));
}

/** Runs one plugin found in opts.cniPath inside opts.hostNetns; rejects with CniPluginError. */
export async function execPlugin(type: string, command: CniCommand, config: object, opts: CniRunOptions): Promise<string> {
  const path = await findInPath(type, opts.cniPath);
  const argv = ['netns', 'exec', opts.hostNetns, ...(opts.nodeRoot ? privateMounts(opts.nodeRoot) : []), path];
  const r = await run('ip', argv, JSON.stringify(config), pluginEnv(command, opts), opts.timeoutMs ?? 30_000);
  if (r.exitCode === 0) return r.stdout;
  let e: { code?: number; msg?: string; details?: string } = {};
  try {
    e = JSON.parse(r.stdout) as typeof e;
  } catch {
    e = { msg: r.stdout.trim() || r.stderr.trim() };
  }
  throw new CniPluginError(type, command, r.exitCode, e.code, e.msg ?? '', e.details ?? '', r.stderr);
}

function parseList(conflist: ConfList | string): ConfList {
  return typeof conflist === 'string' ? (JSON.parse(conflist) as ConfList) : conflist;
}

function pluginType(plugin: Record<string, unknown>): string {
  if (typeof plugin['type'] !== 'string') throw new Error(`plugin without a type: ${JSON.stringify(plugin)}`);
  return plugin['type'];
}

/** libcni's buildOneConfig: name and cniVersion from the list, prevResult, runtimeConfig by capability. */
function pluginConfig(list: ConfList, plugin: Record<string, unknown>, prev: CniResult | null, opts: CniRunOptions): object {
  const conf: Record<string, unknown> = { ...plugin, name: list.name, cniVersion: list.cniVersion };
  if (prev !== null) conf['prevResult'] = prev;
  const caps = (plugin['capabilities'] ?? {}) as Record<string, boolean>;
  const rc: Record<string, unknown> = {};
  for (const [cap, on] of Object.entries(caps)) if (on && opts.capabilityArgs && cap in opts.capabilityArgs) rc[cap] = opts.capabilityArgs[cap];
  if (Object.keys(rc).length > 0) conf['runtimeConfig'] = rc;
  return conf;
}

function pluginEnv(command: CniCommand, opts: CniRunOptions): NodeJS.ProcessEnv {
  const nodeDir = dirname(process.execPath);
  return {
    ...process.env,
    PATH: `${process.env['PATH'] ?? '/usr/sbin:/usr/bin:/sbin:/bin'}:${nodeDir}`,
    CNI_COMMAND: command,
    CNI_CONTAINERID: opts.containerId,
    CNI_NETNS: opts.netns.includes('/') ? opts.netns : `/run/netns/${opts.netns}`,
    CNI_IFNAME: opts.ifName ?? 'eth0',
    CNI_ARGS: opts.cniArgs ?? '',
    CNI_PATH: opts.cniPath.join(':'),
  };
}

/** `unshare` + mounts giving the plugin the node's own /run/flannel and /var/lib (see the header). */
/**
 * argv prefix that runs a command with `<root>/run` mounted over /run (and `<root>/var/lib` over
 * /var/lib) in a private mount namespace, /run/netns still shared: a simulated host's own /run/flannel
 * and /var/run/wireguard. Nothing propagates back to the root mount namespace.
 */
export function privateMounts(root: string): string[] {
  const script = [
    'set -e',
    'mkdir -p "$R/run/netns" "$R/run/flannel" "$R/var/lib/cni"',
    'mount --rbind /run/netns "$R/run/netns"',
    'mount --rbind "$R/run" /run',
    'mount --bind "$R/var/lib" /var/lib',
    'exec "$@"',
  ].join('\n');
  return ['env', `R=${resolve(root)}`, 'unshare', '--mount', '--propagation', 'private', 'sh', '-c', script, 'cni-plugin'];
}

async function findInPath(type: string, dirs: string[]): Promise<string> {
  for (const dir of dirs) {
    const p = join(dir, type);
    if (await stat(p).then((s) => s.isFile(), () => false)) return p;
  }
  throw new Error(`failed to find plugin "${type}" in path [${dirs.join(' ')}]`);
}

function cacheKey(list: ConfList, opts: CniRunOptions): string {
  return `${list.name}|${opts.containerId}|${opts.ifName ?? 'eth0'}`;
}

function versionAtLeast(a: string, b: string): boolean {
  const pa = a.split('.').map(Number);
  const pb = b.split('.').map(Number);
  for (let i = 0; i < 3; i++) if ((pa[i] ?? 0) !== (pb[i] ?? 0)) return (pa[i] ?? 0) > (pb[i] ?? 0);
  return true;
}

interface RunResult {
  exitCode: number | null;
  stdout: string;
  stderr: string;
}

/** Runs argv with stdin; kills it by PID after timeoutMs. */
function run(cmd: string, argv: string[], stdin: string, env: NodeJS.ProcessEnv, timeoutMs: number): Promise<RunResult> {
  return new Promise((resolveRun, reject) => {
    const child = spawn(cmd, argv, { env, stdio: ['pipe', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (b: Buffer) => (stdout += b.toString()));
    child.stderr.on('data', (b: Buffer) => (stderr += b.toString()));
    const timer = setTimeout(() => child.pid && process.kill(child.pid, 'SIGKILL'), timeoutMs);
    child.once('error', (e) => {
      clearTimeout(timer);
      reject(e);
    });
    child.once('close', (code) => {
      clearTimeout(timer);
      resolveRun({ exitCode: code, stdout, stderr });
    });
    child.stdin.end(stdin);
  });
}

/** Makes the pod namespace `opts.netns` (loopback up) and ADDs it; its addresses as the result gives them (with the prefix length). */
export async function attachPod(conflist: ConfList | string, opts: CniRunOptions): Promise<string[]> {
  const ip = (...args: string[]): Promise<void> =>
    new Promise((resolveIp, reject) => execFile('ip', args, (err, _out, stderr) => (err ? reject(new Error(`ip ${args.join(' ')}: ${stderr || err.message}`)) : resolveIp())));
  await ip('netns', 'add', opts.netns);
  await ip('-n', opts.netns, 'link', 'set', 'lo', 'up');
  const result = (await cniAdd(conflist, opts)) as { ips?: Array<{ address: string }> };
  return (result.ips ?? []).map((x) => x.address);
}
