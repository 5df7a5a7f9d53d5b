// The CNI environment (CNI_COMMAND and friends), checked as the reference's skel package does: which
// variables each command needs, and the container ID and interface name rules. The container ID
// becomes a file name under dataDir, so the character check also keeps it inside that directory.
import { CniCode, CniError } from './errors.js';

export type CniCommand = 'ADD' | 'DEL' | 'CHECK' | 'VERSION' | 'STATUS' | 'GC';

export interface CniArgs {
  command: 'ADD' | 'DEL' | 'CHECK';
  containerId: string;
  netns: string;
  ifName: string;
  args: string;
  /** CNI_PATH split on ':' with empty entries dropped. */
  path: string[];
}

const NAME_RE = /^[a-zA-Z0-9][a-zA-Z0-9_.-]*$/;
const IFNAMSIZ = 16;

type Env = Record<string, string | undefined>;

/** The command in CNI_COMMAND; code 4 when it is missing or unknown. */
export function readCommand(env: Env): CniCommand {
  const cmd = env['CNI_COMMAND'] ?? '';
  if (cmd === '') throw new CniError(CniCode.InvalidEnvironment, 'required env variables [CNI_COMMAND] missing');
  if (cmd === 'ADD' || cmd === 'DEL' || cmd === 'CHECK' || cmd === 'VERSION' || cmd === 'STATUS' || cmd === 'GC') return cmd;
  throw new CniError(CniCode.InvalidEnvironment, `unknown CNI_COMMAND: ${cmd}`);
}

/** CNI_PATH split on ':' (GC's only variable); code 4 when it is missing. */
export function readPath(env: Env): string[] {
  const path = (env['CNI_PATH'] ?? '').split(':').filter((p) => p !== '');
  if (path.length === 0) throw new CniError(CniCode.InvalidEnvironment, 'required env variables [CNI_PATH] missing');
  return path;
}

/** The arguments of ADD, DEL or CHECK; code 4 naming every missing variable, or the bad value. */
export function readArgs(env: Env, command: CniArgs['command']): CniArgs {
  const required = ['CNI_CONTAINERID', 'CNI_IFNAME', 'CNI_PATH'];
  if (command !== 'DEL') required.splice(1, 0, 'CNI_NETNS');
  const missing = required.filter((k) => !env[k]);
  if (missing.length > 0) {
    throw new CniError(CniCode.InvalidEnvironment, `required env variables [${missing.join(',')}] missing`);
  }
  const containerId = env['CNI_CONTAINERID']!;
  if (!NAME_RE.test(containerId)) {
    throw new CniError(CniCode.InvalidEnvironment, 'invalid characters in containerID', `CNI_CONTAINERID="${containerId}"`);
  }
  const ifName = env['CNI_IFNAME']!;
  checkInterfaceName(ifName);
  return {
    command,
    containerId,
    netns: env['CNI_NETNS'] ?? '',
    ifName,
    args: env['CNI_ARGS'] ?? '',
    path: env['CNI_PATH']!.split(':').filter((p) => p !== ''),
  };
}

function checkInterfaceName(ifName: string): void {
  const bad = (why: string): never => {
    throw new CniError(CniCode.InvalidEnvironment, why, `CNI_IFNAME="${ifName}"`);
  };
  if (ifName.length > IFNAMSIZ - 1) bad('interface name is too long');
  if (ifName === '.' || ifName === '..') bad('interface name is . or ..');
  if (/[/:\s]/.test(ifName)) bad('interface name contains / or : or whitespace characters');
}

/** libcni's rule for network names (they become directory names in host-local's store). */
export function isValidNetworkName(name: string): boolean {
  return NAME_RE.test(name);
}
