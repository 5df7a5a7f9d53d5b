// flanneld's logging: lines written to stderr like klog does in the reference, either as klog-like text
// (so existing log tooling keeps parsing it) or as one JSON object per line. Secrets are removed before
// rendering (meta keys that name a secret are blanked; every registered secret string is cut out of the
// message and of every meta string, so a password quoted inside an error message cannot leak either),
// and the finished line is searched once more for a registered secret as a last guard.
import type { Logger } from '../common/log.js';
import { FLAG_FIELDS, FLAG_SPECS, SECRET_FLAGS } from './flags.js';
import type { Flags, LogFormat } from './flags.js';

export const REDACTED = '<redacted>';

// Meta keys whose values are secret. Deliberately not "key": in this project that is an etcd key path.
const SECRET_KEY = /password|passwd|token|secret|private.?key|psk|authorization/i;
type Level = 'error' | 'warn' | 'info' | 'debug';
const LETTER: Record<Level, string> = { error: 'E', warn: 'W', info: 'I', debug: 'I' }; // klog's V() lines are "I"

export interface LogOptions {
  /** The -v value: debug lines with `v` (default 1) above it are dropped. */
  readonly verbosity: number;
  readonly format: LogFormat;
  /** Where lines go; stderr by default, as klog with logtostderr. */
  readonly stream?: NodeJS.WritableStream;
  /** Microseconds since the epoch; injectable for tests. */
  readonly clock?: () => number;
  readonly pid?: number;
  /** Secrets known at creation (the etcd password); more can be added with registerSecret. */
  readonly secrets?: Iterable<string>;
}

export interface RootLogger extends Logger {
  /** A logger tagging every line with `component`; cheap, may be called for the same name twice. */
  child(component: string): Logger;
  /** Cuts `secret` out of every later line of this logger and its children. Empty strings are ignored. */
  registerSecret(secret: string): void;
  /** Flushes and closes the output; later log calls are dropped. Calling it twice is harmless. */
  close(): Promise<void>;
}

/**
 * A copy of `value` with secret-named keys blanked, `secrets` cut out of every string, Errors turned to
 * text and cycles cut. Strings are scrubbed here, before rendering, because rendering may escape a
 * secret more than once (a JSON string inside a JSON line) and then no search of the line finds it.
 */
export function redactMeta(value: unknown, secrets: Iterable<string> = [], seen: WeakSet<object> = new WeakSet()): unknown {
  if (value instanceof Error) return scrubSecrets(`${value.name}: ${value.message}`, secrets);
  if (typeof value === 'string') return scrubSecrets(value, secrets);
  if (typeof value === 'bigint') return value.toString();
  if (typeof value !== 'object' || value === null) return value;
  if (seen.has(value)) return '[circular]';
  seen.add(value);
  if (Array.isArray(value)) return value.map((v) => redactMeta(v, secrets, seen));
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(value)) {
    out[scrubSecrets(k, secrets)] = SECRET_KEY.test(k) && v !== '' ? REDACTED : redactMeta(v, secrets, seen);
  }
  return out;
}

/** `line` with every registered secret replaced, both raw and in its JSON-escaped form. */
export function scrubSecrets(line: string, secrets: Iterable<string>): string {
  let out = line;
  for (const s of secrets) {
    out = out.split(s).join(REDACTED);
    const escaped = JSON.stringify(s).slice(1, -1);
    if (escaped !== s) out = out.split(escaped).join(REDACTED);
  }
  return out;
}

function pad(n: number, width: number, fill = '0'): string {
  return String(n).padStart(width, fill);
}

/** klog's header: Lmmdd hh:mm:ss.uuuuuu PID (width 7) then the component where klog puts file:line. */
function klogHeader(level: Level, micros: number, pid: number, component: string): string {
  const d = new Date(Math.floor(micros / 1000));
  const date = pad(d.getMonth() + 1, 2) + pad(d.getDate(), 2);
  const time = `${pad(d.getHours(), 2)}:${pad(d.getMinutes(), 2)}:${pad(d.getSeconds(), 2)}.${pad(micros % 1_000_000, 6)}`;
  return `${LETTER[level]}${date} ${time} ${pad(pid, 7, ' ')} ${component}]`;
}

