// flanneld's command line: Go `flag` grammar (go-flag.ts), then the FLANNELD_* environment (env.ts),
// then the defaults and types of FLAG_SPECS. (yargs did that last step until it was found to cost ~8 MiB
// of resident memory for what is a table lookup here: see the README's dependency section.)
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { FLAG_SPECS, FlagError } from './flags.js';
import type { FlagName, Flags, LogFormat } from './flags.js';
import { applyEnv, envName } from './env.js';
import { scanArgs } from './go-flag.js';
import type { FlagValues } from './go-flag.js';
import { NOT_YET_SUPPORTED } from './unsupported.js';

export type FlagSource = 'command-line' | 'env';

export type ParseResult =
  | {
      readonly kind: 'run';
      readonly flags: Flags;
      /** The flags given explicitly, and where; a flag absent here has its default. */
      readonly setBy: Readonly<Partial<Record<FlagName, FlagSource>>>;
      /** Bad environment values that were ignored; the reference logs these as errors and carries on. */
      readonly warnings: readonly string[];
    }
  | { readonly kind: 'help'; readonly text: string }
  /** --version: print `version` to stderr and exit 0. */
  | { readonly kind: 'version'; readonly version: string };

export const RENEW_MARGIN_MIN = 1;
export const RENEW_MARGIN_MAX = 1439;

/**
 * Parses flanneld's arguments (without the node and script paths) and environment. Pure apart from
 * reading package.json for --version. Throws FlagError for anything the reference would exit on.
 */
export function parseArgs(argv: readonly string[], env: NodeJS.ProcessEnv): ParseResult {
  const scan = scanArgs(argv);
  if (scan.help) return { kind: 'help', text: helpText() };
  // As in the reference, --version is honoured before the environment is read and before anything else
  // about the command line is judged.
  if (scan.values.get('version')?.at(-1) === 'true') return { kind: 'version', version: readVersion() };
  if (scan.positionals.length > 0) {
    const list = scan.positionals.map((p) => JSON.stringify(p)).join(' ');
    // "--ip-masq false" is the classic trap: Go bools never take the next argument.
    const hint = /^(true|false|[01tfTF]|TRUE|FALSE|True|False)$/.test(scan.positionals[0] ?? '') ? ' (a bool flag takes its value as -flag=value)' : '';
    throw new FlagError(`flanneld takes no positional arguments, got: ${list}${hint}`, undefined, scan.positionals.join(' '));
  }
  const setBy: Partial<Record<FlagName, FlagSource>> = {};
  for (const name of scan.values.keys()) setBy[name] = 'command-line';
  const { fromEnv, warnings } = applyEnv(scan.values, env);
  for (const name of fromEnv) setBy[name] = 'env';
  const flags = toFlags(applySpecs(scan.values));
  checkRenewMargin(flags, setBy['subnet-lease-renew-margin']);
  if (flags.peerProbeInterval < 0) {
    const where = setBy['peer-probe-interval'] === 'env' ? ` (from ${envName('peer-probe-interval')})` : '';
    throw new FlagError(`invalid peer-probe-interval ${flags.peerProbeInterval}${where}: a number of seconds, or 0 to turn the peer probes off`, 'peer-probe-interval', String(flags.peerProbeInterval));
  }
  return { kind: 'run', flags, setBy: Object.freeze(setBy), warnings: Object.freeze(warnings) };
}

// The reference checks the margin after the environment is applied, so a bad env value is fatal here.
function checkRenewMargin(flags: Flags, source: FlagSource | undefined): void {
  const m = flags.subnetLeaseRenewMargin;
  if (m >= RENEW_MARGIN_MIN && m <= RENEW_MARGIN_MAX) return;
  const where = source === 'env' ? ` (from ${envName('subnet-lease-renew-margin')})` : '';
  throw new FlagError(
    `invalid subnet-lease-renew-margin ${m}${where}: out of acceptable range, must be ${RENEW_MARGIN_MIN}..${RENEW_MARGIN_MAX} minutes`,
    'subnet-lease-renew-margin',
    String(m),
  );
}

const HELP_HEAD =
  'Usage: flanneld [flags]\n\nEvery flag is accepted as -flag or --flag, with -flag=value or -flag value.\n\nFlags:\n';
const HELP_TAIL =
  '\nEach flag not given on the command line is read from FLANNELD_<NAME> (upper case, "-" as "_"),\n' +
  'e.g. FLANNELD_ETCD_ENDPOINTS or FLANNELD_IP_MASQ; the command line wins; empty values are ignored.\n';

/** The --help text: every flag with its type, default and meaning, and the environment form. */
export function helpText(): string {
  const lines = FLAG_SPECS.map((spec) => {
    const later = (NOT_YET_SUPPORTED as readonly string[]).includes(spec.name) ? ' [not supported by flannel-ts yet]' : '';
    const type = spec.kind === 'list' ? 'value (repeatable)' : spec.kind;
    return `  --${spec.name} ${type}\n        ${spec.usage}${later} [default: ${JSON.stringify(spec.default)}]\n`;
  });
  return HELP_HEAD + lines.join('') + HELP_TAIL;
}

/**
 * Each flag's value with its type, from the scanned values (already validated and canonical: "true" or
 * "false", base-10 integers) or its default. Go keeps the last value of a non-repeatable flag.
 */
function applySpecs(values: FlagValues): Record<string, unknown> {
  const o: Record<string, unknown> = {};
  for (const spec of FLAG_SPECS) {
    const given = values.get(spec.name) ?? [];
    const last = given.at(-1);
    if (spec.kind === 'list') o[spec.name] = given.length > 0 ? [...given] : [...spec.default];
    else if (last === undefined) o[spec.name] = spec.default;
    else if (spec.kind === 'bool') o[spec.name] = last === 'true';
    else if (spec.kind === 'int') o[spec.name] = Number(last);
    else o[spec.name] = last;
  }
  return o;
}

