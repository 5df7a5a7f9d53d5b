// Maps what etcd3 / gRPC throw onto the lease-store error classes. Retry loops read only `retryable`,
// so the one decision made here is: could the same request succeed later without anyone changing the
// configuration (connection lost, no leader, timeout)? The message always names the key and endpoints.
import {
  ClientClosedError,
  ClientRuntimeError,
  EtcdAuthenticationFailedError,
  EtcdInvalidAuthTokenError,
  EtcdPermissionDeniedError,
  castGrpcError,
  isRecoverableError,
} from 'etcd3';
import { LeaseStoreError, StoreUnavailableError } from '../store.js';

/** The per-host circuit breaker of etcd3 (cockatiel) throws this shape while a host is considered down. */
function isBrokenCircuit(e: Error): boolean {
  return (e as { isBrokenCircuitError?: unknown }).isBrokenCircuitError === true;
}

/** etcd3 leaves raw gRPC errors (plain Error with a numeric `code`) on streams; give them their class. */
export function typedEtcdError(e: unknown): Error {
  if (!(e instanceof Error)) return new Error(String(e));
  return castGrpcError(e);
}

/** etcd3's error classes do not set `name`; their constructor's name is what tells them apart. */
export function errorLabel(err: Error): string {
  return err.name === 'Error' && err.constructor.name !== 'Error' ? err.constructor.name : err.name;
}

/** True when the failure is about the connection or the cluster's health, not about the request. */
export function isTransient(e: unknown): boolean {
  if (e instanceof LeaseStoreError) return e.retryable;
  const err = typedEtcdError(e);
  if (err instanceof EtcdAuthenticationFailedError || err instanceof EtcdPermissionDeniedError) return false;
  if (err instanceof ClientClosedError) return false;
  // An expired token is refreshed by etcd3 on the next unary call, so trying again helps.
  if (err instanceof EtcdInvalidAuthTokenError) return true;
  return isRecoverableError(err) || isBrokenCircuit(err) || err instanceof ClientRuntimeError;
}

/**
 * Wraps `e` into StoreUnavailableError (retryable) or LeaseStoreError (final), with `what` (the
 * operation and key) and the endpoints in the message. Lease-store errors pass through unchanged.
 */
export function storeError(e: unknown, what: string, endpoints: readonly string[]): LeaseStoreError {
  if (e instanceof LeaseStoreError) return e;
  const err = typedEtcdError(e);
  const where = `etcd ${endpoints.join(',')}`;
  if (err instanceof ClientClosedError) {
    return new LeaseStoreError(`${what} at ${where}: the registry is closed`, { cause: err });
  }
  const Ctor = isTransient(err) ? StoreUnavailableError : LeaseStoreError;
  return new Ctor(`${what} at ${where}: ${errorLabel(err)}: ${err.message}`, { cause: err });
}