function textValue(v: unknown): string {
  if (typeof v === 'string') return /^[^\s"=]+$/.test(v) ? v : JSON.stringify(v);
  if (typeof v === 'object' && v !== null) return JSON.stringify(v);
  return String(v);
}

function isoMicros(micros: number): string {
  return new Date(Math.floor(micros / 1000)).toISOString().replace('Z', `${pad(micros % 1000, 3)}Z`);
}

interface Entry {
  level: Level;
  message: string;
  component: string;
  ts: number;
  v?: number;
  meta: Record<string, unknown>;
}

/** An entry as given by the caller, before secrets are removed. */
type RawEntry = Omit<Entry, 'meta'> & { meta: unknown };

function entryOf(raw: RawEntry, secrets: Set<string>): Entry {
  const meta = redactMeta(raw.meta, secrets);
  return {
    ...raw,
    message: scrubSecrets(raw.message, secrets),
    meta: typeof meta === 'object' && meta !== null ? (meta as Record<string, unknown>) : { meta },
  };
}

function renderText(e: Entry, pid: number): string {
  const fields = Object.entries(e.meta).map(([k, v]) => ` ${k}=${textValue(v)}`);
  return `${klogHeader(e.level, e.ts, pid, e.component)} ${e.message}${fields.join('')}`;
}

function renderJson(e: Entry): string {
  const v = e.level === 'debug' ? { v: e.v ?? 1 } : {};
  return JSON.stringify({ ts: isoMicros(e.ts), level: e.level, ...v, component: e.component, msg: e.message, meta: e.meta });
}

/**
 * Control characters (C0, DEL, C1), line and paragraph separators and the invisible direction and
 * zero-width marks: another host's lease key or value must not forge log lines or hide text (issue 12).
 */
const UNPRINTABLE = /[\u0000-\u001f\u007f-\u009f\u200b-\u200f\u2028-\u202e\u2060-\u2069\ufeff\ufff9-\ufffb]/g;

/** Escapes what UNPRINTABLE matches: `\n`, `\t`, `\r`, else `\xNN` (text) or `\uNNNN` (JSON, and above 0xff). */
export function escapeUnprintable(line: string, json: boolean): string {
  return line.replace(UNPRINTABLE, (c) => {
    const code = c.charCodeAt(0);
    const named = c === '\n' ? '\\n' : c === '\t' ? '\\t' : c === '\r' ? '\\r' : null;
    if (named) return named;
    if (code <= 0xff && !json) return `\\x${code.toString(16).padStart(2, '0')}`;
    return `\\u${code.toString(16).padStart(4, '0')}`;
  });
}

function renderLine(raw: RawEntry, format: LogFormat, pid: number, secrets: Set<string>): string {
  const entry = entryOf(raw, secrets);
  const line = format === 'json' ? renderJson(entry) : renderText(entry, pid);
  return escapeUnprintable(scrubSecrets(line, secrets), format === 'json');
}

function clockMicros(): number {
  return Math.floor((performance.timeOrigin + performance.now()) * 1000);
}

/** The level of a debug call: `meta.v` when it is a positive integer, else 1. */
function verbosityOf(meta: Record<string, unknown> | undefined): number {
  const v = meta?.v;
  return typeof v === 'number' && Number.isInteger(v) && v > 0 ? v : 1;
}

/**
 * Creates the process's root logger (component "flanneld"). Debug lines are shown from -v 1 on; pass
 * `{v: n}` in the meta of a debug call to show it only from -v n.
 */
export function createLogger(opts: LogOptions): RootLogger {
  const secrets = new Set([...(opts.secrets ?? [])].filter((s) => s !== ''));
  const clock = opts.clock ?? clockMicros;
  const stream = opts.stream ?? process.stderr;
  const pid = opts.pid ?? process.pid;
  let closed = false;
  let closing: Promise<void> | undefined;
  const make = (component: string): Logger => {
    const emit = (level: Level, message: string, meta?: Record<string, unknown>): void => {
      if (closed) return;
      // `v` only steers debug lines; on other levels it is ordinary meta.
      const { v: _v, ...rest } = meta ?? {};
      const debug = level === 'debug';
      const raw: RawEntry = { level, message, component, ts: clock(), v: debug ? verbosityOf(meta) : undefined, meta: debug ? rest : (meta ?? {}) };
      stream.write(`${renderLine(raw, opts.format, pid, secrets)}\n`);
    };
    return {
      error: (m, meta) => emit('error', m, meta),
      warn: (m, meta) => emit('warn', m, meta),
      info: (m, meta) => emit('info', m, meta),
      debug: (m, meta) => {
        if (verbosityOf(meta) <= opts.verbosity) emit('debug', m, meta);
      },
    };
  };
  return {
    ...make('flanneld'),
    child: make,
    registerSecret: (s) => {
      if (s !== '') secrets.add(s);
    },
    close: () => {
      closed = true;
      closing ??= flushed(stream);
      return closing;
    },
  };
}

/** Resolves once every line written so far has been handed on; the stream stays open (it may be stderr). */
function flushed(stream: NodeJS.WritableStream): Promise<void> {
  return new Promise((resolve) => {
    if (!stream.writable) return resolve();
    stream.write('', () => resolve());
  });
}

// user:password@ inside a URL (etcd endpoints, API server URL).
const URL_PASSWORD = /(\/\/[^/@:\s]*):[^/@\s]*@/g;

/**
 * The flags as meta for the start-up "CLI flags config" line, keyed by flag name, with every secret flag
 * and any password inside a URL replaced by "<redacted>" (an empty password stays visible as "").
 */
export function flagsForLog(flags: Flags): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const spec of FLAG_SPECS) {
    if (spec.name === 'version') continue;
    const value = flags[FLAG_FIELDS[spec.name]];
    if (SECRET_FLAGS.has(spec.name) && value !== '') out[spec.name] = REDACTED;
    else if (typeof value === 'string') out[spec.name] = value.replace(URL_PASSWORD, `$1:${REDACTED}@`);
    else if (Array.isArray(value)) out[spec.name] = value.map((s: string) => s.replace(URL_PASSWORD, `$1:${REDACTED}@`));
    else out[spec.name] = value;
  }
  return out;
}
