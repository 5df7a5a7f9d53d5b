// The FLANNELD_* environment form (coreos/pkg flagutil.SetFlagsFromEnv, run by the reference after the
// command line): each flag not given on the command line is read from FLANNELD_<NAME>. A bad value is
// reported and ignored rather than fatal, because that is what the reference does and DaemonSets rely on
// flanneld starting with the rest of its environment.
import { FLAG_SPECS } from './flags.js';
import type { FlagName } from './flags.js';
import { ValueError, canonicalValue, record } from './go-flag.js';
import type { FlagValues } from './go-flag.js';

const ENV_PREFIX = 'FLANNELD';

// Variables a reference user might still set for flags Flannel removed; they did nothing there either,
// but a warning saves someone an afternoon.
const REMOVED_ENV = ['NETWORKS', 'SUBNET_DIR', 'LISTEN', 'REMOTE', 'AUTO_DETECT_IPV4', 'AUTO_DETECT_IPV6', 'USE_MULTI_CLUSTER_CIDR'];

/** FLANNELD_ + the flag name upper-cased with "-" turned into "_" (so `v` is FLANNELD_V). */
export function envName(flag: string): string {
  return `${ENV_PREFIX}_${flag.replaceAll('-', '_').toUpperCase()}`;
}

export interface EnvResult {
  /** Flags whose value came from the environment. */
  readonly fromEnv: ReadonlySet<FlagName>;
  /** One message per ignored bad value (the caller logs them as errors). */
  readonly warnings: readonly string[];
}

/**
 * Fills `values` from `env` for every flag absent from it. Empty variables are ignored; a repeatable flag
 * gets exactly one value, unsplit. `version` is skipped: the reference checks it before reading the
 * environment, so FLANNELD_VERSION never prints a version.
 */
export function applyEnv(values: FlagValues, env: NodeJS.ProcessEnv): EnvResult {
  const fromEnv = new Set<FlagName>();
  const warnings: string[] = [];
  for (const spec of FLAG_SPECS) {
    if (spec.name === 'version' || values.has(spec.name)) continue;
    const key = envName(spec.name);
    const raw = env[key];
    if (raw === undefined || raw === '') continue;
    try {
      record(values, spec, canonicalValue(spec, raw));
      fromEnv.add(spec.name);
    } catch (e) {
      if (!(e instanceof ValueError)) throw e;
      warnings.push(`invalid value ${JSON.stringify(raw)} for ${key}: ${e.reason}; ignored`);
    }
  }
  for (const suffix of REMOVED_ENV) {
    const key = `${ENV_PREFIX}_${suffix}`;
    if (env[key]) warnings.push(`${key} is set, but --${suffix.toLowerCase().replaceAll('_', '-')} was removed from Flannel; ignored`);
  }
  return { fromEnv, warnings };
}
