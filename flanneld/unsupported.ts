// Flags flannel-ts accepts (so a reference command line parses) but whose feature does not exist yet.
// Silently ignoring, say, --ip-masq would leave pods without masquerading and nobody would know why, so
// the daemon refuses such a flag when it is set to anything but its default.
import { FLAG_FIELDS, FLAG_SPECS } from './flags.js';
import type { FlagName, Flags } from './flags.js';

const PENDING = {
  vmodule: 'per-file verbosity is klog-specific; use -v',
  log_backtrace_at: 'per-line stack traces are klog-specific',
} as const satisfies Partial<Record<FlagName, string>>;

/** The flags whose feature flannel-ts lacks today; shrink this as features land. */
export const NOT_YET_SUPPORTED: readonly FlagName[] = Object.freeze(Object.keys(PENDING) as (keyof typeof PENDING)[]);

/** Every flag whose feature exists today: the set the daemon passes to `unsupportedFlags`. */
export const SUPPORTED_FLAGS: ReadonlySet<string> = new Set(
  FLAG_SPECS.map((s) => s.name).filter((n) => !(NOT_YET_SUPPORTED as readonly string[]).includes(n)),
);

function sameValue(value: unknown, dflt: unknown): boolean {
  if (Array.isArray(value) && Array.isArray(dflt)) return value.length === dflt.length && value.every((x, i) => x === dflt[i]);
  // etcd-endpoints is a string flag that Flags holds split on ",".
  if (Array.isArray(value) && typeof dflt === 'string') return value.join(',') === dflt;
  return value === dflt;
}

/**
 * One message per flag set to a non-default value whose feature is not in `supported` (flag names).
 * Judged by value, not by presence, so `--iptables-forward-rules=true` (the default) passes.
 */
export function unsupportedFlags(flags: Flags, supported: ReadonlySet<string>): string[] {
  const messages: string[] = [];
  for (const spec of FLAG_SPECS) {
    if (spec.name === 'version' || supported.has(spec.name)) continue;
    const value = flags[FLAG_FIELDS[spec.name]];
    if (sameValue(value, spec.default)) continue;
    const why = Object.hasOwn(PENDING, spec.name) ? PENDING[spec.name as keyof typeof PENDING] : 'not implemented';
    messages.push(`--${spec.name} is not supported by flannel-ts yet (${why}); remove it or leave it at its default`);
  }
  return messages;
}
