// Where the Kubernetes API is and how to prove who we are (client-go's BuildConfigFromFlags, reduced to
// the forms a node agent meets): a kubeconfig file (its current context; server, CA file or data,
// insecure-skip-tls-verify; user token, tokenFile, client certificate file or data, exec plugin), or
// --kube-api-url alone, or the in-cluster service account. KubeStoreError names the file and field.
import { readFileSync } from 'node:fs';
import { dirname, isAbsolute, join } from 'node:path';
import { KubeStoreError } from './errors.js';

export interface KubeClientOptions {
  /** --kube-api-url: overrides the kubeconfig's server, or is the server when there is no kubeconfig. */
  apiUrl: string;
  /** --kubeconfig-file. */
  kubeconfigFile: string;
  /** In-cluster mode reads KUBERNETES_SERVICE_HOST/PORT from here (default process.env). */
  env?: NodeJS.ProcessEnv;
  /** The service account directory (default /var/run/secrets/kubernetes.io/serviceaccount; tests only). */
  serviceAccountDir?: string;
}

export interface ExecConfig {
  apiVersion: string;
  command: string;
  args: string[];
  env: Array<{ name: string; value: string }>;
  /** For messages: where the exec stanza came from. */
  where: string;
}

export type AuthConfig =
  | { kind: 'none' }
  | { kind: 'token'; token: string }
  | { kind: 'tokenFile'; path: string }
  | { kind: 'exec'; exec: ExecConfig };

export interface RestConfig {
  server: string;
  ca?: Buffer;
  cert?: Buffer;
  key?: Buffer;
  insecure: boolean;
  auth: AuthConfig;
}

export const SA_DIR = '/var/run/secrets/kubernetes.io/serviceaccount';

type Obj = Record<string, unknown>;

