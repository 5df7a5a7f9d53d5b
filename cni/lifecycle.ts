// CNI 1.1.0's STATUS and GC. STATUS answers whether this node can take pods: it can when flanneld's
// subnet.env is readable and valid. GC drops what ADD left for attachments the runtime no longer
// knows (`cni.dev/valid-attachments`): each stale saved delegate config is handed to the delegate as a
// DEL (Debian's plugins 1.1.1 predate GC), which frees the address in host-local, then removed.
import { readdirSync } from 'node:fs';
import { CniCode, CniError, describeError } from './errors.js';
import { execDelegate } from './exec-plugin.js';
import type { FlannelNetConf, JsonObject } from './netconf.js';
import { readDelegateConfig, removeDelegateConfig, savedType } from './saved-config.js';
import { loadSubnetEnv } from './subnet-file.js';

/** The interface name GC gives the delegate's DEL: the saved config does not keep it; runtimes use eth0. */
export const GC_IFNAME = 'eth0';

interface LifecycleIO {
  env: Record<string, string | undefined>;
  stderr: (text: string) => void;
}

/** Throws code 50 naming the file when subnet.env is missing, unreadable or invalid. */
export function cmdStatus(conf: FlannelNetConf): void {
  try {
    loadSubnetEnv(conf.subnetFile);
  } catch (e) {
    const why = e instanceof CniError ? e.msg : describeError(e);
    throw new CniError(CniCode.PluginNotAvailable, `flannel is not ready: ${conf.subnetFile} is missing or invalid`, why);
  }
}

/** Container IDs of `cni.dev/valid-attachments`; code 7 naming the field when it is malformed. */
export function validAttachments(raw: JsonObject): Set<string> {
  const list = raw['cni.dev/valid-attachments'];
  const bad = (what: string): never => {
    throw new CniError(CniCode.InvalidNetworkConfig, `invalid cni.dev/valid-attachments: ${what}`, `netconf field "cni.dev/valid-attachments" is ${JSON.stringify(list)}`);
  };
  if (list === undefined || list === null) return new Set();
  if (!Array.isArray(list)) return bad('not a list');
  const ids = new Set<string>();
  for (const a of list as unknown[]) {
    const id = typeof a === 'object' && a !== null ? (a as JsonObject)['containerID'] : undefined;
    if (typeof id !== 'string') return bad('an entry without a string "containerID"');
    ids.add(id);
  }
  return ids;
}

/** Removes every saved config not in `keep` after its delegate DEL; the first DEL failure is thrown after the rest ran. */
export function cmdGc(conf: FlannelNetConf, keep: Set<string>, cniPath: string[], io: LifecycleIO): void {
  let first: unknown = null;
  for (const id of savedIds(conf.dataDir)) {
    if (keep.has(id)) continue;
    try {
      gcOne(conf.dataDir, id, cniPath, io);
    } catch (e) {
      io.stderr(`GC of ${conf.dataDir}/${id} failed: ${describeError(e)}\n`);
      first ??= e;
    }
  }
  if (first !== null) throw first;
}

function gcOne(dataDir: string, id: string, cniPath: string[], io: LifecycleIO): void {
  const saved = readDelegateConfig(dataDir, id);
  if (saved === null) return;
  const type = savedType(saved);
  if (type !== null) {
    const env = { ...io.env, CNI_CONTAINERID: id, CNI_IFNAME: GC_IFNAME, CNI_NETNS: undefined, CNI_ARGS: undefined };
    execDelegate({ plugin: type, command: 'DEL', config: saved, cniPath, env, stderr: io.stderr });
  }
  removeDelegateConfig(dataDir, id);
}

/** The saved configs' container IDs (file names; no dot files, as container IDs never start with '.'). */
function savedIds(dataDir: string): string[] {
  try {
    return readdirSync(dataDir, { withFileTypes: true })
      .filter((d) => d.isFile() && !d.name.startsWith('.'))
      .map((d) => d.name);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return [];
    throw new CniError(CniCode.IOFailure, `failed to list saved delegate configs in ${dataDir}`, describeError(e));
  }
}
