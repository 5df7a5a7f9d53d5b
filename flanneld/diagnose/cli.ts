// The `diagnose` command line: flanneld's own flags and FLANNELD_* environment (parseArgs), plus
// --output=text|json, which only this command knows and which is taken out before parseArgs sees it.
import { commandLine, parseArgs, type ParseResult } from '../cli.js';
import { FlagError } from '../flags.js';
import { createLogger } from '../log.js';
import { type OutputFormat, runDiagnose } from './run.js';

const USAGE =
  'Usage: flanneld diagnose [flags] [--output=text|json]\n\n' +
  'Compares the leases in the store with this host\'s kernel state (read-only) and lists what is missing\n' +
  'or stale. Takes the same flags and FLANNELD_* environment as flanneld (--etcd-endpoints, --subnet-file,\n' +
  '--iface, ...). Exit code 0: everything matches; 1: something is missing, stale or wrong; 2: cannot check.\n\n';

const OUTPUT = /^--?output(?:=(.*))?$/;

/** Splits off --output[=| ]value; FlagError for a value other than text or json. */
export function takeOutputFlag(argv: readonly string[]): { format: OutputFormat; rest: string[] } {
  const rest: string[] = [];
  let format: OutputFormat = 'text';
  for (let i = 0; i < argv.length; i++) {
    const m = OUTPUT.exec(argv[i]!);
    if (!m) {
      rest.push(argv[i]!);
      continue;
    }
    const value = m[1] ?? argv[++i];
    if (value !== 'text' && value !== 'json') throw new FlagError(`invalid value ${JSON.stringify(value ?? '')} for flag -output: text or json`, undefined, value ?? '');
    format = value;
  }
  return { format, rest };
}

/** `flanneld diagnose …` (argv without the word `diagnose`); resolves with the exit code. */
export async function diagnoseMain(argv: readonly string[], env: NodeJS.ProcessEnv): Promise<number> {
  let format: OutputFormat = 'text';
  const parse = (): ParseResult => {
    const split = takeOutputFlag(argv);
    format = split.format;
    return parseArgs(split.rest, env);
  };
  const parsed = commandLine(parse, { command: 'flanneld diagnose', badUsageExit: 2, usage: USAGE });
  if (parsed.kind === 'exit') return parsed.code;
  const { flags } = parsed;
  const root = createLogger({ verbosity: flags.v, format: flags.logFormat, secrets: [flags.etcdPassword] });
  try {
    return await runDiagnose(flags, format, (c) => root.child(c));
  } finally {
    await root.close();
  }
}
