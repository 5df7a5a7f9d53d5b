// The WireGuard data path, typed: one interface for the kernel's WireGuard (generic netlink) and a
// userspace WireGuard (wireguard-go, configured over its UAPI socket with the cross-platform text
// protocol). Keys cross this boundary as standard base64 (44 characters, as `wg` prints them and as
// leases carry them); endpoints as "1.2.3.4:51820" or "[fd00::1]:51821"; allowed IPs as CIDR text.
// Implemented by wg-kernel.ts (the kernel's WireGuard over generic netlink), wg-userspace.ts
// (wireguard-go) and wg-fake.ts (in memory, for unit tests); one contract suite
// (test/native/wg-contract.ts) holds them to the same behaviour; wireguard.ts picks kernel or userspace.

/** Which implementation carries the packets. */
export type WgDataPathKind = 'kernel' | 'userspace';

/** One peer as configured: what `setPeers` sends and what `getDevice` reports back. */
export interface WgPeerConfig {
  publicKey: string;
  /** null: none configured (the peer can still reach us; we learn its address from its packets). */
  endpoint: string | null;
  /** CIDRs routed to the peer; replaces the peer's list as a whole. */
  allowedIPs: readonly string[];
  /** null: none. */
  presharedKey: string | null;
  /** Seconds; 0 is off. */
  persistentKeepalive: number;
}

export interface WgPeerState extends WgPeerConfig {
  /** Unix seconds of the last handshake, 0 for none. */
  lastHandshakeSec: number;
  rxBytes: number;
  txBytes: number;
}

export interface WgDeviceState {
  /** null when no private key is set. */
  privateKey: string | null;
  listenPort: number;
  peers: WgPeerState[];
}

/** A change to one device, applied as one request: device settings first, then peers in order. */
export interface WgChange {
  privateKey?: string;
  listenPort?: number;
  /** Added or updated peers (AllowedIPs replaced, not merged). */
  setPeers?: readonly WgPeerConfig[];
  /** Public keys of peers to remove; a key with no peer is ignored. */
  removePeers?: readonly string[];
}

/** A device went away without being asked to (its wireguard-go process exited, or its link was deleted). */
export interface WgLostEvent {
  name: string;
  why: string;
}

export interface WireGuard {
  readonly kind: WgDataPathKind;
  /** Why this data path was chosen, for the start-up log. */
  readonly why: string;
  /**
   * Makes sure device `name` exists and answers. 'existing' when it already did (its settings, peers,
   * addresses and routes are untouched), 'created' when it was made now (a fresh device with no key,
   * no peers, down). Rejects with NativeError (EEXIST when a link of another kind holds the name; the
   * caller deletes it first). Calling it twice is harmless.
   */
  ensureDevice(name: string): Promise<'existing' | 'created'>;
  /** The device's configuration, or null when there is no such device (or it does not answer). */
  getDevice(name: string): Promise<WgDeviceState | null>;
  /** Applies `change` as one request; rejects with NativeError (ENODEV: no such device, EINVAL: refused). */
  configure(name: string, change: WgChange): Promise<void>;
  /** Removes the device (the userspace process stops, its link goes). ENODEV when there is none. */
  deleteDevice(name: string): Promise<void>;
  /**
   * Calls `listener` when a device this handle made or found goes away unasked, until the returned
   * function is called (twice is harmless). Never keeps the process alive.
   */
  watchDevices(listener: (event: WgLostEvent) => void): () => void;
  /** Stops watching; devices (and wireguard-go processes) stay, so traffic goes on. Safe to call twice. */
  close(): void;
}
