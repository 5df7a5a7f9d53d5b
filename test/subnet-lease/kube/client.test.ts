// How flanneld reaches the API server: a kubeconfig file with a bearer token, --kube-api-url replacing
// its server, in-cluster config (service account token + CA over HTTPS), and the start-up checks of the
// environment (NODE_NAME / POD_NAME + POD_NAMESPACE, EVENT_QUEUE_DEPTH) and of the annotation prefix.
import { expect } from 'chai';
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { annotationKeys } from '../../../subnet-lease/kube/annotations.js';
import { HttpKubeApi, loadRestConfig } from '../../../subnet-lease/kube/client.js';
import { KubeApiError, KubeStoreError } from '../../../subnet-lease/kube/errors.js';
import { createKubeStore, eventQueueDepth, nodeIdentity } from '../../../subnet-lease/kube/index.js';
import { silentLogger } from '../../../common/log.js';
import { FakeApiServer } from '../../helpers/fake-apiserver.js';
import { makeTestCerts } from '../../helpers/tls.js';
import { kubeconfigText, nodeObject } from './harness.js';

const never = new AbortController().signal;

async function failure(p: Promise<unknown>): Promise<Error> {
  return p.then(
    () => expect.fail('expected a rejection'),
    (e: Error) => e,
  );
}

describe('kube client configuration (fake API server)', function () {
  this.timeout(20_000);
  let dir: string;
  let api: FakeApiServer | undefined;
  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), 'fl-kubecfg-'));
  });
  afterEach(async () => {
    await api?.stop();
    api = undefined;
    await rm(dir, { recursive: true, force: true });
  });

  it('sends the kubeconfig token as a bearer token; a wrong token is a final 401', async () => {
    api = await FakeApiServer.start({ token: 'right' });
    api.createNode(nodeObject('n1', ['10.244.1.0/24']));
    await writeFile(join(dir, 'good'), kubeconfigText(api.url, 'right'));
    await writeFile(join(dir, 'bad'), kubeconfigText(api.url, 'wrong'));
    const good = new HttpKubeApi(await loadRestConfig({ apiUrl: '', kubeconfigFile: join(dir, 'good') }));
    expect((await good.listNodes(never)).items).to.have.length(1);
    const bad = new HttpKubeApi(await loadRestConfig({ apiUrl: '', kubeconfigFile: join(dir, 'bad') }));
    const err = await bad.listNodes(never).then(() => null, (e: Error) => e);
    expect(err).to.be.instanceOf(KubeApiError);
    expect((err as KubeApiError).statusCode).to.equal(401);
    expect((err as KubeApiError).retryable).to.equal(false);
  });

  it('--kube-api-url replaces the server of the kubeconfig and keeps its credentials', async () => {
    api = await FakeApiServer.start({ token: 'right' });
    await writeFile(join(dir, 'kc'), kubeconfigText('http://127.0.0.1:1', 'right'));
    const client = new HttpKubeApi(await loadRestConfig({ apiUrl: api.url, kubeconfigFile: join(dir, 'kc') }));
    expect((await client.listNodes(never)).items).to.deep.equal([]);
  });

  it('an unreachable server is a retryable error', async () => {
    await writeFile(join(dir, 'kc'), kubeconfigText('http://127.0.0.1:1', 'x'));
    const err = await (new HttpKubeApi(await loadRestConfig({ apiUrl: '', kubeconfigFile: join(dir, 'kc') }))).listNodes(never).then(() => null, (e: Error) => e);
    expect(err).to.be.instanceOf(KubeApiError);
    expect((err as KubeApiError).retryable).to.equal(true);
  });

  it('in cluster: the service account token and CA, over HTTPS to KUBERNETES_SERVICE_HOST:PORT', async () => {
    const certs = makeTestCerts(dir);
    api = await FakeApiServer.start({ token: 'sa-token', tls: { key: await readFile(certs.serverKeyFile), cert: await readFile(certs.serverCertFile) } });
    api.createNode(nodeObject('n1', ['10.244.1.0/24']));
    const sa = join(dir, 'root/var/run/secrets/kubernetes.io/serviceaccount');
    await mkdir(sa, { recursive: true });
    await writeFile(join(sa, 'token'), 'sa-token');
    await writeFile(join(sa, 'ca.crt'), await readFile(certs.caFile));
    const env = { KUBERNETES_SERVICE_HOST: '127.0.0.1', KUBERNETES_SERVICE_PORT: new URL(api.url).port };
    const kc = await loadRestConfig({ apiUrl: '', kubeconfigFile: '', env, serviceAccountDir: sa });
    expect(kc.server).to.equal(api.url);
    const node = (await new HttpKubeApi(kc).getNode('n1', never)) as { metadata: { name: string } };
    expect(node.metadata.name).to.equal('n1');
    expect(api.requests.every((r) => r.status === 200)).to.equal(true);
  });

  it('in cluster without the service environment: says what is missing', async () => {
    const err = await failure(loadRestConfig({ apiUrl: '', kubeconfigFile: '', env: {} }));
    expect(err).to.be.instanceOf(KubeStoreError);
    expect(err.message).to.match(/KUBERNETES_SERVICE_HOST and KUBERNETES_SERVICE_PORT must be defined/);
  });

  it('a kubeconfig that cannot be read: names the file', async () => {
    const err = await failure(loadRestConfig({ apiUrl: '', kubeconfigFile: join(dir, 'nope') }));
    expect(err).to.be.instanceOf(KubeStoreError);
    expect(err.message).to.match(/--kubeconfig-file=.*nope/);
  });

  it('createKubeStore refuses a bad prefix, a missing node identity and a bad EVENT_QUEUE_DEPTH at start-up', async () => {
    await writeFile(join(dir, 'kc'), kubeconfigText('http://127.0.0.1:1', 'x'));
    const flags = { kubeApiUrl: '', kubeconfigFile: join(dir, 'kc'), kubeAnnotationPrefix: 'flannel.alpha.coreos.com', netConfigPath: '/dev/null', setNodeNetworkUnavailable: true };
    expect((await createKubeStore(flags, { NODE_NAME: 'n1' }, silentLogger)).name).to.equal('kube');
    expect((await failure(createKubeStore(flags, {}, silentLogger))).message).to.equal('env variables POD_NAME and POD_NAMESPACE must be set');
    expect((await failure(createKubeStore({ ...flags, kubeAnnotationPrefix: 'a/b/c' }, { NODE_NAME: 'n1' }, silentLogger))).message).to.match(/at most single slash/);
    expect((await failure(createKubeStore(flags, { NODE_NAME: 'n1', EVENT_QUEUE_DEPTH: 'lots' }, silentLogger))).message).to.match(/^env EVENT_QUEUE_DEPTH=lots format error/);
  });
});

