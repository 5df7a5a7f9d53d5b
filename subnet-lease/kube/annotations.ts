// The node annotation keys of the Kubernetes subnet manager (fact sheet §6), derived from
// --kube-annotation-prefix with the reference's rules: at most one "/"; none → one is appended; a
// prefix not ending in "/" or "-" gets a "-"; the result must match the reference's (start-unanchored)
// pattern. So "flannel.alpha.coreos.com" gives "flannel.alpha.coreos.com/backend-data" and
// "example.com/foo" gives "example.com/foo-backend-data".
import { KubeStoreError } from './errors.js';

export interface KubeAnnotations {
  readonly subnetKubeManaged: string;
  readonly backendData: string;
  readonly backendV6Data: string;
  readonly backendType: string;
  readonly publicIP: string;
  readonly publicIPv6: string;
  readonly nodePublicIP: string;
  readonly nodePublicIPv6: string;
  readonly publicIPOverwrite: string;
  readonly publicIPv6Overwrite: string;
}

// Deliberately not anchored at the start, like the reference's regexp.MatchString.
const PREFIX_RE = /(?:[a-z0-9_-]+\.)+[a-z0-9_-]+\/(?:[a-z0-9_-]+-)?$/;

/** The keys for `prefix`; KubeStoreError with the reference's message when the prefix is invalid. */
export function annotationKeys(prefix: string): KubeAnnotations {
  const slashes = prefix.split('/').length - 1;
  if (slashes > 1) throw new KubeStoreError(`subnet/kube: prefix can contain at most single slash (--kube-annotation-prefix=${prefix})`);
  let p = slashes === 0 ? `${prefix}/` : prefix;
  if (!p.endsWith('/') && !p.endsWith('-')) p += '-';
  if (!PREFIX_RE.test(p)) throw new KubeStoreError(`subnet/kube: prefix must be in a format: fqdn/[0-9a-z-_]* (--kube-annotation-prefix=${prefix})`);
  return {
    subnetKubeManaged: `${p}kube-subnet-manager`,
    backendData: `${p}backend-data`,
    backendV6Data: `${p}backend-v6-data`,
    backendType: `${p}backend-type`,
    publicIP: `${p}public-ip`,
    publicIPv6: `${p}public-ipv6`,
    nodePublicIP: `${p}node-public-ip`,
    nodePublicIPv6: `${p}node-public-ipv6`,
    publicIPOverwrite: `${p}public-ip-overwrite`,
    publicIPv6Overwrite: `${p}public-ipv6-overwrite`,
  };
}
