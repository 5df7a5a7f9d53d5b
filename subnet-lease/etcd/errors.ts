// What etcd and gRPC fail with, and how that maps onto the lease-store error classes. Retry loops read
// only `retryable`, so the one decision made here is: could the same request succeed later without anyone
// changing the configuration (connection lost, no leader, timeout)? The message always names the key
// and endpoints. The labels users see (GRPCUnavailableError, EtcdPermissionDeniedError, …) are the ones
// the etcd3 package used, so logs read as before.
import { LeaseStoreError, StoreUnavailableError } from '../store.js';

/** gRPC status codes. */
export enum Status {
  OK = 0,
  CANCELLED = 1,
  UNKNOWN = 2,
  INVALID_ARGUMENT = 3,
  DEADLINE_EXCEEDED = 4,
  NOT_FOUND = 5,
  ALREADY_EXISTS = 6,
  PERMISSION_DENIED = 7,
  RESOURCE_EXHAUSTED = 8,
  FAILED_PRECONDITION = 9,
  ABORTED = 10,
  OUT_OF_RANGE = 11,
  UNIMPLEMENTED = 12,
  INTERNAL = 13,
  UNAVAILABLE = 14,
  DATA_LOSS = 15,
  UNAUTHENTICATED = 16,
}

/** Codes after which the same call may well succeed (on this member later, or on another one). */
const RECOVERABLE = new Set([
  Status.CANCELLED, Status.UNKNOWN, Status.DEADLINE_EXCEEDED, Status.RESOURCE_EXHAUSTED, Status.ABORTED, Status.INTERNAL, Status.UNAVAILABLE,
]);

const LABELS: Record<number, string> = {
  1: 'GRPCCancelledError', 2: 'GRPCUnknownError', 3: 'GRPCInvalidArgumentError', 4: 'GRPCDeadlineExceededError',
  5: 'GRPCNotFoundError', 6: 'GRPCAlreadyExistsError', 7: 'EtcdPermissionDeniedError', 8: 'GRPCResourceExhastedError',
  9: 'GRPCFailedPreconditionError', 10: 'GRPCAbortedError', 11: 'GRPCOutOfRangeError', 12: 'GRPCNotImplementedError',
  13: 'GRPCInternalError', 14: 'GRPCUnavailableError', 15: 'GRPCDataLossError', 16: 'GRPCUnauthenticatedError',
};

/** A failed gRPC call: `code` is the status, the message `<code> <NAME>: <details>` as grpc-js wrote it. */
export class GrpcError extends Error {
  override name: string;
  /** The same call may succeed later or on another member. */
  readonly recoverable: boolean;

  constructor(
    readonly code: Status,
    readonly details: string,
  ) {
    super(`${code} ${Status[code] ?? 'UNKNOWN'}: ${details}`);
    this.name = LABELS[code] ?? 'GRPCGenericError';
    this.recoverable = RECOVERABLE.has(code);
  }
}

/** Wrong user name or password: final until someone changes the configuration. */
export class EtcdAuthenticationFailedError extends GrpcError {
  override name = 'EtcdAuthenticationFailedError';
  override readonly recoverable = false;
}

export class EtcdPermissionDeniedError extends GrpcError {
  override name = 'EtcdPermissionDeniedError';
  override readonly recoverable = false;
}

/** The auth token expired or the member restarted: authenticating again fixes it. */
export class EtcdInvalidAuthTokenError extends GrpcError {
  override name = 'EtcdInvalidAuthTokenError';
  override readonly recoverable = true;
}

/** etcd's own reason for an error that gRPC status alone does not tell apart. */
const BY_MESSAGE: Array<[string, typeof GrpcError]> = [
  ['etcdserver: authentication failed, invalid user ID or password', EtcdAuthenticationFailedError],
  ['etcdserver: permission denied', EtcdPermissionDeniedError],
  ['etcdserver: invalid auth token', EtcdInvalidAuthTokenError],
];

/** The class of a failed call, from etcd's message first, then from the status code. */
export function grpcError(code: Status, details: string): GrpcError {
  const Ctor = BY_MESSAGE.find(([text]) => details.includes(text))?.[1] ?? (code === Status.PERMISSION_DENIED ? EtcdPermissionDeniedError : GrpcError);
  return new Ctor(code, details);
}

/** A watch canceled by etcd: the reason comes as text in the response, without a status code. */
export function watchCancelError(reason: string): GrpcError | null {
  const Ctor = BY_MESSAGE.find(([text]) => reason.includes(text))?.[1];
  return Ctor ? new Ctor(Status.UNKNOWN, reason) : null;
}

/** The client was closed: nothing will succeed on it any more. */
export class ClientClosedError extends Error {
  override name = 'ClientClosedError';
}

export function errorLabel(err: Error): string {
  return err.name;
}

/** True when the failure is about the connection or the cluster's health, not about the request. */
export function isTransient(e: unknown): boolean {
  if (e instanceof LeaseStoreError) return e.retryable;
  if (e instanceof GrpcError) return e.recoverable;
  return false;
}

/** Non-Error throwables become Errors, so callers can read a message. */
export function typedEtcdError(e: unknown): Error {
  return e instanceof Error ? e : new Error(String(e));
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
