#!/usr/bin/env node
// flanneld's entry point and its one exit path: parse flags, run the daemon until SIGTERM/SIGINT
// (exit 0, leaving the lease, subnet.env and the kernel state in place) or a fatal error (exit 1 with
// one line saying what to fix).
import { commandLine, parseArgs } from './cli.js';
import { runDaemon } from './daemon.js';
import { FatalError, invalidConfigMessage, isConfigError } from './errors.js';
import { createLogger, flagsForLog, type RootLogger } from './log.js';
import { SUPPORTED_FLAGS, unsupportedFlags } from './unsupported.js';

export async function main(argv: readonly string[], env: NodeJS.ProcessEnv): Promise<number> {
  // `flanneld diagnose …`: the read-only check of leases against the kernel (flanneld/diagnose/).
  if (argv[0] === 'diagnose') return (await import('./diagnose/cli.js')).diagnoseMain(argv.slice(1), env);
  // `flanneld status …`: a running daemon's view of its peers, read from its /status (flanneld/probe/).
  if (argv[0] === 'status') return (await import('./probe/status-cli.js')).statusMain(argv.slice(1), env);
  const parsed = commandLine(() => parseArgs(argv, env), { command: 'flanneld', badUsageExit: 1 });
  if (parsed.kind === 'exit') return parsed.code;
  const { flags } = parsed;
  const root = createLogger({ verbosity: flags.v, format: flags.logFormat, secrets: [flags.etcdPassword] });
  const logger = root.child('main');
  for (const w of parsed.warnings) logger.error(w);
  const refused = unsupportedFlags(flags, SUPPORTED_FLAGS);
  if (refused.length > 0) return fatal(root, refused.join('; '));
  logger.info('CLI flags config', flagsForLog(flags));

  const controller = new AbortController();
  const stop = (sig: NodeJS.Signals): void => {
    logger.info(`received ${sig}, shutting down`);
    // After the first signal the default action is back, so a second one kills the process.
    process.removeListener('SIGINT', stop);
    process.removeListener('SIGTERM', stop);
    controller.abort();
  };
  process.once('SIGINT', stop);
  process.once('SIGTERM', stop);
  try {
    await runDaemon({ flags, log: (c) => root.child(c), signal: controller.signal });
  } catch (e) {
    return fatal(root, e instanceof FatalError ? e.message : describe(e));
  }
  await root.close();
  return 0;
}

function describe(e: unknown): string {
  if (isConfigError(e)) return invalidConfigMessage(e.message, e.field);
  return e instanceof Error ? `${e.name}: ${e.message}` : String(e);
}

async function fatal(root: RootLogger, message: string): Promise<number> {
  root.child('main').error(`fatal: ${message}`);
  await root.close();
  return 1;
}

// The gRPC client and timers may keep the loop alive after shutdown; the exit code is decided here.
main(process.argv.slice(2), process.env).then(
  (code) => process.exit(code),
  (e: unknown) => {
    process.stderr.write(`flanneld: unexpected error: ${e instanceof Error ? (e.stack ?? e.message) : String(e)}\n`);
    process.exit(1);
  },
);
