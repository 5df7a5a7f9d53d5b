// The `diagnose` command line: flanneld's own flags and FLANNELD_* environment (parseArgs), plus
// --output=text|json (report-cli.ts).
import { createLogger } from '../log.js';
import { reportCommandLine } from '../report-cli.js';
import { runDiagnose } from './run.js';

const USAGE =
  'Usage: flanneld diagnose [flags] [--output=text|json]\n\n' +
  'Compares the leases in the store with this host\'s kernel state (read-only) and lists what is missing\n' +
  'or stale. Takes the same flags and FLANNELD_* environment as flanneld (--etcd-endpoints, --subnet-file,\n' +
  '--iface, ...). Exit code 0: everything matches; 1: something is missing, stale or wrong; 2: cannot check.\n\n';

/** `flanneld diagnose …` (argv without the word `diagnose`); resolves with the exit code. */
export async function diagnoseMain(argv: readonly string[], env: NodeJS.ProcessEnv): Promise<number> {
  const { parsed, format } = reportCommandLine(argv, env, { command: 'flanneld diagnose', badUsageExit: 2, usage: USAGE });
  if (parsed.kind === 'exit') return parsed.code;
  const { flags } = parsed;
  const root = createLogger({ verbosity: flags.v, format: flags.logFormat, secrets: [flags.etcdPassword] });
  try {
    return await runDiagnose(flags, format, (c) => root.child(c));
  } finally {
    await root.close();
  }
}
