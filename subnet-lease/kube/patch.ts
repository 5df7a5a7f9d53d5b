// The two strategic merge patches the kube store sends to nodes/<name>/status (fact sheet §6): our
// annotations (only the keys whose value differs, as the reference's two-way merge patch has them, keys
// sorted like Go's map encoding), and the NetworkUnavailable=False condition.
import { formatIP4, formatIP6 } from '../../common/ip.js';
import type { LeaseAttrs } from '../lease.js';
import type { KubeAnnotations } from './annotations.js';
import type { NodeInfo } from './node.js';

/** The annotation values flannel wants on its node for `attrs` (the reference's AcquireLease rules). */
export function desiredAnnotations(node: NodeInfo, attrs: LeaseAttrs, keys: KubeAnnotations): Record<string, string> {
  const ann = node.annotations;
  const type = attrs.backendType ?? '';
  const want: Record<string, string> = { [keys.backendType]: type };
  const data = rawJSON(attrs.backendData);
  // vxlan (and wireguard) advertise nothing until they have data; host-gw and the others write "null".
  if (!((type === 'vxlan' || type === 'wireguard') && data === 'null')) {
    want[keys.backendData] = data;
    want[keys.publicIP] = ann[keys.publicIPOverwrite] || formatIP4(attrs.publicIP);
  }
  const v6Data = rawJSON(attrs.backendV6Data);
  const hasV6 = attrs.publicIPv6 !== null;
  const v6 =
    (type === 'vxlan' && v6Data !== 'null') ||
    (type === 'wireguard' && v6Data !== 'null' && hasV6) ||
    ((type === 'host-gw' || type === 'extension') && hasV6);
  if (v6) {
    want[keys.backendV6Data] = v6Data;
    want[keys.publicIPv6] = ann[keys.publicIPv6Overwrite] || (attrs.publicIPv6 === null ? '' : formatIP6(attrs.publicIPv6));
  }
  want[keys.subnetKubeManaged] = 'true';
  return want;
}

/** Go's json.RawMessage MarshalJSON of the backend data: "null" when there is none. */
function rawJSON(v: unknown): string {
  return v === undefined ? 'null' : JSON.stringify(v);
}

export interface NodePatch {
  metadata: { annotations: Record<string, string> };
}

/** The patch that brings `node` to the wanted annotations, or null when every value is already right. */
export function annotationPatch(node: NodeInfo, attrs: LeaseAttrs, keys: KubeAnnotations): NodePatch | null {
  const want = desiredAnnotations(node, attrs, keys);
  const changed = Object.keys(want)
    .filter((k) => node.annotations[k] !== want[k])
    .sort();
  if (changed.length === 0) return null;
  return { metadata: { annotations: Object.fromEntries(changed.map((k) => [k, want[k]!])) } };
}

/** metav1.Time's JSON form: RFC 3339 in UTC, whole seconds. */
export function kubeTime(d: Date): string {
  return `${d.toISOString().slice(0, 19)}Z`;
}

export interface ConditionPatch {
  status: { conditions: Array<Record<string, string>> };
}

/** The reference's CompleteLease patch, fields in NodeCondition's declaration order. */
export function networkAvailablePatch(now: Date): ConditionPatch {
  const t = kubeTime(now);
  return {
    status: {
      conditions: [
        {
          type: 'NetworkUnavailable',
          status: 'False',
          lastHeartbeatTime: t,
          lastTransitionTime: t,
          reason: 'FlannelIsUp',
          message: 'Flannel is running on this node',
        },
      ],
    },
  };
}
