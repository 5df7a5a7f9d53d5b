// Running iptables/nft as child processes (as the reference does through go-iptables and knftables).
// A runner is injected everywhere, so the rule logic is unit-tested without root and the real
// commands only run inside a test's own network namespace or on the host flanneld manages.
import { execFile } from 'node:child_process';

/** A command that could not be started (ENOENT: not installed) or exited non-zero. */
export class CommandError extends Error {
  override readonly name = 'CommandError';
  constructor(
    message: string,
    readonly command: string,
    /** The exit code, or an errno name such as "ENOENT" when the command could not start. */
    readonly code: number | string,
    readonly stderr: string,
  ) {
    super(message);
  }

  get notInstalled(): boolean {
    return this.code === 'ENOENT';
  }
}

export interface CommandRunner {
  /** Runs `cmd args`, feeding `input` on stdin; resolves with stdout, rejects with CommandError. */
  run(cmd: string, args: readonly string[], input?: string): Promise<string>;
}

// systemd units and snaps do not always put the sbin directories on PATH; iptables and nft live there.
const SBIN = ['/usr/local/sbin', '/usr/sbin', '/sbin', '/usr/bin', '/bin'];

function searchPath(): string {
  const have = (process.env.PATH ?? '').split(':').filter((p) => p !== '');
  return [...have, ...SBIN.filter((p) => !have.includes(p))].join(':');
}

/** The runner for real commands: a fixed argument vector, never a shell. */
export const execRunner: CommandRunner = {
  run(cmd, args, input) {
    return new Promise((resolve, reject) => {
      const child = execFile(cmd, [...args], { env: { ...process.env, PATH: searchPath() }, maxBuffer: 64 << 20 }, (err, stdout, stderr) => {
        if (!err) return resolve(stdout);
        const code = (err as NodeJS.ErrnoException).code ?? child.exitCode ?? -1;
        const why = String(stderr).trim() || err.message;
        reject(new CommandError(`${cmd} ${args.join(' ')}: ${why}`, cmd, code, String(stderr)));
      });
      child.stdin?.on('error', () => undefined); // the command may exit before reading its input
      child.stdin?.end(input ?? '');
    });
  },
};
