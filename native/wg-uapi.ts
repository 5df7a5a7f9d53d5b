// The cross-platform WireGuard configuration protocol (wireguard.com/xplatform), as wireguard-go speaks
// it on /var/run/wireguard/<ifname>.sock: `set=1` or `get=1`, key=value lines, an empty line; the answer
// is (for get) key=value lines, then `errno=N` and an empty line. Keys travel as lowercase hex here, as
// base64 everywhere else, so this file converts. Pure encoding and decoding plus one request function.
import { createConnection } from 'node:net';
import { NativeArgumentError, NativeError, errnoName, nativeError } from './errors.js';
import type { WgChange, WgDeviceState, WgPeerConfig, WgPeerState } from './wg-types.js';

const ZERO_KEY_HEX = '0'.repeat(64);

/** base64 (32 bytes) → hex; NativeArgumentError naming `what` when it is not a key. */
export function keyToHex(key: string, what: string): string {
  const b = Buffer.from(key, 'base64');
  if (b.length !== 32 || b.toString('base64') !== key) throw new NativeArgumentError(`wireguard ${what}`, `not a base64 key of 32 bytes: ${JSON.stringify(key)}`);
  return b.toString('hex');
}

export function hexToKey(hex: string): string {
  return Buffer.from(hex, 'hex').toString('base64');
}

function checkPort(port: number, what: string): number {
  if (!Number.isInteger(port) || port < 0 || port > 65535) throw new NativeArgumentError(`wireguard ${what}`, `port must be 0..65535, got ${port}`);
  return port;
}

function peerLines(p: WgPeerConfig): string[] {
  const out = [`public_key=${keyToHex(p.publicKey, 'public key')}`];
  out.push(`preshared_key=${p.presharedKey === null ? ZERO_KEY_HEX : keyToHex(p.presharedKey, 'preshared key')}`);
  if (p.endpoint !== null) out.push(`endpoint=${p.endpoint}`);
  if (!Number.isInteger(p.persistentKeepalive) || p.persistentKeepalive < 0 || p.persistentKeepalive > 65535) {
    throw new NativeArgumentError('wireguard peer', `persistent keepalive must be 0..65535 s, got ${p.persistentKeepalive}`);
  }
  out.push(`persistent_keepalive_interval=${p.persistentKeepalive}`, 'replace_allowed_ips=true');
  for (const a of p.allowedIPs) out.push(`allowed_ip=${a}`);
  return out;
}

/** The `set=1` request for `change` (wgctrl's order: device keys, then peers). */
export function encodeSet(change: WgChange): string {
  const lines = ['set=1'];
  if (change.privateKey !== undefined) lines.push(`private_key=${keyToHex(change.privateKey, 'private key')}`);
  if (change.listenPort !== undefined) lines.push(`listen_port=${checkPort(change.listenPort, 'listen port')}`);
  for (const p of change.setPeers ?? []) lines.push(...peerLines(p));
  for (const k of change.removePeers ?? []) lines.push(`public_key=${keyToHex(k, 'public key')}`, 'remove=true');
  return `${lines.join('\n')}\n\n`;
}

/** Decodes a `get=1` answer (without its errno line) into the device state. */
export function decodeGet(text: string): WgDeviceState {
  const dev: WgDeviceState = { privateKey: null, listenPort: 0, peers: [] };
  let peer: (WgPeerState & { allowedIPs: string[] }) | null = null;
  for (const line of text.split('\n')) {
    const eq = line.indexOf('=');
    if (eq < 0) continue;
    const k = line.slice(0, eq);
    const v = line.slice(eq + 1);
    if (k === 'public_key') {
      peer = { publicKey: hexToKey(v), endpoint: null, allowedIPs: [], presharedKey: null, persistentKeepalive: 0, lastHandshakeSec: 0, rxBytes: 0, txBytes: 0 };
      dev.peers.push(peer);
    } else if (peer === null) {
      if (k === 'private_key') dev.privateKey = v === ZERO_KEY_HEX ? null : hexToKey(v);
      else if (k === 'listen_port') dev.listenPort = Number(v);
    } else if (k === 'endpoint') peer.endpoint = v;
    else if (k === 'allowed_ip') peer.allowedIPs.push(v);
    else if (k === 'preshared_key') peer.presharedKey = v === ZERO_KEY_HEX ? null : hexToKey(v);
    else if (k === 'persistent_keepalive_interval') peer.persistentKeepalive = Number(v);
    else if (k === 'last_handshake_time_sec') peer.lastHandshakeSec = Number(v);
    else if (k === 'rx_bytes') peer.rxBytes = Number(v);
    else if (k === 'tx_bytes') peer.txBytes = Number(v);
  }
  return dev;
}

/**
 * Sends one request on the socket at `path` and resolves with the answer's data lines (errno=0), or
 * rejects with NativeError: the errno the daemon answered (EINVAL for a refused key), ECONNREFUSED or
 * ENOENT when nobody listens, ETIMEDOUT after `timeoutMs`.
 */
export function uapiRequest(path: string, request: string, context: string, timeoutMs = 5000): Promise<string> {
  return new Promise((resolve, reject) => {
    const sock = createConnection(path);
    let buf = '';
    const done = (err: NativeError | null, data?: string): void => {
      sock.destroy();
      clearTimeout(timer);
      if (err) reject(err);
      else resolve(data ?? '');
    };
    const timer = setTimeout(() => done(nativeError('ETIMEDOUT', 'uapi', `${context}: no answer from ${path}`)), timeoutMs);
    sock.on('error', (e: NodeJS.ErrnoException) => done(nativeError(e.code ?? 'EIO', 'connect', `${context}: ${path}`)));
    sock.on('data', (b: Buffer) => {
      buf += b.toString();
      const m = /(?:^|\n)errno=(-?\d+)\n\n/.exec(buf);
      if (!m) return;
      const errno = Math.abs(Number(m[1]));
      if (errno === 0) done(null, buf.slice(0, m.index));
      else done(nativeError(errnoName(errno), 'uapi', `${context}: wireguard-go answered errno=${m[1]}`));
    });
    sock.on('end', () => done(nativeError('EPROTO', 'uapi', `${context}: ${path} closed without an answer`)));
    sock.write(request);
  });
}
