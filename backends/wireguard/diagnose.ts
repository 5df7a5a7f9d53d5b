// The wireguard check for `flanneld diagnose`: per device of the mode, the device answers, it holds
// our address and the Network route, and its peers are exactly those the leases want (key, endpoint,
// AllowedIPs). Read-only: it asks the device over its control socket and changes nothing.
import { RT_TABLE_MAIN } from '../../native/types.js';
import type { WireGuard } from '../../native/wg-types.js';
import type { CheckInput, Finding } from '../module.js';
import { parseWireguardConfig } from './config.js';
import { deviceSpecs } from './backend.js';
import { wantedPeers, type PeerContext } from './peers.js';
import { isSameLease } from '../../subnet-lease/lease.js';

export async function checkWireguard(input: CheckInput, wg: WireGuard): Promise<Finding[]> {
  const out: Finding[] = [{ kind: 'note', text: `WireGuard data path: ${wg.why}` }];
  const cfg = parseWireguardConfig(input.config.backend);
  const ext = await input.ext();
  const ctx: PeerContext = { cfg, enableIPv4: input.config.enableIPv4, enableIPv6: input.config.enableIPv6, extAddr: ext.extAddr, extV6Addr: ext.extV6Addr };
  const remotes = input.leases.filter((l) => !isSameLease(l, input.own) && l.attrs.backendType === 'wireguard');
  const wanted = wantedPeers(ctx, remotes);
  for (const spec of deviceSpecs(input.config, cfg, input.own, '', 0)) {
    const state = await wg.getDevice(spec.name);
    const link = await input.native.linkGet(spec.name);
    if (!state || !link) {
      out.push({ kind: 'device', text: `WireGuard device ${spec.name} is missing or does not answer (flanneld creates it)` });
      continue;
    }
    if (!link.up) out.push({ kind: 'device', text: `${spec.name} is down` });
    if (state.listenPort !== spec.listenPort) out.push({ kind: 'device', text: `${spec.name} listens on ${state.listenPort}, not ${spec.listenPort}` });
    const routes = await input.native.routeList({ table: RT_TABLE_MAIN, ifindex: link.index });
    for (const r of spec.routes) if (!routes.some((x) => x.dst === r.toString())) out.push({ kind: 'missing', text: `route ${r} dev ${spec.name}` });
    const want = wanted.get(spec.name) ?? new Map();
    const have = new Map(state.peers.map((p) => [p.publicKey, p]));
    for (const [key, w] of want) {
      const p = have.get(key);
      if (!p) out.push({ kind: 'missing', text: `peer ${w.describe} on ${spec.name}` });
      else if ([...p.allowedIPs].sort().join() !== [...w.peer.allowedIPs].sort().join()) {
        out.push({ kind: 'stale', text: `peer ${key} on ${spec.name} has AllowedIPs ${p.allowedIPs.join(', ') || '(none)'}, want ${w.peer.allowedIPs.join(', ')}` });
      }
    }
    for (const [key, p] of have) if (!want.has(key)) out.push({ kind: 'stale', text: `peer ${key} (${p.allowedIPs.join(', ') || 'no allowed IPs'}) on ${spec.name} matches no lease` });
  }
  return out;
}
