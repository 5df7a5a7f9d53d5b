// The command line of the commands that print a report (`flanneld diagnose`, `flanneld status`):
// flanneld's own flags and FLANNELD_* environment (parseArgs), plus --output=text|json, which only these
// commands know and which is taken out before parseArgs sees it.
import { commandLine, parseArgs, type CommandLine, type CommandLineOptions, type ParseResult } from './cli.js';
import { FlagError } from './flags.js';

export type OutputFormat = 'text' | 'json';

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

/**
 * The command line of a command that prints a report (`diagnose`, `status`): --output taken out, the
 * rest parsed as flanneld's flags; the format is 'text' unless --output says otherwise.
 */
export function reportCommandLine(argv: readonly string[], env: NodeJS.ProcessEnv, opts: CommandLineOptions): { parsed: CommandLine; format: OutputFormat } {
  let format: OutputFormat = 'text';
  const parse = (): ParseResult => {
    const split = takeOutputFlag(argv);
    format = split.format;
    return parseArgs(split.rest, env);
  };
  const parsed = commandLine(parse, opts);
  return { parsed, format };
}
