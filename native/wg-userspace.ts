// WireGuard in userspace: Debian's wireguard-go, one process per device, started and supervised here
// and configured over its UAPI socket (<socketDir>/<name>.sock, wg-uapi.ts).
//
// The process is started detached (its own session, output to <socketDir>/<name>.log) and its PID
// written to <socketDir>/<name>.pid, so it outlives flanneld: a restart or an upgrade of flanneld does
// not cut pod traffic, and the next flanneld finds the device answering and adopts it. Supervision is
// the exit event for a process we started and a liveness poll of the PID for one we adopted; either
// reports the device lost, and the backend's repair recreates it and replays its configuration.
//
// wireguard-go keeps its socket in /var/run/wireguard whatever the network namespace: several
// simulated hosts on one machine each need a private mount namespace for that directory.
import { type ChildProcess, spawn } from 'node:child_process';
import { closeSync, openSync, readFileSync } from 'node:fs';
import { mkdir, readFile, unlink, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { setTimeout as delay } from 'node:timers/promises';
import { NativeError, nativeError } from './errors.js';
import { checkIfName } from './validate.js';
import { decodeGet, encodeSet, uapiRequest } from './wg-uapi.js';
import type { WgChange, WgDeviceState, WgLostEvent, WireGuard } from './wg-types.js';

export const UAPI_SOCKET_DIR = '/var/run/wireguard';

export interface UserspaceOptions {
  /** The wireguard-go binary (default: `wireguard-go` on the PATH). */
  binary?: string;
  /**
   * The argv that starts wireguard-go in the foreground for device `name` (default: [binary, '-f', name]).
   * Each step must exec the next, so the PID is wireguard-go's (tests wrap it in `ip netns exec …`).
   */
  command?: (name: string) => string[];
  /** Where wireguard-go keeps its sockets; only changeable for wireguard-go builds that agree. */
  socketDir?: string;
  /** How often an adopted process is checked for life (default 1000 ms). */
  pollMs?: number;
  /** How long a new process may take to answer on its socket (default 10 s). */
  startTimeoutMs?: number;
  why?: string;
}

interface Tracked {
  pid: number;
  child: ChildProcess | null;
  /** Set while we stop it ourselves, so its exit is not reported as lost. */
  stopping: boolean;
}

export class UserspaceWireGuard implements WireGuard {
  readonly kind = 'userspace' as const;
  readonly why: string;
  private readonly binary: string;
  private readonly dir: string;
  private readonly tracked = new Map<string, Tracked>();
  private readonly listeners = new Set<(e: WgLostEvent) => void>();
  private readonly poll: NodeJS.Timeout;
  private closed = false;

  constructor(private readonly opts: UserspaceOptions = {}) {
    this.binary = opts.binary ?? 'wireguard-go';
    this.dir = opts.socketDir ?? UAPI_SOCKET_DIR;
    this.why = opts.why ?? 'userspace WireGuard (wireguard-go)';
    this.poll = setInterval(() => this.checkAdopted(), opts.pollMs ?? 1000);
    this.poll.unref();
  }

  private sock(name: string): string {
    return join(this.dir, `${name}.sock`);
  }

  async getDevice(name: string): Promise<WgDeviceState | null> {
    checkIfName('wireguard get', name);
    try {
      return decodeGet(await uapiRequest(this.sock(name), 'get=1\n\n', `wireguard get ${name}`));
    } catch (e) {
      if (e instanceof NativeError && ['ENOENT', 'ECONNREFUSED', 'EPROTO', 'ETIMEDOUT'].includes(e.code)) return null;
      throw e;
    }
  }

  async configure(name: string, change: WgChange): Promise<void> {
    checkIfName('wireguard set', name);
    const request = encodeSet(change);
    try {
      await uapiRequest(this.sock(name), request, `wireguard set ${name}`);
    } catch (e) {
      if (e instanceof NativeError && (e.code === 'ENOENT' || e.code === 'ECONNREFUSED')) throw nativeError('ENODEV', 'uapi', `wireguard set ${name}: no wireguard-go answers on ${this.sock(name)}`);
      throw e;
    }
  }

  async ensureDevice(name: string): Promise<'existing' | 'created'> {
    checkIfName('wireguard device', name);
    if ((await this.getDevice(name)) !== null) {
      this.adopt(name);
      return 'existing';
    }
    await mkdir(this.dir, { recursive: true, mode: 0o755 });
    const child = this.start(name);
    const t: Tracked = { pid: child.pid ?? 0, child, stopping: false };
    this.tracked.set(name, t);
    try {
      await this.waitAnswering(name, child);
    } catch (e) {
      t.stopping = true;
      child.kill('SIGKILL');
      this.tracked.delete(name);
      throw e;
    }
    await writeFile(join(this.dir, `${name}.pid`), `${t.pid}\n`);
    return 'created';
  }

  /** `wireguard-go -f <name>`, detached, with its output in <dir>/<name>.log. */
  private start(name: string): ChildProcess {
    const logFd = openSync(join(this.dir, `${name}.log`), 'w', 0o600);
    try {
      const [file, ...args] = this.opts.command?.(name) ?? [this.binary, '-f', name];
      const child = spawn(file!, args, { detached: true, stdio: ['ignore', logFd, logFd], env: { ...process.env, LOG_LEVEL: 'error' } });
      child.unref();
      child.once('exit', (code, signal) => this.exited(name, child, code === null ? `killed by ${signal}` : `exited with code ${code}`));
      child.once('error', () => undefined); // ENOENT of the binary: reported by waitAnswering
      return child;
    } finally {
      closeSync(logFd);
    }
  }

  private async waitAnswering(name: string, child: ChildProcess): Promise<void> {
    const deadline = Date.now() + (this.opts.startTimeoutMs ?? 10_000);
    let spawnError: NodeJS.ErrnoException | null = null;
    child.once('error', (e: NodeJS.ErrnoException) => (spawnError = e));
    for (;;) {
      if (spawnError) throw nativeError((spawnError as NodeJS.ErrnoException).code ?? 'ENOENT', 'spawn', `starting ${this.binary} for ${name}`);
      if (child.exitCode !== null || child.signalCode !== null) throw nativeError('EIO', 'spawn', `${this.binary} -f ${name} exited at start: ${this.logTail(name)}`);
      if ((await this.getDevice(name)) !== null) return;
      if (Date.now() > deadline) throw nativeError('ETIMEDOUT', 'spawn', `${this.binary} -f ${name} did not answer on ${this.sock(name)}: ${this.logTail(name)}`);
      await delay(50);
    }
  }

  private logTail(name: string): string {
    try {
      return readFileSync(join(this.dir, `${name}.log`), 'utf8').trim().split('\n').slice(-3).join(' | ') || '(no output)';
    } catch {
      return '(no output)';
    }
  }

  /** A device found answering: watch the PID its pid file names, if that is still a wireguard-go. */
  private adopt(name: string): void {
    if (this.tracked.has(name)) return;
    try {
      const pid = Number(readFileSync(join(this.dir, `${name}.pid`), 'utf8').trim());
      if (Number.isInteger(pid) && pid > 0 && isWireguardGo(pid)) this.tracked.set(name, { pid, child: null, stopping: false });
    } catch {
      /* started by someone else: the backend's periodic check notices when it stops answering */
    }
  }

  private exited(name: string, child: ChildProcess | null, why: string): void {
    const t = this.tracked.get(name);
    if (!t || (child !== null && t.child !== child)) return;
    this.tracked.delete(name);
    if (t.stopping || this.closed) return;
    const event = { name, why: `wireguard-go (pid ${t.pid}) ${why}` };
    for (const l of [...this.listeners]) l(event);
  }

  private checkAdopted(): void {
    for (const [name, t] of this.tracked) {
      if (t.child === null && !alive(t.pid)) this.exited(name, null, 'is gone');
    }
  }

  async deleteDevice(name: string): Promise<void> {
    checkIfName('wireguard delete', name);
    const t = this.tracked.get(name);
    let pid = t?.pid ?? 0;
    if (!pid) pid = Number((await readFile(join(this.dir, `${name}.pid`), 'utf8').catch(() => '0')).trim());
    if (!pid || !alive(pid) || !isWireguardGo(pid)) throw nativeError('ENODEV', 'kill', `wireguard delete ${name}: no wireguard-go runs it`);
    if (t) t.stopping = true;
    process.kill(pid, 'SIGTERM');
    for (let i = 0; i < 100 && alive(pid); i++) await delay(50);
    this.tracked.delete(name);
    await unlink(join(this.dir, `${name}.pid`)).catch(() => undefined);
  }

  watchDevices(listener: (event: WgLostEvent) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  close(): void {
    this.closed = true;
    clearInterval(this.poll);
    this.listeners.clear();
  }
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'EPERM';
  }
}

function isWireguardGo(pid: number): boolean {
  try {
    return readFileSync(`/proc/${pid}/comm`, 'utf8').trim() === 'wireguard-go';
  } catch {
    return false;
  }
}
