// The bearer token (and exec-issued client certificate) of each request: a fixed token, a token file
// re-read as it rotates (at most a minute old, and at once after a 401), or an exec credential plugin
// (client.authentication.k8s.io) whose answer is cached until status.expirationTimestamp or a 401.
import { execFile } from 'node:child_process';
import { readFile } from 'node:fs/promises';
import { KubeApiError } from './errors.js';
import type { AuthConfig, ExecConfig } from './kubeconfig.js';

export interface RequestCredentials {
  token?: string;
  cert?: Buffer;
  key?: Buffer;
}

const TOKEN_FILE_MAX_AGE_MS = 60_000;

export class Credentials {
  private cached: RequestCredentials | null = null;
  private expires = 0;

  constructor(private readonly auth: AuthConfig) {}

  /** Whether a 401 may be cured by fetching the credentials again. */
  get refreshable(): boolean {
    return this.auth.kind === 'tokenFile' || this.auth.kind === 'exec';
  }

  invalidate(): void {
    this.cached = null;
  }

  async get(): Promise<RequestCredentials> {
    if (this.cached && Date.now() < this.expires) return this.cached;
    const a = this.auth;
    if (a.kind === 'none') return (this.cached = {}), (this.expires = Infinity), {};
    if (a.kind === 'token') return this.keep({ token: a.token }, Infinity);
    if (a.kind === 'tokenFile') {
      const token = await readFile(a.path, 'utf8').catch((e: NodeJS.ErrnoException) => {
        throw new KubeApiError(`reading the token file ${a.path}: ${e.code ?? e.message}`, undefined, undefined, false);
      });
      return this.keep({ token: token.trim() }, Date.now() + TOKEN_FILE_MAX_AGE_MS);
    }
    const { creds, expires } = await runExec(a.exec);
    return this.keep(creds, expires);
  }

  private keep(c: RequestCredentials, expires: number): RequestCredentials {
    this.cached = c;
    this.expires = expires;
    return c;
  }
}

function fail(exec: ExecConfig, msg: string): KubeApiError {
  return new KubeApiError(`exec credential plugin ${exec.command} (${exec.where}): ${msg}`, undefined, undefined, false);
}

async function runExec(exec: ExecConfig): Promise<{ creds: RequestCredentials; expires: number }> {
  const info = { apiVersion: exec.apiVersion, kind: 'ExecCredential', spec: { interactive: false } };
  const env: NodeJS.ProcessEnv = { ...process.env, KUBERNETES_EXEC_INFO: JSON.stringify(info) };
  for (const e of exec.env) env[e.name] = e.value;
  const stdout = await new Promise<string>((resolve, reject) => {
    execFile(exec.command, exec.args, { env, timeout: 60_000, maxBuffer: 1 << 20 }, (err, out, stderr) => {
      if (err) reject(fail(exec, `${err.message.split('\n')[0]}${stderr ? `: ${stderr.trim().slice(0, 300)}` : ''}`));
      else resolve(out);
    });
  });
  let doc: { apiVersion?: unknown; kind?: unknown; status?: Record<string, unknown> };
  try {
    doc = JSON.parse(stdout) as typeof doc;
  } catch {
    throw fail(exec, `printed no JSON ExecCredential: ${JSON.stringify(stdout.slice(0, 200))}`);
  }
  if (doc.kind !== 'ExecCredential' || doc.apiVersion !== exec.apiVersion) {
    throw fail(exec, `printed kind ${JSON.stringify(doc.kind)} apiVersion ${JSON.stringify(doc.apiVersion)}, expected ExecCredential ${exec.apiVersion}`);
  }
  const st = doc.status ?? {};
  const creds: RequestCredentials = {};
  if (typeof st.token === 'string' && st.token) creds.token = st.token;
  if (typeof st.clientCertificateData === 'string' && typeof st.clientKeyData === 'string') {
    creds.cert = Buffer.from(st.clientCertificateData);
    creds.key = Buffer.from(st.clientKeyData);
  }
  if (!creds.token && !creds.cert) throw fail(exec, 'status has neither token nor clientCertificateData + clientKeyData');
  let expires = Infinity;
  if (typeof st.expirationTimestamp === 'string') {
    expires = Date.parse(st.expirationTimestamp);
    if (Number.isNaN(expires)) throw fail(exec, `status.expirationTimestamp=${JSON.stringify(st.expirationTimestamp)} is not a time`);
  }
  return { creds, expires };
}
