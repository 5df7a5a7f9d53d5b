// ADD, DEL and CHECK. ADD saves the rendered delegate config before it delegates, so a DEL after a
// failed or interrupted ADD still reaches the delegate and frees what it took.
import { buildDelegateConfig, renderJSON } from './delegate-config.js';
import type { CniArgs } from './env.js';
import { CniCode, CniError } from './errors.js';
import { execDelegate, type DelegateCall } from './exec-plugin.js';
import type { FlannelNetConf } from './netconf.js';
import { readDelegateConfig, removeDelegateConfig, saveDelegateConfig, savedType } from './saved-config.js';
import { loadSubnetEnv } from './subnet-file.js';
import { delegateVersion } from './version.js';

export interface CommandIO {
  env: Record<string, string | undefined>;
  stderr: (text: string) => void;
}

/** Returns the delegate's result (stdout) unchanged; throws CniError. */
export function cmdAdd(args: CniArgs, conf: FlannelNetConf, io: CommandIO): string {
  const se = loadSubnetEnv(conf.subnetFile);
  const delegate = buildDelegateConfig(conf, se);
  const config = renderJSON(delegate);
  io.stderr(`delegateAdd: netconf sent to delegate plugin:\n${config}\n`);
  saveDelegateConfig(conf.dataDir, args.containerId, config);
  const stdout = execDelegate(call(args, io, delegate['type'] as string, 'ADD', config));
  let result: unknown;
  try {
    result = JSON.parse(stdout);
  } catch {
    throw new CniError(CniCode.Internal, `failed to delegate add: ${delegate['type']} printed a result that is not JSON`, stdout.slice(0, 500));
  }
  return relabel(result, conf.cniVersion, stdout);
}

/** A 1.0.0 result of a delegate that ran a 1.1.0 config (same format) is given back as 1.1.0. */
function relabel(result: unknown, version: string, stdout: string): string {
  if (version !== '1.1.0' || typeof result !== 'object' || result === null) return stdout;
  const r = result as Record<string, unknown>;
  if (r['cniVersion'] !== delegateVersion(version)) return stdout;
  return `${JSON.stringify({ ...r, cniVersion: version })}\n`;
}

/** Succeeds when there is nothing saved for the container; removes the file once the delegate succeeded. */
export function cmdDel(args: CniArgs, conf: FlannelNetConf, io: CommandIO): void {
  const saved = readDelegateConfig(conf.dataDir, args.containerId);
  if (saved === null) return;
  const type = savedType(saved);
  if (type === null) {
    // As the reference: the pod's veth stays on the bridge until the node reboots.
    io.stderr(`failed to parse netconf ${conf.dataDir}/${args.containerId}: not a JSON object with a string "type"\n`);
    return;
  }
  execDelegate(call(args, io, type, 'DEL', saved));
  removeDelegateConfig(conf.dataDir, args.containerId);
}

/**
 * CHECK does nothing, as in the reference. Delegating it is not an option: Debian's bridge (1.1.1)
 * CHECK rejects a healthy flannel pod, because host-local's routes have no gateway in the result
 * while the kernel route has one ("Expected Route {Dst:10.244.0.0/16 GW:<nil>} not found").
 */
export function cmdCheck(): void {
  /* nothing to check beyond what the dispatcher already validated */
}

function call(args: CniArgs, io: CommandIO, plugin: string, command: DelegateCall['command'], config: string): DelegateCall {
  return { plugin, command, config, cniPath: args.path, env: io.env, stderr: io.stderr };
}
