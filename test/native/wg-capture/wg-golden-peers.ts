// The peer list of the WG_LARGE capture: 40 peers with an IPv4 and an IPv6 allowed IP each, one of them
// with 150 more, so that `wg` spreads them over several messages and continues a peer's allowed IPs in
// the next one.
import type { WgPeerConfig } from '../../../native/wg-types.js';

export function largePeers(): WgPeerConfig[] {
  return Array.from({ length: 40 }, (_, i) => {
    const key = Buffer.alloc(32, 0x22);
    key.writeUInt32BE(i + 1);
    const extra = i === 20 ? Array.from({ length: 150 }, (_, k) => `10.250.${k}.0/24`) : [];
    return {
      publicKey: key.toString('base64'),
      endpoint: `198.18.1.${i + 1}:51820`,
      allowedIPs: [`10.${100 + i}.0.0/16`, `fd00:10:244:${(i + 1).toString(16)}::/64`, ...extra],
      presharedKey: null,
      persistentKeepalive: 0,
    };
  });
}
