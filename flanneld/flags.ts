// The flanneld flag set: names, defaults and value syntax exactly as the reference declares them with Go's
// `flag` package (fact sheet §1), so a unit file or DaemonSet written for the reference works unchanged.
// The parsing itself (Go's argument grammar, the FLANNELD_* environment, the defaults) lives in go-flag.ts,
// env.ts and cli.ts; this file is the single table they all read.

/** A bad command line or flag value; `flag` is the name without dashes, `value` the raw text if any. */
export class FlagError extends Error {
  override readonly name = 'FlagError';
  constructor(
    message: string,
    readonly flag?: string,
    readonly value?: string,
  ) {
    super(message);
  }
}

/** `list` is Go's repeatable flagSlice (--iface): every occurrence is appended, order kept. */
export type FlagKind = 'string' | 'bool' | 'int' | 'list';

export interface FlagSpec {
  readonly name: string;
  readonly kind: FlagKind;
  readonly default: string | boolean | number | readonly string[];
  readonly usage: string;
}

const ETCD_ENDPOINTS_DEFAULT = 'http://127.0.0.1:4001,http://127.0.0.1:2379';

// Usage texts follow the reference's flag descriptions; `--help` prints them with the defaults.
export const FLAG_SPECS = [
  { name: 'etcd-endpoints', kind: 'string', default: ETCD_ENDPOINTS_DEFAULT, usage: 'a comma-delimited list of etcd endpoints' },
  { name: 'etcd-prefix', kind: 'string', default: '/coreos.com/network', usage: 'etcd prefix (root key for the config and the subnets)' },
  { name: 'etcd-keyfile', kind: 'string', default: '', usage: 'SSL key file used to secure etcd communication' },
  { name: 'etcd-certfile', kind: 'string', default: '', usage: 'SSL certification file used to secure etcd communication' },
  { name: 'etcd-cafile', kind: 'string', default: '', usage: 'SSL Certificate Authority file used to secure etcd communication' },
  { name: 'etcd-username', kind: 'string', default: '', usage: 'username for BasicAuth to etcd' },
  { name: 'etcd-password', kind: 'string', default: '', usage: 'password for BasicAuth to etcd (never logged)' },
  { name: 'iface', kind: 'list', default: [], usage: 'interface to use (IP or name) for inter-host communication; may be repeated, tried in order, first match wins' },
  { name: 'iface-regex', kind: 'list', default: [], usage: 'regex matched against interface IPs, then names; may be repeated; tried after every --iface' },
  { name: 'iface-can-reach', kind: 'string', default: '', usage: "use the interface that 'ip route get <ip>' chooses for this IP; tried last" },
  { name: 'subnet-file', kind: 'string', default: '/run/flannel/subnet.env', usage: 'filename where env variables (subnet, MTU, ...) will be written to' },
  { name: 'public-ip', kind: 'string', default: '', usage: 'IP accessible by other nodes for inter-host communication' },
  { name: 'public-ipv6', kind: 'string', default: '', usage: 'IPv6 accessible by other nodes for inter-host communication' },
  { name: 'subnet-lease-renew-margin', kind: 'int', default: 60, usage: 'subnet lease renewal margin, in minutes, ranging from 1 to 1439' },
  { name: 'ip-masq', kind: 'bool', default: false, usage: 'setup IP masquerade rule for traffic destined outside of overlay network' },
  { name: 'ip-masq-fully-random-disable', kind: 'bool', default: false, usage: 'leave --random-fully (fully-random) out of the masquerade rules' },
  { name: 'kube-subnet-mgr', kind: 'bool', default: false, usage: 'contact the Kubernetes API for subnet assignment instead of etcd' },
  { name: 'kube-api-url', kind: 'string', default: '', usage: 'Kubernetes API server URL (in-cluster config when empty)' },
  { name: 'kube-annotation-prefix', kind: 'string', default: 'flannel.alpha.coreos.com', usage: 'Kubernetes annotation prefix; may contain a single slash "/", otherwise one is appended' },
  { name: 'kubeconfig-file', kind: 'string', default: '', usage: 'kubeconfig file location (in-cluster config when empty)' },
  { name: 'version', kind: 'bool', default: false, usage: 'print the version to stderr and exit' },
  { name: 'healthz-ip', kind: 'string', default: '0.0.0.0', usage: 'the IP address for the healthz server to listen on' },
  { name: 'healthz-port', kind: 'int', default: 0, usage: 'the port for the healthz server to listen on (0 to disable)' },
  { name: 'iptables-resync', kind: 'int', default: 5, usage: 'resync period for iptables rules, in seconds' },
  { name: 'iptables-forward-rules', kind: 'bool', default: true, usage: 'add default accept rules to the FORWARD chain' },
  { name: 'ip-blackhole-route', kind: 'bool', default: false, usage: 'keep a blackhole route for the own subnet (Canal, where no bridge exists)' },
  { name: 'net-config-path', kind: 'string', default: '/etc/kube-flannel/net-conf.json', usage: 'path to the network configuration file (kube mode)' },
  { name: 'set-node-network-unavailable', kind: 'bool', default: true, usage: 'in kube mode, set the node condition NetworkUnavailable=False once ready' },
  { name: 'peer-probe-interval', kind: 'int', default: 5, usage: 'flannel-ts only: probe every other host through the overlay this often, in seconds (at most 50 probes/s in all; 0 disables)' },
  { name: 'v', kind: 'int', default: 0, usage: 'number for the log level verbosity (0 to 10)' },
  { name: 'vmodule', kind: 'string', default: '', usage: 'comma-separated list of pattern=N settings for file-filtered logging' },
  { name: 'log_backtrace_at', kind: 'string', default: '', usage: 'when logging hits line file:N, emit a stack trace' },
  { name: 'log-format', kind: 'string', default: 'text', usage: 'flannel-ts only: log line format, text (klog-like) or json' },
] as const satisfies readonly FlagSpec[];

