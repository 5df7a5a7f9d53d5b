// What the kube-mode end-to-end suites share: kube-flannel.yml read as a cluster would apply it (the
// ClusterRole's rules, the ConfigMap's conflist and net-conf.json), the fake API server started in the
// switch namespace granting exactly those rules, and pods attached through the conflist.
import { readFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { parseAllDocuments } from 'yaml';
import { attachPod, type CniRunOptions, type ConfList } from './cni.js';
import { RemoteFakeApi } from './fake-apiserver-remote.js';
import { SWITCH_ADDR, until } from './flanneld.js';
import type { TestBed } from './netns.js';

/** The service account's token (granted the manifest's rules) and the test's own, which may do anything. */
export const TOKEN = 'flannel-sa-token';
export const ADMIN = 'admin-token';
/** The annotation prefix (--kube-annotation-prefix's default). */
export const PREFIX = 'flannel.alpha.coreos.com/';

export type Obj = Record<string, unknown>;

export interface Manifest {
  rules: unknown[];
  conflist: ConfList;
  netConf: string;
}

export async function manifest(): Promise<Manifest> {
  const docs = parseAllDocuments(await readFile(resolve('kube-flannel.yml'), 'utf8')).map((d) => d.toJSON() as Obj);
  const role = docs.find((d) => d.kind === 'ClusterRole')!;
  const data = docs.find((d) => d.kind === 'ConfigMap')!.data as Record<string, string>;
  return { rules: role.rules as unknown[], conflist: JSON.parse(data['cni-conf.json']!) as ConfList, netConf: data['net-conf.json']! };
}

export const annotations = (node: Obj): Record<string, string> => (node.metadata as { annotations: Record<string, string> }).annotations;

/** The fake API server process in the switch namespace on `host`:6443, granting TOKEN exactly `rules`. */
export async function startFakeApi(bed: TestBed, tmp: string, rules: unknown[], host = SWITCH_ADDR): Promise<RemoteFakeApi> {
  const socket = join(tmp, 'api.sock');
  const child = bed.spawn(bed.sw, [
    process.execPath,
    resolve('dist/test/helpers/fake-apiserver-main.js'),
    `--host=${host}`,
    '--port=6443',
    `--token=${TOKEN}`,
    `--admin-token=${ADMIN}`,
    `--socket=${socket}`,
    `--rules=${JSON.stringify(rules)}`,
  ]);
  let out = '';
  child.stdout?.on('data', (b: Buffer) => (out += b.toString()));
  child.stderr?.on('data', (b: Buffer) => (out += b.toString()));
  await until(`the fake API server to listen (${out})`, () => out.includes('listening '), 15_000);
  return new RemoteFakeApi(socket, ADMIN);
}

/** A pod namespace attached through the conflist; resolves with its one address. */
export async function addPod(conflist: ConfList, opts: CniRunOptions): Promise<string> {
  const addrs = await attachPod(conflist, opts);
  if (addrs.length !== 1) throw new Error(`pod ${opts.netns}: ${addrs.length} addresses, expected 1`);
  return addrs[0]!.split('/')[0]!;
}
