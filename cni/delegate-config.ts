// The config handed to the delegate (bridge + host-local by default), built exactly as the reference
// builds it (fact sheet §8). Only `name`, `cniVersion`, `runtimeConfig` and `ipam` of the plugin's
// own config reach the delegate; `args`, `capabilities` and `prevResult` do not, as in the reference.
import type { FlannelNetConf, JsonObject } from './netconf.js';
import type { Route } from './routes.js';
import type { FlannelSubnetEnv } from './subnet-file.js';
import { delegateVersion } from './version.js';

/** The delegate config for ADD. Pure: the inputs are not modified. */
export function buildDelegateConfig(n: FlannelNetConf, se: FlannelSubnetEnv): JsonObject {
  const d: JsonObject = { ...(n.delegate ?? {}) };
  if (n.runtimeConfig !== null) d['runtimeConfig'] = n.runtimeConfig;
  d['name'] = n.name;
  if (!Object.hasOwn(d, 'type')) d['type'] = 'bridge';
  // Masquerade at the bridge only when flanneld does not.
  if (!Object.hasOwn(d, 'ipMasq')) d['ipMasq'] = !se.ipMasq;
  if (!Object.hasOwn(d, 'mtu')) d['mtu'] = se.mtu;
  if (d['type'] === 'bridge' && !Object.hasOwn(d, 'isGateway')) d['isGateway'] = true;
  if (n.cniVersion !== '') d['cniVersion'] = delegateVersion(n.cniVersion);
  d['ipam'] = delegateIpam(n, se);
  return d;
}

/** The input ipam (host-local by default) with flannel's ranges and the routes to the networks added. */
function delegateIpam(n: FlannelNetConf, se: FlannelSubnetEnv): JsonObject {
  const ipam: JsonObject = { ...(n.ipam ?? {}) };
  if (!Object.hasOwn(ipam, 'type')) ipam['type'] = 'host-local';
  const ranges: Array<Array<{ subnet: string }>> = [];
  if (se.subnet) ranges.push([{ subnet: se.subnet.toString() }]);
  if (se.ipv6Subnet) ranges.push([{ subnet: se.ipv6Subnet.toString() }]);
  ipam['ranges'] = ranges;
  const routes: Route[] = [...n.ipamRoutes];
  for (const nw of se.networks) routes.push({ dst: nw.toString() });
  for (const nw of se.ipv6Networks) routes.push({ dst: nw.toString() });
  ipam['routes'] = routes;
  return ipam;
}

/**
 * JSON with the keys of every object sorted, as Go's encoder writes the reference's maps, so the
 * saved file reads the same whichever implementation wrote it.
 */
export function renderJSON(value: unknown): string {
  if (value === null || typeof value !== 'object') return JSON.stringify(value) ?? 'null';
  if (Array.isArray(value)) return `[${value.map(renderJSON).join(',')}]`;
  const o = value as JsonObject;
  const keys = Object.keys(o)
    .filter((k) => o[k] !== undefined)
    .sort();
  return `{${keys.map((k) => `${JSON.stringify(k)}:${renderJSON(o[k])}`).join(',')}}`;
}