export type FlagName = (typeof FLAG_SPECS)[number]['name'];

const SPEC_BY_NAME: ReadonlyMap<string, FlagSpec> = new Map(FLAG_SPECS.map((s) => [s.name, s]));

/** The spec of a defined flag, or undefined for a name the reference does not define. */
export function flagSpec(name: string): FlagSpec | undefined {
  return SPEC_BY_NAME.get(name);
}

export type LogFormat = 'text' | 'json';

/** The parsed flags, one field per flag (`version` excepted: it ends parsing instead). */
export interface Flags {
  readonly etcdEndpoints: readonly string[];
  readonly etcdPrefix: string;
  readonly etcdKeyfile: string;
  readonly etcdCertfile: string;
  readonly etcdCafile: string;
  readonly etcdUsername: string;
  readonly etcdPassword: string;
  readonly iface: readonly string[];
  readonly ifaceRegex: readonly string[];
  readonly ifaceCanReach: string;
  readonly subnetFile: string;
  readonly publicIP: string;
  readonly publicIPv6: string;
  /** Minutes before the lease expiry at which it is renewed, 1..1439. */
  readonly subnetLeaseRenewMargin: number;
  readonly ipMasq: boolean;
  readonly ipMasqFullyRandomDisable: boolean;
  readonly kubeSubnetMgr: boolean;
  readonly kubeApiUrl: string;
  readonly kubeAnnotationPrefix: string;
  readonly kubeconfigFile: string;
  readonly healthzIP: string;
  readonly healthzPort: number;
  /** Seconds. */
  readonly iptablesResync: number;
  readonly iptablesForwardRules: boolean;
  readonly ipBlackholeRoute: boolean;
  readonly netConfigPath: string;
  readonly setNodeNetworkUnavailable: boolean;
  /** Seconds between probes of each peer; 0: no probes. */
  readonly peerProbeInterval: number;
  readonly v: number;
  readonly vmodule: string;
  readonly logBacktraceAt: string;
  readonly logFormat: LogFormat;
}

/** The Flags field that holds each flag (version has none). */
export const FLAG_FIELDS: Readonly<Record<Exclude<FlagName, 'version'>, keyof Flags>> = {
  'etcd-endpoints': 'etcdEndpoints', 'etcd-prefix': 'etcdPrefix', 'etcd-keyfile': 'etcdKeyfile',
  'etcd-certfile': 'etcdCertfile', 'etcd-cafile': 'etcdCafile', 'etcd-username': 'etcdUsername',
  'etcd-password': 'etcdPassword', iface: 'iface', 'iface-regex': 'ifaceRegex', 'iface-can-reach': 'ifaceCanReach',
  'subnet-file': 'subnetFile', 'public-ip': 'publicIP', 'public-ipv6': 'publicIPv6',
  'subnet-lease-renew-margin': 'subnetLeaseRenewMargin', 'ip-masq': 'ipMasq',
  'ip-masq-fully-random-disable': 'ipMasqFullyRandomDisable', 'kube-subnet-mgr': 'kubeSubnetMgr',
  'kube-api-url': 'kubeApiUrl', 'kube-annotation-prefix': 'kubeAnnotationPrefix', 'kubeconfig-file': 'kubeconfigFile',
  'healthz-ip': 'healthzIP', 'healthz-port': 'healthzPort', 'iptables-resync': 'iptablesResync',
  'iptables-forward-rules': 'iptablesForwardRules', 'ip-blackhole-route': 'ipBlackholeRoute',
  'net-config-path': 'netConfigPath', 'set-node-network-unavailable': 'setNodeNetworkUnavailable', 'peer-probe-interval': 'peerProbeInterval', v: 'v',
  vmodule: 'vmodule', log_backtrace_at: 'logBacktraceAt', 'log-format': 'logFormat',
};

// Flags the reference once had. Rejecting them with the replacement beats Go's bare "not defined",
// because these names still appear in old unit files and blog posts.
const REMOVED_FLAGS: Readonly<Record<string, string>> = {
  networks: 'multi-network mode was removed (about 2017); run one flanneld per network',
  'subnet-dir': 'multi-network mode was removed (about 2017); run one flanneld per network',
  listen: 'client/server mode was removed (Feb 2017); point every flanneld at etcd with --etcd-endpoints',
  remote: 'client/server mode was removed (Feb 2017); point every flanneld at etcd with --etcd-endpoints',
  'remote-keyfile': 'client/server mode was removed (Feb 2017); use --etcd-keyfile',
  'remote-certfile': 'client/server mode was removed (Feb 2017); use --etcd-certfile',
  'remote-cafile': 'client/server mode was removed (Feb 2017); use --etcd-cafile',
  'auto-detect-ipv4': 'it was replaced (2021) by "EnableIPv4" in the network config',
  'auto-detect-ipv6': 'it was replaced (2021) by "EnableIPv6" in the network config',
  'use-multi-cluster-cidr': 'it was removed in Oct 2023 with Kubernetes MultiClusterCIDR; use "Network"/"IPv6Network" in the network config',
};

/** The explanation for a flag removed from the reference, or undefined if `name` was never removed. */
export function removedFlagMessage(name: string): string | undefined {
  const why = Object.hasOwn(REMOVED_FLAGS, name) ? REMOVED_FLAGS[name] : undefined;
  return why === undefined ? undefined : `flag --${name} was removed from Flannel: ${why}`;
}

/** Flags whose value must never be logged. */
export const SECRET_FLAGS: ReadonlySet<FlagName> = new Set<FlagName>(['etcd-password']);