describe('kube store start-up values', () => {
  it('annotation prefix rules of the reference', () => {
    expect(annotationKeys('flannel.alpha.coreos.com').backendData).to.equal('flannel.alpha.coreos.com/backend-data');
    expect(annotationKeys('example.com/foo').backendData).to.equal('example.com/foo-backend-data');
    expect(annotationKeys('example.com/foo-').publicIP).to.equal('example.com/foo-public-ip');
    expect(annotationKeys('example.com/').publicIPOverwrite).to.equal('example.com/public-ip-overwrite');
    expect(annotationKeys('Example.com').subnetKubeManaged, 'start-unanchored like the reference').to.equal('Example.com/kube-subnet-manager');
    expect(() => annotationKeys('a/b/c')).to.throw('subnet/kube: prefix can contain at most single slash');
    expect(() => annotationKeys('nodots')).to.throw('subnet/kube: prefix must be in a format: fqdn/[0-9a-z-_]*');
    expect(() => annotationKeys('example.com/Foo')).to.throw(/prefix must be in a format/);
  });

  it('node identity: NODE_NAME first, else POD_NAME + POD_NAMESPACE', () => {
    expect(nodeIdentity({ NODE_NAME: 'a', POD_NAME: 'p', POD_NAMESPACE: 'ns' })).to.deep.equal({ nodeName: 'a' });
    expect(nodeIdentity({ POD_NAME: 'p', POD_NAMESPACE: 'ns' })).to.deep.equal({ podName: 'p', podNamespace: 'ns' });
    expect(() => nodeIdentity({ POD_NAME: 'p' })).to.throw('env variables POD_NAME and POD_NAMESPACE must be set');
  });

  it('EVENT_QUEUE_DEPTH: default 5000, Atoi syntax, <= 0 ignored', () => {
    expect(eventQueueDepth(undefined)).to.equal(5000);
    expect(eventQueueDepth('')).to.equal(5000);
    expect(eventQueueDepth('100')).to.equal(100);
    expect(eventQueueDepth('+7')).to.equal(7);
    expect(eventQueueDepth('0')).to.equal(5000);
    expect(eventQueueDepth('-3')).to.equal(5000);
    expect(() => eventQueueDepth('5.0')).to.throw('env EVENT_QUEUE_DEPTH=5.0 format error');
    expect(() => eventQueueDepth(' 5')).to.throw(KubeStoreError);
  });
});
