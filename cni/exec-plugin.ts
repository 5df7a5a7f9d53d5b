// Running the delegate plugin as libcni's invoke package does: found by name in CNI_PATH, started
// with this process's environment and CNI_COMMAND set, the config on stdin. Its stderr is copied to
// ours; a failure comes back as the error JSON it printed, or one made from its stderr.
import { statSync } from 'node:fs';
import { join } from 'node:path';
import { CniCode, CniError } from './errors.js';

type Env = Record<string, string | undefined>;

/** The first regular file named `plugin` in `dirs`; a name with a '/' is refused. */
export function findInPath(plugin: string, dirs: string[]): string {
  if (plugin === '') throw new CniError(CniCode.InvalidNetworkConfig, 'no plugin name provided');
  if (plugin.includes('/')) throw new CniError(CniCode.InvalidNetworkConfig, `invalid plugin name: ${plugin}`);
  for (const dir of dirs) {
    const path = join(dir, plugin);
    try {
      if (statSync(path).isFile()) return path;
    } catch {
      /* not in this directory */
    }
  }
  throw new CniError(CniCode.Internal, `failed to find plugin "${plugin}" in path [${dirs.join(' ')}]`);
}

export interface DelegateCall {
  plugin: string;
  command: 'ADD' | 'DEL' | 'CHECK';
  config: string;
  cniPath: string[];
  env: Env;
  stderr: (text: string) => void;
}

/** Runs the delegate and returns its stdout; throws the delegate's own CniError when it fails. */
export function execDelegate(call: DelegateCall): string {
  const path = findInPath(call.plugin, call.cniPath);
  // Loaded here, not at the top: child_process costs ~5 ms of start-up that VERSION and STATUS never need.
  const { spawnSync } = process.getBuiltinModule('node:child_process');
  const r = spawnSync(path, [], {
    input: call.config,
    env: { ...call.env, CNI_COMMAND: call.command },
    encoding: 'utf8',
    maxBuffer: 64 << 20,
  });
  if (r.stderr) call.stderr(r.stderr);
  if (r.error) {
    throw new CniError(CniCode.Internal, `failed to delegate ${call.command.toLowerCase()}: cannot run ${path}`, r.error.message);
  }
  if (r.status !== 0) throw delegateError(r.stdout, r.stderr, r.status, r.signal);
  return r.stdout;
}

/** The delegate's error JSON kept as it is (code, msg, details); anything else made into code 999. */
function delegateError(stdout: string, stderr: string, status: number | null, signal: string | null): CniError {
  const how = signal ? `killed by ${signal}` : `exit status ${status}`;
  if (stdout.trim() === '') {
    return stderr.trim() === ''
      ? new CniError(CniCode.Internal, `netplugin failed with no error message: ${how}`)
      : new CniError(CniCode.Internal, `netplugin failed: ${JSON.stringify(stderr)}`);
  }
  try {
    const e = JSON.parse(stdout) as { code?: unknown; msg?: unknown; details?: unknown };
    const code = typeof e.code === 'number' ? e.code : CniCode.Internal;
    return new CniError(code, typeof e.msg === 'string' ? e.msg : '', typeof e.details === 'string' ? e.details : '');
  } catch (err) {
    return new CniError(
      CniCode.Internal,
      `netplugin failed but error parsing its diagnostic message ${JSON.stringify(stdout)}: ${(err as Error).message}`,
    );
  }
}
