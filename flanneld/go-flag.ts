// Go's `flag` package grammar and value syntax, which no npm argument parser can be configured into:
// in Go a bool flag never takes the next argument, any other flag always does (even one starting with
// "-"), `-x` equals `--x`, and parsing stops at the first non-flag. The scanner turns argv into validated,
// canonical values per flag; cli.ts then applies the types and defaults of FLAG_SPECS.
import { FlagError, flagSpec, removedFlagMessage } from './flags.js';
import type { FlagName, FlagSpec } from './flags.js';

/** A value that does not parse; `reason` is Go's wording ("parse error", "value out of range"). */
export class ValueError extends Error {
  override readonly name = 'ValueError';
  constructor(readonly reason: string) {
    super(reason);
  }
}

const GO_TRUE = new Set(['1', 't', 'T', 'TRUE', 'true', 'True']);
const GO_FALSE = new Set(['0', 'f', 'F', 'FALSE', 'false', 'False']);

/** strconv.ParseBool. */
export function parseGoBool(s: string): boolean {
  if (GO_TRUE.has(s)) return true;
  if (GO_FALSE.has(s)) return false;
  throw new ValueError('parse error');
}

// strconv.ParseInt(s, 0, 64): sign, then 0x / 0o / 0b / leading-0 octal / decimal, with underscores
// allowed only between digits or after a base prefix.
const GO_INT_BASE0 = /^[+-]?(0[xX](_?[0-9a-fA-F])+|0[bB](_?[01])+|0[oO](_?[0-7])+|0(_?[0-7])*|[1-9](_?[0-9])*)$/;
const GO_INT_BASE10 = /^[+-]?[0-9]+$/;

/** strconv.ParseInt with base 0 (Go's int flags) or base 10 (klog's -v), limited to JS safe integers. */
export function parseGoInt(s: string, base: 0 | 10 = 0, bits: 32 | 64 = 64): number {
  if (!(base === 0 ? GO_INT_BASE0 : GO_INT_BASE10).test(s)) throw new ValueError('parse error');
  const negative = s.startsWith('-');
  let digits = s.replace(/^[+-]/, '').replaceAll('_', '');
  // A legacy leading-zero octal ("017") becomes BigInt's "0o17"; other prefixes BigInt reads as is.
  if (base === 0 && /^0[0-7]+$/.test(digits)) digits = `0o${digits.slice(1)}`;
  if (base === 10) digits = digits.replace(/^0+(?=\d)/, '');
  const magnitude = BigInt(digits);
  const value = negative ? -magnitude : magnitude;
  const limit = 1n << BigInt(bits - 1);
  if (value < -limit || value >= limit || value > BigInt(Number.MAX_SAFE_INTEGER) || value < BigInt(Number.MIN_SAFE_INTEGER)) {
    throw new ValueError('value out of range');
  }
  return Number(value);
}

/**
 * Checks one raw value against its flag and returns it in canonical form ("true"/"false", a decimal
 * integer, the string itself), which is what cli.ts later types. Throws ValueError.
 */
export function canonicalValue(spec: FlagSpec, raw: string): string {
  switch (spec.kind) {
    case 'bool':
      return String(parseGoBool(raw));
    case 'int':
      // klog declares -v as a Level, parsed base 10 into 32 bits.
      return spec.name === 'v' ? String(parseGoInt(raw, 10, 32)) : String(parseGoInt(raw));
    case 'string':
      if (spec.name === 'log-format' && raw !== 'text' && raw !== 'json') throw new ValueError('must be text or json');
      return raw;
    case 'list':
      return raw;
  }
}

/** Every occurrence per flag, canonical; for a non-list flag the last one wins, as in Go. */
export type FlagValues = Map<FlagName, string[]>;

export interface ScanResult {
  readonly values: FlagValues;
  /** -h, -help, --help, --h: Go answers ErrHelp when those are not defined. */
  readonly help: boolean;
  /** Arguments from the first non-flag on (or after "--"). */
  readonly positionals: readonly string[];
}

/** Records one value in `values`, appending for lists and replacing otherwise. */
export function record(values: FlagValues, spec: FlagSpec, value: string): void {
  const name = spec.name as FlagName;
  const prev = values.get(name);
  values.set(name, spec.kind === 'list' && prev !== undefined ? [...prev, value] : [value]);
}

/** Scans argv with Go's FlagSet.Parse rules. Throws FlagError with Go's messages. */
export function scanArgs(argv: readonly string[]): ScanResult {
  const values: FlagValues = new Map();
  let i = 0;
  for (let arg = argv[i]; arg !== undefined; arg = argv[i]) {
    if (arg.length < 2 || !arg.startsWith('-')) break;
    i++;
    if (arg === '--') return { values, help: false, positionals: argv.slice(i) };
    const body = arg.slice(arg.startsWith('--') ? 2 : 1);
    if (body === '' || body.startsWith('-') || body.startsWith('=')) throw new FlagError(`bad flag syntax: ${arg}`, body);
    const eq = body.indexOf('=');
    const name = eq < 0 ? body : body.slice(0, eq);
    const inline = eq < 0 ? undefined : body.slice(eq + 1);
    const spec = lookup(name, inline);
    if (spec === undefined) return { values, help: true, positionals: [] };
    if (spec.kind === 'bool') {
      record(values, spec, canonicalOrThrow(spec, inline ?? 'true', true));
      continue;
    }
    let raw = inline;
    if (raw === undefined) {
      raw = argv[i++];
      if (raw === undefined) throw new FlagError(`flag needs an argument: -${name}`, name);
    }
    record(values, spec, canonicalOrThrow(spec, raw, false));
  }
  return { values, help: false, positionals: argv.slice(i) };
}

/** The spec of `name`; undefined means "help was asked for"; anything else unknown throws. */
function lookup(name: string, value: string | undefined): FlagSpec | undefined {
  const spec = flagSpec(name);
  if (spec !== undefined) return spec;
  if (name === 'help' || name === 'h') return undefined;
  const removed = removedFlagMessage(name);
  throw new FlagError(removed ?? `flag provided but not defined: -${name}`, name, value);
}

function canonicalOrThrow(spec: FlagSpec, raw: string, isBool: boolean): string {
  try {
    return canonicalValue(spec, raw);
  } catch (e) {
    if (!(e instanceof ValueError)) throw e;
    // Go words the two cases differently; keep both so messages match the reference's.
    const msg = isBool
      ? `invalid boolean value ${JSON.stringify(raw)} for -${spec.name}: ${e.reason}`
      : `invalid value ${JSON.stringify(raw)} for flag -${spec.name}: ${e.reason}`;
    throw new FlagError(msg, spec.name, raw);
  }
}
