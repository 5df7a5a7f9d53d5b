// Errors of the Kubernetes lease store. Retry loops read `retryable` alone (STYLE.md rule 5).
import { LeaseStoreError } from '../store.js';

/** A problem the operator must fix (configuration, RBAC, a node without podCIDR): not retried. */
export class KubeStoreError extends LeaseStoreError {
  override name = 'KubeStoreError';
}

/**
 * An API request failed. `statusCode` is the HTTP status (undefined when the server was not reached),
 * `reason` the Status reason (NotFound, Forbidden, Expired…). Transient failures (no answer, 5xx, 429,
 * 409 conflicts) are retryable; a request that never left (bad credentials, a failing exec plugin) is not.
 */
export class KubeApiError extends LeaseStoreError {
  override name = 'KubeApiError';
  override readonly retryable: boolean;
  constructor(
    message: string,
    readonly statusCode?: number,
    readonly reason?: string,
    /** Without a status: whether the server could not be reached (true) or the request never left (false). */
    network = true,
  ) {
    super(message);
    this.retryable = statusCode === undefined ? network : statusCode >= 500 || statusCode === 429 || statusCode === 409;
  }
}

/**
 * Our own Node object was deleted from the API. The daemon stops cleanly on it, so that the DaemonSet
 * restarts flanneld, which then annotates the node again when it is back (the reference never notices).
 */
export class OwnNodeDeletedError extends LeaseStoreError {
  override name = 'OwnNodeDeletedError';
  constructor(readonly nodeName: string) {
    super(`node "${nodeName}" was deleted from the Kubernetes API`);
  }
}
