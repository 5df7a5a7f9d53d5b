// A kube lease store wired to a fresh fake API server through a kubeconfig file with a bearer token,
// with short waits so the tests do not sit out the reference's 30 s.
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { annotationKeys } from '../../../subnet-lease/kube/annotations.js';
import { HttpKubeApi, loadRestConfig } from '../../../subnet-lease/kube/client.js';
import { KubeSubnetManager, type KubeStoreOptions, type NodeIdentity } from '../../../subnet-lease/kube/manager.js';
import { FakeApiServer, type FakeApiServerOptions } from '../../helpers/fake-apiserver.js';
import { RecordingLogger } from '../../helpers/recording-logger.js';

export const TOKEN = 'kube-test-token';
export const PREFIX = 'flannel.alpha.coreos.com/';
export const NET_CONF = '{"Network":"10.244.0.0/16","Backend":{"Type":"vxlan"}}';

export interface Harness {
  api: FakeApiServer;
  dir: string;
  kubeconfig: string;
  netConfigPath: string;
  logger: RecordingLogger;
  store(opts?: Partial<KubeStoreOptions>): KubeSubnetManager;
  close(): Promise<void>;
}

export async function startHarness(server: FakeApiServerOptions = {}, netConf = NET_CONF): Promise<Harness> {
  const api = await FakeApiServer.start({ token: TOKEN, ...server });
  const dir = await mkdtemp(join(tmpdir(), 'fl-kube-'));
  const kubeconfig = join(dir, 'kubeconfig');
  await writeFile(kubeconfig, kubeconfigText(api.url, TOKEN));
  const netConfigPath = join(dir, 'net-conf.json');
  await writeFile(netConfigPath, netConf);
  const logger = new RecordingLogger();
  const stores: KubeSubnetManager[] = [];
  const client = new HttpKubeApi(await loadRestConfig({ apiUrl: '', kubeconfigFile: kubeconfig }));
  return {
    api,
    dir,
    kubeconfig,
    netConfigPath,
    logger,
    store(opts = {}) {
      const s = new KubeSubnetManager({
        api: client,
        logger,
        keys: annotationKeys('flannel.alpha.coreos.com'),
        identity: { nodeName: 'node1' } satisfies NodeIdentity,
        netConfigPath,
        setNodeNetworkUnavailable: true,
        timing: { nodeWaitMs: 1500, retryMs: 100, patchTimeoutMs: 1000 },
        watchTimeoutSeconds: () => 60,
        ...opts,
      });
      stores.push(s);
      return s;
    },
    async close() {
      for (const s of stores) await s.close();
      await api.stop();
      await rm(dir, { recursive: true, force: true });
    },
  };
}

export function kubeconfigText(server: string, token: string, ca?: string): string {
  return JSON.stringify({
    apiVersion: 'v1',
    kind: 'Config',
    clusters: [{ name: 'test', cluster: { server, ...(ca ? { 'certificate-authority': ca } : {}) } }],
    users: [{ name: 'flannel', user: { token } }],
    contexts: [{ name: 'test', context: { cluster: 'test', user: 'flannel' } }],
    'current-context': 'test',
  });
}

/** A node as a kubelet registers it, with a podCIDR from the node IPAM controller when given. */
export function nodeObject(name: string, podCIDRs: string[], annotations: Record<string, string> = {}): Record<string, unknown> {
  return {
    metadata: { name, labels: { 'kubernetes.io/hostname': name, 'kubernetes.io/os': 'linux' }, annotations: { 'node.alpha.kubernetes.io/ttl': '0', ...annotations } },
    spec: podCIDRs.length > 0 ? { podCIDR: podCIDRs[0], podCIDRs } : {},
    status: {
      conditions: [{ type: 'Ready', status: 'True', reason: 'KubeletReady', message: 'kubelet is posting ready status', lastHeartbeatTime: '2024-01-01T00:00:00Z', lastTransitionTime: '2024-01-01T00:00:00Z' }],
      addresses: [{ type: 'InternalIP', address: '198.18.0.9' }, { type: 'Hostname', address: name }],
    },
  };
}

/** The annotations flannel on another node has written for a vxlan lease. */
export function flannelAnnotations(publicIP: string, mac: string, extra: Record<string, string> = {}): Record<string, string> {
  return {
    [`${PREFIX}backend-data`]: JSON.stringify({ VNI: 1, VtepMAC: mac }),
    [`${PREFIX}backend-type`]: 'vxlan',
    [`${PREFIX}kube-subnet-manager`]: 'true',
    [`${PREFIX}public-ip`]: publicIP,
    ...extra,
  };
}

/** Pulls batches from a lease watch one at a time, with a timeout per batch. */
export class BatchReader<T> {
  private readonly it: AsyncIterator<T>;
  private pending: Promise<IteratorResult<T>> | null = null;

  constructor(iterable: AsyncIterable<T>) {
    this.it = iterable[Symbol.asyncIterator]();
  }

  private pull(): Promise<IteratorResult<T>> {
    return (this.pending ??= this.it.next());
  }

  async next(timeoutMs = 5000): Promise<T> {
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<never>((_, reject) => (timer = setTimeout(() => reject(new Error(`no batch within ${timeoutMs} ms`)), timeoutMs)));
    try {
      const r = await Promise.race([this.pull(), timeout]);
      this.pending = null;
      if (r.done) throw new Error('the lease watch ended');
      return r.value;
    } finally {
      clearTimeout(timer);
    }
  }

  /** True when no batch arrives within `ms`; a batch that does arrive is kept for `next()`. */
  async quiet(ms: number): Promise<boolean> {
    let timer: NodeJS.Timeout | undefined;
    const got = await Promise.race([this.pull().then(() => true), new Promise<boolean>((r) => (timer = setTimeout(() => r(false), ms)))]);
    clearTimeout(timer);
    return !got;
  }
}
