// Building the Kubernetes lease store from flanneld's flags and environment (fact sheet §6, §1):
// the annotation prefix, our node's identity (NODE_NAME, else POD_NAME + POD_NAMESPACE), the client
// config, EVENT_QUEUE_DEPTH and CONT_WHEN_CACHE_NOT_READY. Errors here are KubeStoreError: start-up stops.
import type { Logger } from '../../common/log.js';
import { annotationKeys } from './annotations.js';
import { HttpKubeApi, loadRestConfig } from './client.js';
import { KubeStoreError } from './errors.js';
import { KubeSubnetManager, type NodeIdentity } from './manager.js';

export { KubeSubnetManager } from './manager.js';
export { KubeApiError, KubeStoreError, OwnNodeDeletedError } from './errors.js';
export { annotationKeys, type KubeAnnotations } from './annotations.js';

export interface KubeStoreFlags {
  kubeApiUrl: string;
  kubeconfigFile: string;
  kubeAnnotationPrefix: string;
  netConfigPath: string;
  setNodeNetworkUnavailable: boolean;
}

export async function createKubeStore(flags: KubeStoreFlags, env: NodeJS.ProcessEnv, logger: Logger): Promise<KubeSubnetManager> {
  const keys = annotationKeys(flags.kubeAnnotationPrefix);
  const identity = nodeIdentity(env);
  const eventQueue = eventQueueDepth(env.EVENT_QUEUE_DEPTH);
  const config = await loadRestConfig({ apiUrl: flags.kubeApiUrl, kubeconfigFile: flags.kubeconfigFile, env });
  logger.info(`Kubernetes API server ${config.server} (${config.auth.kind === 'none' && !config.cert ? 'no credentials' : `${config.auth.kind}${config.cert ? ' + client certificate' : ''}`})`);
  return new KubeSubnetManager({
    api: new HttpKubeApi(config, { annotationPrefix: keys.backendData.slice(0, -'backend-data'.length) }),
    logger,
    keys,
    identity,
    netConfigPath: flags.netConfigPath,
    setNodeNetworkUnavailable: flags.setNodeNetworkUnavailable,
    eventQueueDepth: eventQueue,
    contWhenCacheNotReady: env.CONT_WHEN_CACHE_NOT_READY === 'true',
  });
}

export function nodeIdentity(env: NodeJS.ProcessEnv): NodeIdentity {
  if (env.NODE_NAME) return { nodeName: env.NODE_NAME };
  if (!env.POD_NAME || !env.POD_NAMESPACE) throw new KubeStoreError('env variables POD_NAME and POD_NAMESPACE must be set');
  return { podName: env.POD_NAME, podNamespace: env.POD_NAMESPACE };
}

/** Go's strconv.Atoi rules; a value of 0 or less keeps the default 5000, as the reference. */
export function eventQueueDepth(value: string | undefined): number {
  if (value === undefined || value === '') return 5000;
  if (!/^[+-]?\d+$/.test(value)) throw new KubeStoreError(`env EVENT_QUEUE_DEPTH=${value} format error: not an integer`);
  const n = Number(value);
  return n > 0 ? n : 5000;
}
