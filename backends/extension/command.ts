// Running one extension command the way the reference documents it: through `/bin/sh -c`, so the
// documented examples (`read`, pipes, `$SUBNET`, `export …;`) work; flanneld's environment plus the
// command's variables; stdin = the given text followed by a newline; stdout and stderr captured together
// (the reference's CombinedOutput, which becomes BackendData for PreStartupCommand) and apart (so a
// failure's log line can show stderr). A command still running after the timeout, or when the caller's
// signal aborts, is killed with everything it started (the reference would wait forever).
import { spawn } from 'node:child_process';

export interface CommandResult {
  /** The exit code; null when killed by a signal (the timeout's and an abort's included) or never started. */
  code: number | null;
  signal: NodeJS.Signals | null;
  /** stdout and stderr together, in the order written, trimmed. */
  output: string;
  /** stdout alone, trimmed. */
  stdout: string;
  /** stderr alone, trimmed (the error text when the shell could not be started). */
  stderr: string;
  timedOut: boolean;
  aborted: boolean;
}

export interface RunOptions {
  /** Kill the command after this long (default 60 s). */
  timeoutMs?: number;
  /** Kills the command when aborted; the result then has `aborted: true`. */
  signal?: AbortSignal;
}

export const COMMAND_TIMEOUT_MS = 60_000;
const MAX_OUTPUT = 64 * 1024;

export const commandSucceeded = (r: CommandResult): boolean => r.code === 0 && !r.timedOut && !r.aborted;

/**
 * Runs `cmd` through /bin/sh -c. Never rejects: a command that fails, cannot start, times out or is
 * aborted resolves with a result that says so. Each call starts a new process; nothing is shared.
 */
export function runCommand(cmd: string, vars: Readonly<Record<string, string>>, stdin: string, opts: RunOptions = {}): Promise<CommandResult> {
  const timeoutMs = opts.timeoutMs ?? COMMAND_TIMEOUT_MS;
  return new Promise((resolve) => {
    if (opts.signal?.aborted) return resolve({ code: null, signal: null, output: '', stdout: '', stderr: '', timedOut: false, aborted: true });
    // Its own process group, so that a kill reaches what the shell started too (which holds the pipes).
    const child = spawn('/bin/sh', ['-c', cmd], { env: { ...process.env, ...vars }, stdio: ['pipe', 'pipe', 'pipe'], detached: true });
    let output = '';
    let stdout = '';
    let stderr = '';
    let timedOut = false;
    let aborted = false;
    const take = (b: Buffer): void => {
      if (output.length < MAX_OUTPUT) output += b.toString();
    };
    child.stdout.on('data', (b: Buffer) => {
      take(b);
      if (stdout.length < MAX_OUTPUT) stdout += b.toString();
    });
    child.stderr.on('data', (b: Buffer) => {
      take(b);
      if (stderr.length < MAX_OUTPUT) stderr += b.toString();
    });
    const killGroup = (): void => {
      try {
        process.kill(-child.pid!, 'SIGKILL');
      } catch {
        child.kill('SIGKILL');
      }
    };
    const timer = setTimeout(() => ((timedOut = true), killGroup()), timeoutMs);
    const onAbort = (): void => ((aborted = true), killGroup());
    opts.signal?.addEventListener('abort', onAbort, { once: true });
    const finish = (r: Pick<CommandResult, 'code' | 'signal'>, err = ''): void => {
      clearTimeout(timer);
      opts.signal?.removeEventListener('abort', onAbort);
      resolve({ ...r, output: output.trim(), stdout: stdout.trim(), stderr: (err || stderr).trim(), timedOut, aborted });
    };
    child.on('error', (e) => finish({ code: null, signal: null }, e.message));
    child.on('close', (code, signal) => finish({ code, signal }));
    child.stdin.on('error', () => undefined); // a command that never reads its stdin
    child.stdin.end(`${stdin}\n`);
  });
}

/** A command's text for a log line: escaped (one line, control characters visible) and cut at 500 characters. */
export function escapeOutput(text: string): string {
  return JSON.stringify(text.length > 500 ? `${text.slice(0, 500)}…` : text);
}

/**
 * `exit code 3, stderr "no such device\nline 2"` (stdout added when the command wrote any), `killed after
 * 60 s`, `signal SIGSEGV`: for log lines and errors.
 */
export function describeFailure(r: CommandResult, timeoutMs = COMMAND_TIMEOUT_MS): string {
  const how = r.aborted ? 'killed on shutdown' : r.timedOut ? `killed after ${timeoutMs / 1000} s` : r.code !== null ? `exit code ${r.code}` : `signal ${r.signal ?? 'unknown'}`;
  return `${how}, stderr ${escapeOutput(r.stderr)}${r.stdout ? `, stdout ${escapeOutput(r.stdout)}` : ''}`;
}