function isObj(v: unknown): v is Obj {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

export async function loadRestConfig(opts: KubeClientOptions): Promise<RestConfig> {
  if (opts.kubeconfigFile) {
    const cfg = await fromKubeconfig(opts.kubeconfigFile);
    return opts.apiUrl ? { ...cfg, server: opts.apiUrl } : cfg;
  }
  if (opts.apiUrl) return { server: opts.apiUrl, insecure: false, auth: { kind: 'none' } };
  return inCluster(opts.env ?? process.env, opts.serviceAccountDir ?? SA_DIR);
}

function inCluster(env: NodeJS.ProcessEnv, dir: string): RestConfig {
  const host = env.KUBERNETES_SERVICE_HOST;
  const port = env.KUBERNETES_SERVICE_PORT;
  if (!host || !port) {
    throw new KubeStoreError(
      'unable to load in-cluster configuration, KUBERNETES_SERVICE_HOST and KUBERNETES_SERVICE_PORT must be defined ' +
        '(outside a cluster pass --kubeconfig-file or --kube-api-url)',
    );
  }
  const token = `${dir}/token`;
  readFile(token, 'unable to load in-cluster configuration: service account token');
  const ca = readFile(`${dir}/ca.crt`, 'unable to load in-cluster configuration: service account CA');
  return { server: `https://${host.includes(':') ? `[${host}]` : host}:${port}`, ca, insecure: false, auth: { kind: 'tokenFile', path: token } };
}

function readFile(path: string, what: string): Buffer {
  try {
    return readFileSync(path);
  } catch (e) {
    throw new KubeStoreError(`${what} ${path}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`);
  }
}

async function parseText(file: string, text: string): Promise<unknown> {
  try {
    if (text.trimStart().startsWith('{')) return JSON.parse(text);
    const { parse } = await import('yaml');
    return parse(text) as unknown;
  } catch (e) {
    throw new KubeStoreError(`--kubeconfig-file=${file} is neither JSON nor YAML: ${(e as Error).message.split('\n')[0]}`);
  }
}

/** The named entry of a kubeconfig list (clusters, users, contexts). */
function entry(doc: Obj, list: string, name: string, field: string, file: string): Obj {
  const items = Array.isArray(doc[list]) ? (doc[list] as unknown[]) : [];
  const hit = items.find((i) => isObj(i) && i.name === name) as Obj | undefined;
  if (!hit) throw new KubeStoreError(`${file}: ${list} has no entry named ${JSON.stringify(name)} (from ${field})`);
  const body = hit[field === 'current-context' ? 'context' : list.slice(0, -1)];
  return isObj(body) ? body : {};
}

async function fromKubeconfig(file: string): Promise<RestConfig> {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (e) {
    throw new KubeStoreError(`fail to create kubernetes config: reading --kubeconfig-file=${file}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`);
  }
  const doc = await parseText(file, text);
  if (!isObj(doc)) throw new KubeStoreError(`--kubeconfig-file=${file} is not a kubeconfig (not a mapping)`);
  const current = doc['current-context'];
  if (typeof current !== 'string' || !current) throw new KubeStoreError(`${file}: current-context is not set`);
  const ctx = entry(doc, 'contexts', current, 'current-context', file);
  const cluster = entry(doc, 'clusters', String(ctx.cluster ?? ''), `context ${current}.cluster`, file);
  const user = ctx.user === undefined || ctx.user === '' ? {} : entry(doc, 'users', String(ctx.user), `context ${current}.user`, file);
  const base = dirname(file);
  const where = (f: string): string => `${file}: ${f}`;
  const server = cluster.server;
  if (typeof server !== 'string' || !server) throw new KubeStoreError(`${where(`cluster ${String(ctx.cluster)}.server`)} is not set`);
  const cfg: RestConfig = { server, insecure: cluster['insecure-skip-tls-verify'] === true, auth: { kind: 'none' } };
  const ca = material(cluster, 'certificate-authority', base, where('cluster'));
  if (ca) cfg.ca = ca;
  const cert = material(user, 'client-certificate', base, where('user'));
  const key = material(user, 'client-key', base, where('user'));
  if (cert) cfg.cert = cert;
  if (key) cfg.key = key;
  if (!cert !== !key) throw new KubeStoreError(`${where('user')}: client-certificate and client-key must be given together`);
  cfg.auth = userAuth(user, base, where('user'));
  return cfg;
}

/** `<name>-data` (base64) or the file `<name>` (relative to the kubeconfig's directory). */
function material(obj: Obj, name: string, base: string, where: string): Buffer | undefined {
  const data = obj[`${name}-data`];
  if (typeof data === 'string' && data) return Buffer.from(data, 'base64');
  const file = obj[name];
  if (typeof file === 'string' && file) return readFile(isAbsolute(file) ? file : join(base, file), `${where}.${name}`);
  return undefined;
}

function userAuth(user: Obj, base: string, where: string): AuthConfig {
  for (const field of ['auth-provider', 'username', 'password']) {
    if (user[field] !== undefined) {
      throw new KubeStoreError(`${where}.${field} is not supported by flanneld: use a token, tokenFile, client certificate or exec credential plugin`);
    }
  }
  if (typeof user.token === 'string' && user.token) return { kind: 'token', token: user.token };
  if (typeof user.tokenFile === 'string' && user.tokenFile) {
    const path = isAbsolute(user.tokenFile) ? user.tokenFile : join(base, user.tokenFile);
    readFile(path, `${where}.tokenFile`);
    return { kind: 'tokenFile', path };
  }
  if (user.exec !== undefined) return { kind: 'exec', exec: execConfig(user.exec, base, `${where}.exec`) };
  return { kind: 'none' };
}

function execConfig(raw: unknown, base: string, where: string): ExecConfig {
  if (!isObj(raw)) throw new KubeStoreError(`${where} must be a mapping`);
  const apiVersion = String(raw.apiVersion ?? '');
  if (apiVersion !== 'client.authentication.k8s.io/v1' && apiVersion !== 'client.authentication.k8s.io/v1beta1') {
    throw new KubeStoreError(`${where}.apiVersion=${JSON.stringify(apiVersion)} is not supported (client.authentication.k8s.io/v1 or v1beta1)`);
  }
  if (typeof raw.command !== 'string' || !raw.command) throw new KubeStoreError(`${where}.command is not set`);
  const command = raw.command.includes('/') && !isAbsolute(raw.command) ? join(base, raw.command) : raw.command;
  const args = raw.args ?? [];
  if (!Array.isArray(args) || args.some((a) => typeof a !== 'string')) throw new KubeStoreError(`${where}.args must be a list of strings`);
  const env = raw.env ?? [];
  if (!Array.isArray(env) || env.some((e) => !isObj(e) || typeof e.name !== 'string' || typeof e.value !== 'string')) {
    throw new KubeStoreError(`${where}.env must be a list of {name, value} strings`);
  }
  return { apiVersion, command, args: args as string[], env: env as ExecConfig['env'], where };
}
