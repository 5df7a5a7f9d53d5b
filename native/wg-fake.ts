// FakeWireGuard: the WireGuard interface in memory, on top of a FakeNative whose link table holds the
// devices (kind "tun", as wireguard-go's), for unit tests of the wireguard backend. Same validation and
// error codes as the userspace implementation (the contract suite in test/native runs against both).
// Test-only extras: `kill(name)` (the process dies: link and configuration gone, listeners told) and
// `requests` (how many configure calls were made).
import { nativeError } from './errors.js';
import type { FakeNative } from './fake.js';
import { checkIfName } from './validate.js';
import { encodeSet } from './wg-uapi.js';
import type { WgChange, WgDeviceState, WgLostEvent, WgPeerState, WireGuard } from './wg-types.js';

interface FakeDevice {
  ifindex: number;
  state: WgDeviceState;
}

export class FakeWireGuard implements WireGuard {
  readonly kind = 'userspace' as const;
  readonly why = 'in-memory fake';
  requests = 0;
  private readonly devices = new Map<string, FakeDevice>();
  private readonly listeners = new Set<(e: WgLostEvent) => void>();

  constructor(private readonly native: FakeNative) {}

  /** The device, or undefined when its link is gone (deleted through the native layer). */
  private dev(name: string): FakeDevice | undefined {
    const d = this.devices.get(name);
    if (d && !this.native.state.links.has(d.ifindex)) this.devices.delete(name);
    return this.devices.get(name);
  }

  async ensureDevice(name: string): Promise<'existing' | 'created'> {
    checkIfName('wireguard device', name);
    if (this.dev(name)) return 'existing';
    if ((await this.native.linkGet(name)) !== null) throw nativeError('EEXIST', 'TUNSETIFF', `wireguard device ${name}: a link of that name exists`);
    const link = this.native.addTestLink({ name, kind: 'tun', mtu: 1420, mac: '', up: false });
    this.native.state.links.get(link.index)!.mac = null;
    // As wireguard-go: a random port until one is set.
    this.devices.set(name, { ifindex: link.index, state: { privateKey: null, listenPort: 32768 + Math.floor(Math.random() * 28000), peers: [] } });
    return 'created';
  }

  async getDevice(name: string): Promise<WgDeviceState | null> {
    checkIfName('wireguard get', name);
    const d = this.dev(name);
    return d ? structuredClone(d.state) : null;
  }

  async configure(name: string, change: WgChange): Promise<void> {
    checkIfName('wireguard set', name);
    encodeSet(change); // the same argument checks as the real request
    const d = this.dev(name);
    if (!d) throw nativeError('ENODEV', 'uapi', `wireguard set ${name}: no such device`);
    this.requests++;
    const s = d.state;
    if (change.privateKey !== undefined) s.privateKey = clamp(change.privateKey);
    if (change.listenPort !== undefined) s.listenPort = change.listenPort;
    for (const p of change.setPeers ?? []) {
      const prev = s.peers.find((q) => q.publicKey === p.publicKey);
      const next: WgPeerState = { ...p, allowedIPs: [...p.allowedIPs], lastHandshakeSec: prev?.lastHandshakeSec ?? 0, rxBytes: prev?.rxBytes ?? 0, txBytes: prev?.txBytes ?? 0 };
      // As in WireGuard, an allowed IP belongs to one peer: taking it moves it.
      for (const q of s.peers) q.allowedIPs = q.allowedIPs.filter((a) => !p.allowedIPs.includes(a));
      if (prev) Object.assign(prev, next);
      else s.peers.push(next);
    }
    const gone = new Set(change.removePeers ?? []);
    s.peers = s.peers.filter((p) => !gone.has(p.publicKey));
  }

  async deleteDevice(name: string): Promise<void> {
    const d = this.dev(checkIfName('wireguard delete', name));
    if (!d) throw nativeError('ENODEV', 'kill', `wireguard delete ${name}: no such device`);
    this.native.state.removeLink(d.ifindex);
    this.devices.delete(name);
  }

  /** Test extra: the device's process dies unasked. */
  kill(name: string): void {
    const d = this.devices.get(name);
    if (!d) return;
    this.native.state.removeLink(d.ifindex);
    this.devices.delete(name);
    for (const l of [...this.listeners]) setImmediate(() => l({ name, why: 'killed (fake)' }));
  }

  watchDevices(listener: (event: WgLostEvent) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  close(): void {
    this.listeners.clear();
  }
}

/** The key as WireGuard stores it: clamped for Curve25519. */
function clamp(key: string): string {
  const b = Buffer.from(key, 'base64');
  b[0]! &= 248;
  b[31]! &= 127;
  b[31]! |= 64;
  return b.toString('base64');
}
