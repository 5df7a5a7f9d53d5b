// The udp check for `flanneld diagnose`: the TUN device's address and the Network route; the packet
// loop's peer table lives in the daemon's memory and cannot be read from outside.
import { RT_TABLE_MAIN } from '../../native/types.js';
import { IP4Net, formatIP4 } from '../../common/ip.js';
import { type CheckInput, type Finding } from '../module.js';
import { TUN_DEVICE as UDP_DEVICE } from './device.js';

export async function checkUdp(input: CheckInput): Promise<Finding[]> {
  const out: Finding[] = [{ kind: 'note', text: 'the udp packet loop keeps its peer table inside the flanneld process; it cannot be inspected from outside' }];
  const link = await input.native.linkGet(UDP_DEVICE);
  if (!link) return [...out, { kind: 'device', text: `device ${UDP_DEVICE} is missing (the running flanneld creates it; it goes away when flanneld stops)` }];
  if (!link.up) out.push({ kind: 'device', text: `${UDP_DEVICE} is down` });
  const addr = formatIP4(input.own.subnet.ip);
  const addrs = await input.native.addrList({ ifindex: link.index, family: 4 });
  if (!addrs.some((a) => a.address === addr && a.prefixLen === 32)) out.push({ kind: 'device', text: `${UDP_DEVICE} lacks address ${addr}/32` });
  const net = input.config.network;
  if (net instanceof IP4Net) {
    const routes = await input.native.routeList({ family: 4, table: RT_TABLE_MAIN });
    if (!routes.some((r) => r.dst === net.toString() && r.ifindex === link.index)) {
      out.push({ kind: 'missing', text: `route ${net} dev ${UDP_DEVICE}` });
    }
  }
  return out;
}