function str(o: Record<string, unknown>, name: FlagName): string {
  const v = o[name];
  if (typeof v !== 'string') throw new FlagError(`internal: flag -${name} parsed to ${typeof v}`, name);
  return v;
}

function bool(o: Record<string, unknown>, name: FlagName): boolean {
  const v = o[name];
  if (typeof v !== 'boolean') throw new FlagError(`internal: flag -${name} parsed to ${typeof v}`, name);
  return v;
}

function int(o: Record<string, unknown>, name: FlagName): number {
  const v = o[name];
  if (typeof v !== 'number' || !Number.isSafeInteger(v)) throw new FlagError(`internal: flag -${name} parsed to ${String(v)}`, name);
  return v;
}

function list(o: Record<string, unknown>, name: FlagName): readonly string[] {
  const v = o[name];
  if (!Array.isArray(v) || !v.every((x): x is string => typeof x === 'string')) {
    throw new FlagError(`internal: flag -${name} parsed to ${typeof v}`, name);
  }
  return Object.freeze([...v]);
}

function toFlags(o: Record<string, unknown>): Flags {
  return Object.freeze({
    // Split exactly like the reference (strings.Split): no trimming, empty pieces kept.
    etcdEndpoints: Object.freeze(str(o, 'etcd-endpoints').split(',')),
    etcdPrefix: str(o, 'etcd-prefix'),
    etcdKeyfile: str(o, 'etcd-keyfile'),
    etcdCertfile: str(o, 'etcd-certfile'),
    etcdCafile: str(o, 'etcd-cafile'),
    etcdUsername: str(o, 'etcd-username'),
    etcdPassword: str(o, 'etcd-password'),
    iface: list(o, 'iface'),
    ifaceRegex: list(o, 'iface-regex'),
    ifaceCanReach: str(o, 'iface-can-reach'),
    subnetFile: str(o, 'subnet-file'),
    publicIP: str(o, 'public-ip'),
    publicIPv6: str(o, 'public-ipv6'),
    subnetLeaseRenewMargin: int(o, 'subnet-lease-renew-margin'),
    ipMasq: bool(o, 'ip-masq'),
    ipMasqFullyRandomDisable: bool(o, 'ip-masq-fully-random-disable'),
    kubeSubnetMgr: bool(o, 'kube-subnet-mgr'),
    kubeApiUrl: str(o, 'kube-api-url'),
    kubeAnnotationPrefix: str(o, 'kube-annotation-prefix'),
    kubeconfigFile: str(o, 'kubeconfig-file'),
    healthzIP: str(o, 'healthz-ip'),
    healthzPort: int(o, 'healthz-port'),
    iptablesResync: int(o, 'iptables-resync'),
    iptablesForwardRules: bool(o, 'iptables-forward-rules'),
    ipBlackholeRoute: bool(o, 'ip-blackhole-route'),
    netConfigPath: str(o, 'net-config-path'),
    setNodeNetworkUnavailable: bool(o, 'set-node-network-unavailable'),
    peerProbeInterval: int(o, 'peer-probe-interval'),
    v: int(o, 'v'),
    vmodule: str(o, 'vmodule'),
    logBacktraceAt: str(o, 'log_backtrace_at'),
    // Validated by the scanner (canonicalValue).
    logFormat: str(o, 'log-format') as LogFormat,
  });
}

/**
 * The "version" of the nearest package.json named flannel-ts above this module, so the same code works
 * from the sources and from dist/. Throws if none is found.
 */
export function readVersion(): string {
  let dir = dirname(fileURLToPath(import.meta.url));
  for (;;) {
    const file = join(dir, 'package.json');
    if (existsSync(file)) {
      const pkg: unknown = JSON.parse(readFileSync(file, 'utf8'));
      if (isObject(pkg) && pkg.name === 'flannel-ts' && typeof pkg.version === 'string') return pkg.version;
    }
    const parent = dirname(dir);
    if (parent === dir) throw new Error('flannel-ts package.json not found');
    dir = parent;
  }
}

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null;
}

export interface CommandLineOptions {
  /** How the command names itself in messages: "flanneld" or "flanneld diagnose". */
  command: string;
  /** The exit code for a bad command line. */
  badUsageExit: number;
  /** Text printed before the flag list on --help. */
  usage?: string;
}

export type CommandLine = { readonly kind: 'exit'; readonly code: number } | Extract<ParseResult, { kind: 'run' }>;

/**
 * What every flanneld command does with its command line: runs `parse` (parseArgs, possibly after taking
 * out options of its own), prints --help to stdout or the version to stderr, or a bad command line to
 * stderr, and says which exit code to use; otherwise hands back the parsed flags.
 */
export function commandLine(parse: () => ParseResult, opts: CommandLineOptions): CommandLine {
  let parsed: ParseResult;
  try {
    parsed = parse();
  } catch (e) {
    if (!(e instanceof FlagError)) throw e;
    process.stderr.write(`${opts.command}: ${e.message}\nRun ${opts.command} --help for the list of flags.\n`);
    return { kind: 'exit', code: opts.badUsageExit };
  }
  if (parsed.kind === 'help') {
    process.stdout.write((opts.usage ?? '') + parsed.text);
    return { kind: 'exit', code: 0 };
  }
  if (parsed.kind === 'version') {
    process.stderr.write(`${parsed.version}\n`);
    return { kind: 'exit', code: 0 };
  }
  return parsed;
}
