// Every way a node agent authenticates to the API server, each against the fake API server over TLS
// with a CA made by openssl: kubeconfig CA file / data / insecure-skip-tls-verify, token, tokenFile
// (rotated), client certificate file / data, exec credential plugin (env, args, cache, re-run on 401),
// in-cluster token rotation, and the refused forms (auth-provider, username/password).
import { expect } from 'chai';
import { chmod, mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { HttpKubeApi, loadRestConfig } from '../../../subnet-lease/kube/client.js';
import { KubeApiError, KubeStoreError } from '../../../subnet-lease/kube/errors.js';
import { FakeApiServer } from '../../helpers/fake-apiserver.js';
import { makeTestCerts, type TestCerts } from '../../helpers/tls.js';
import { nodeObject } from './harness.js';

const never = new AbortController().signal;
type Obj = Record<string, unknown>;

function kubeconfig(server: string, cluster: Obj, user: Obj): string {
  return JSON.stringify({
    apiVersion: 'v1', kind: 'Config', 'current-context': 'c',
    clusters: [{ name: 'k', cluster: { server, ...cluster } }],
    users: [{ name: 'u', user }],
    contexts: [{ name: 'c', context: { cluster: 'k', user: 'u' } }],
  });
}

describe('kube client authentication over TLS (fake API server)', function () {
  this.timeout(30_000);
  let dir: string;
  let certs: TestCerts;
  let api: FakeApiServer | undefined;
  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'fl-kubeauth-'));
    certs = makeTestCerts(dir);
  });
  after(async () => rm(dir, { recursive: true, force: true }));
  afterEach(async () => {
    await api?.stop();
    api = undefined;
  });

  async function start(clientCerts = false): Promise<FakeApiServer> {
    const tls = { key: await readFile(certs.serverKeyFile), cert: await readFile(certs.serverCertFile), ...(clientCerts ? { ca: await readFile(certs.caFile), requireClientCert: true } : {}) };
    api = await FakeApiServer.start({ token: 'tok', tls });
    api.createNode(nodeObject('n1', ['10.244.1.0/24']));
    return api;
  }

  async function client(text: string, apiUrl = ''): Promise<HttpKubeApi> {
    const file = join(dir, `kc-${Math.random().toString(36).slice(2)}`);
    await writeFile(file, text);
    return new HttpKubeApi(await loadRestConfig({ apiUrl, kubeconfigFile: file }));
  }

  const names = async (c: HttpKubeApi): Promise<string[]> => (await c.listNodes(never)).items.map((n) => (n as { metadata: { name: string } }).metadata.name);

  it('token with certificate-authority file, with certificate-authority-data, and with insecure-skip-tls-verify', async () => {
    const a = await start();
    const ca = await readFile(certs.caFile);
    expect(await names(await client(kubeconfig(a.url, { 'certificate-authority': certs.caFile }, { token: 'tok' })))).to.deep.equal(['n1']);
    expect(await names(await client(kubeconfig(a.url, { 'certificate-authority-data': ca.toString('base64') }, { token: 'tok' })))).to.deep.equal(['n1']);
    expect(await names(await client(kubeconfig(a.url, { 'insecure-skip-tls-verify': true }, { token: 'tok' })))).to.deep.equal(['n1']);
  });

  it('a server certificate the CA did not sign is refused', async () => {
    const a = await start();
    const err = await (await client(kubeconfig(a.url, {}, { token: 'tok' }))).listNodes(never).then(() => null, (e: Error) => e);
    expect(err).to.be.instanceOf(KubeApiError);
    expect(err!.message).to.match(/list nodes: .*(certificate|self.signed)/i);
  });

  it('client certificate and key as files and as -data; the server sees the CN', async () => {
    const a = await start(true);
    const cluster = { 'certificate-authority': certs.caFile };
    expect(await names(await client(kubeconfig(a.url, cluster, { 'client-certificate': certs.clientCertFile, 'client-key': certs.clientKeyFile })))).to.deep.equal(['n1']);
    expect(a.lastClientCN).to.equal('client');
    const data = { 'client-certificate-data': (await readFile(certs.clientCertFile)).toString('base64'), 'client-key-data': (await readFile(certs.clientKeyFile)).toString('base64') };
    a.lastClientCN = '';
    expect(await names(await client(kubeconfig(a.url, cluster, data)))).to.deep.equal(['n1']);
    expect(a.lastClientCN).to.equal('client');
  });

  it('tokenFile: a rotated token is read again after the 401 and the request succeeds', async () => {
    const a = await start();
    await writeFile(join(dir, 'token'), 'tok\n');
    const c = await client(kubeconfig(a.url, { 'certificate-authority': certs.caFile }, { tokenFile: join(dir, 'token') }));
    expect(await names(c)).to.deep.equal(['n1']);
    a.rotateToken('tok2');
    await writeFile(join(dir, 'token'), 'tok2\n');
    expect(await names(c)).to.deep.equal(['n1']);
    expect(a.requests.map((r) => r.status)).to.deep.equal([200, 401, 200]);
  });

  it('in cluster: the service account token is re-read when it rotates', async () => {
    const a = await start();
    const sa = join(dir, 'sa');
    await mkdir(sa, { recursive: true });
    await writeFile(join(sa, 'token'), 'tok');
    await writeFile(join(sa, 'ca.crt'), await readFile(certs.caFile));
    const env = { KUBERNETES_SERVICE_HOST: '127.0.0.1', KUBERNETES_SERVICE_PORT: new URL(a.url).port };
    const c = new HttpKubeApi(await loadRestConfig({ apiUrl: '', kubeconfigFile: '', env, serviceAccountDir: sa }));
    expect(await names(c)).to.deep.equal(['n1']);
    a.rotateToken('rotated');
    await writeFile(join(sa, 'token'), 'rotated');
    expect(await names(c)).to.deep.equal(['n1']);
  });

  it('exec plugin (client.authentication.k8s.io/v1): env and args passed, cached until expiry, run again on 401', async () => {
    const a = await start();
    const script = join(dir, 'cred.sh');
    await writeFile(script, '#!/bin/sh\necho run >> "$COUNT"\nprintf \'{"apiVersion":"client.authentication.k8s.io/v1","kind":"ExecCredential","status":{"token":"%s","expirationTimestamp":"%s"}}\' "$(cat "$1")" "$2"\n');
    await chmod(script, 0o755);
    await writeFile(join(dir, 'exec-token'), 'tok');
    const exec = (expiry: string): Obj => ({ exec: { apiVersion: 'client.authentication.k8s.io/v1', command: script, args: [join(dir, 'exec-token'), expiry], env: [{ name: 'COUNT', value: join(dir, `count-${expiry}`) }] } });
    const runs = async (expiry: string): Promise<number> => (await readFile(join(dir, `count-${expiry}`), 'utf8')).trim().split('\n').length;
    const cached = await client(kubeconfig(a.url, { 'certificate-authority': certs.caFile }, exec('2999-01-01T00:00:00Z')));
    await names(cached);
    await names(cached);
    expect(await runs('2999-01-01T00:00:00Z')).to.equal(1);
    a.rotateToken('tok3');
    await writeFile(join(dir, 'exec-token'), 'tok3');
    expect(await names(cached)).to.deep.equal(['n1']);
    expect(await runs('2999-01-01T00:00:00Z')).to.equal(2);
    const expired = await client(kubeconfig(a.url, { 'certificate-authority': certs.caFile }, exec('2000-01-01T00:00:00Z')));
    await names(expired);
    await names(expired);
    expect(await runs('2000-01-01T00:00:00Z')).to.equal(2);
  });

  it('a failing exec plugin: the error names the command and its stderr', async () => {
    const a = await start();
    const user = { exec: { apiVersion: 'client.authentication.k8s.io/v1', command: 'sh', args: ['-c', 'echo no credentials here >&2; exit 3'] } };
    const err = await (await client(kubeconfig(a.url, { 'certificate-authority': certs.caFile }, user))).listNodes(never).then(() => null, (e: Error) => e);
    expect(err).to.be.instanceOf(KubeApiError);
    expect(err!.message).to.match(/exec credential plugin sh .*no credentials here/);
  });

  it('--kube-api-url replaces the server and keeps the CA and client certificate', async () => {
    const a = await start(true);
    const user = { 'client-certificate': certs.clientCertFile, 'client-key': certs.clientKeyFile };
    expect(await names(await client(kubeconfig('https://127.0.0.1:1', { 'certificate-authority': certs.caFile }, user), a.url))).to.deep.equal(['n1']);
  });

  it('refuses auth-provider, username/password and a bad exec apiVersion, naming the field', async () => {
    for (const [user, field] of [
      [{ 'auth-provider': { name: 'gcp' } }, /user\.auth-provider is not supported/],
      [{ username: 'admin', password: 'x' }, /user\.username is not supported/],
      [{ exec: { apiVersion: 'client.authentication.k8s.io/v1alpha1', command: 'x' } }, /user\.exec\.apiVersion="client.authentication.k8s.io\/v1alpha1" is not supported/],
    ] as const) {
      const file = join(dir, 'bad-kc');
      await writeFile(file, kubeconfig('https://127.0.0.1:1', {}, user));
      const err = await loadRestConfig({ apiUrl: '', kubeconfigFile: file }).then(() => null, (e: Error) => e);
      expect(err).to.be.instanceOf(KubeStoreError);
      expect(err!.message).to.match(field);
      expect(err!.message).to.include(file);
    }
  });

  it('reads a YAML kubeconfig with a CA file relative to its directory', async () => {
    const a = await start();
    await writeFile(join(dir, 'rel-ca.crt'), await readFile(certs.caFile));
    const yaml = `apiVersion: v1\nkind: Config\ncurrent-context: c\nclusters:\n- name: k\n  cluster:\n    server: ${a.url}\n    certificate-authority: rel-ca.crt\nusers:\n- name: u\n  user:\n    token: tok\ncontexts:\n- name: c\n  context: {cluster: k, user: u}\n`;
    expect(await names(await client(yaml))).to.deep.equal(['n1']);
  });
});
