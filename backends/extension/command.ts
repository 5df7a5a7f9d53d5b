// Running one extension command the way the reference documents it: through `/bin/sh -c`, so the
// documented examples (`read`, pipes, `$SUBNET`) work; flanneld's environment plus the command's
// variables; stdin = the given text followed by a newline; stdout and stderr captured together and
// trimmed. A command that runs longer than the timeout is killed (the reference would hang).
import { spawn } from 'node:child_process';

export interface CommandResult {
  /** The exit code; null when killed by a signal (the timeout's included). */
  code: number | null;
  signal: NodeJS.Signals | null;
  /** stdout and stderr together, trimmed. */
  output: string;
  timedOut: boolean;
}

export const COMMAND_TIMEOUT_MS = 60_000;
const MAX_OUTPUT = 64 * 1024;

export function runCommand(cmd: string, vars: Readonly<Record<string, string>>, stdin: string, timeoutMs = COMMAND_TIMEOUT_MS): Promise<CommandResult> {
  return new Promise((resolve) => {
    // Its own process group, so that a timeout kills what the shell started too (which holds the pipes).
    const child = spawn('/bin/sh', ['-c', cmd], { env: { ...process.env, ...vars }, stdio: ['pipe', 'pipe', 'pipe'], detached: true });
    let output = '';
    let timedOut = false;
    const take = (b: Buffer): void => {
      if (output.length < MAX_OUTPUT) output += b.toString();
    };
    child.stdout.on('data', take);
    child.stderr.on('data', take);
    const timer = setTimeout(() => {
      timedOut = true;
      try {
        process.kill(-child.pid!, 'SIGKILL');
      } catch {
        child.kill('SIGKILL');
      }
    }, timeoutMs);
    child.on('error', (e) => {
      clearTimeout(timer);
      resolve({ code: null, signal: null, output: e.message, timedOut: false });
    });
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      resolve({ code, signal, output: output.trim(), timedOut });
    });
    child.stdin.on('error', () => undefined); // a command that never reads its stdin
    child.stdin.end(`${stdin}\n`);
  });
}

/** "exit code 3: <output>", "killed after 60 s", for log lines and errors. */
export function describeFailure(r: CommandResult, timeoutMs = COMMAND_TIMEOUT_MS): string {
  const how = r.timedOut ? `killed after ${timeoutMs / 1000} s` : r.code !== null ? `exit code ${r.code}` : `signal ${r.signal ?? 'unknown'}`;
  return r.output ? `${how}: ${r.output}` : how;
}
