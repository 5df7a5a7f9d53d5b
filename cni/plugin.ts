// One plugin invocation, from environment and stdin to what goes on stdout and the exit code, as
// libcni's skel does it: check the environment, the config's version, then run the command. Every
// failure becomes one CNI error JSON and exit code 1.
import { cmdAdd, cmdCheck, cmdDel, type CommandIO } from './commands.js';
import { readArgs, readCommand, readPath } from './env.js';
import { cmdGc, cmdStatus, validAttachments } from './lifecycle.js';
import { CniCode, CniError, describeError } from './errors.js';
import { decodeNetConf, peekVersion, validateNetConf } from './netconf.js';
import { CURRENT_VERSION, checkSupported, chooseVersion, versionAtLeast, versionInfo } from './version.js';

export interface PluginIO extends CommandIO {
  /** Called once, and not for VERSION (so `flannel` with CNI_COMMAND=VERSION never waits on a tty). */
  readStdin: () => string;
}

export interface Outcome {
  stdout: string;
  exitCode: number;
}

/** Runs one command. Never throws; an error is the returned error JSON with exit code 1. */
export function runPlugin(io: PluginIO): Outcome {
  const state = { version: CURRENT_VERSION };
  try {
    return { stdout: dispatch(io, state), exitCode: 0 };
  } catch (e) {
    const err = e instanceof CniError ? e : new CniError(CniCode.Internal, describeError(e));
    return { stdout: `${JSON.stringify(err.toJSON(state.version))}\n`, exitCode: 1 };
  }
}

function dispatch(io: PluginIO, state: { version: string }): string {
  const command = readCommand(io.env);
  if (command === 'VERSION') return `${JSON.stringify(versionInfo())}\n`;
  const args = command === 'STATUS' || command === 'GC' ? null : readArgs(io.env, command);
  const cniPath = command === 'GC' ? readPath(io.env) : [];
  const raw = decodeNetConf(readStdin(io));
  const version = chooseVersion(peekVersion(raw), raw['cniVersions']);
  checkSupported(version);
  state.version = version;
  const parsed = validateNetConf(raw, command === 'ADD' ? 'ADD' : 'DEL');
  // A version chosen from cniVersions is the one the delegate gets; no version at all stays none.
  const conf = parsed.cniVersion === '' && raw['cniVersions'] != null ? { ...parsed, cniVersion: version } : parsed;
  if (args === null) {
    if (!versionAtLeast(version, '1.1.0')) throw new CniError(CniCode.IncompatibleVersion, `config version does not allow ${command}`, `cniVersion is "${version}"`);
    if (command === 'STATUS') cmdStatus(conf);
    else cmdGc(conf, validAttachments(raw), cniPath, io);
    return '';
  }
  switch (args.command) {
    case 'ADD':
      return cmdAdd(args, conf, io);
    case 'DEL':
      cmdDel(args, conf, io);
      return '';
    case 'CHECK':
      if (!versionAtLeast(version, '0.4.0')) throw new CniError(CniCode.IncompatibleVersion, 'config version does not allow CHECK', `cniVersion is "${version}"`);
      cmdCheck();
      return '';
  }
}

function readStdin(io: PluginIO): string {
  try {
    return io.readStdin();
  } catch (e) {
    throw new CniError(CniCode.IOFailure, 'error reading from stdin', describeError(e));
  }
}
