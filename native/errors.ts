// Errors of the native layer. Callers test `code` (the errno name), never the message text.
import { getSystemErrorMap } from 'node:util';
import { constants } from 'node:os';

/** errno values whose operations may succeed when simply tried again. */
const RETRYABLE = new Set(['EAGAIN', 'EBUSY', 'EINTR', 'ENOBUFS', 'ENOMEM', 'ETIMEDOUT']);

export class NativeError extends Error {
  override name = 'NativeError';
  readonly retryable: boolean;
  constructor(
    /** The errno name, e.g. "EEXIST". */
    readonly code: string,
    /** The errno number (positive). */
    readonly errno: number,
    /** The system call or netlink operation that failed, e.g. "RTM_NEWROUTE" or "setns". */
    readonly syscall: string,
    /** What was being done, e.g. "route replace 10.244.2.0/24 via 10.244.2.0 dev #5". */
    readonly context: string,
    /** The kernel's own explanation (netlink extended ACK), when it gave one. */
    readonly kernelMessage?: string,
  ) {
    const why = kernelMessage ? `; kernel says: ${kernelMessage}` : '';
    super(`${context}: ${syscall} failed with ${code} (${describeErrno(errno)})${why}`);
    this.retryable = RETRYABLE.has(code);
  }
}

/** An argument that cannot be sent to the kernel; raised in TypeScript before anything crosses into C++. */
export class NativeArgumentError extends NativeError {
  override name = 'NativeArgumentError';
  constructor(context: string, problem: string) {
    super('EINVAL', errnoNumber('EINVAL'), 'validate', `${context}: ${problem}`);
  }
}

export function errnoName(errno: number): string {
  return getSystemErrorMap().get(-errno)?.[0] ?? `E${errno}`;
}

export function errnoNumber(name: string): number {
  return (constants.errno as Record<string, number>)[name] ?? 0;
}

function describeErrno(errno: number): string {
  return getSystemErrorMap().get(-errno)?.[1] ?? `errno ${errno}`;
}

export function nativeError(code: string, syscall: string, context: string, kernelMessage?: string): NativeError {
  return new NativeError(code, errnoNumber(code), syscall, context, kernelMessage);
}

/** Turns an error thrown by the C++ addon (with errno/code/syscall properties) into a NativeError. */
export function fromAddonError(e: unknown, context: string): NativeError {
  if (e instanceof NativeError) return e;
  const raw = e as { errno?: unknown; code?: unknown; syscall?: unknown };
  if (typeof raw?.errno === 'number') {
    const code = typeof raw.code === 'string' ? raw.code : errnoName(raw.errno);
    return new NativeError(code, raw.errno, typeof raw.syscall === 'string' ? raw.syscall : 'unknown', context);
  }
  return new NativeError('EIO', errnoNumber('EIO'), 'addon', `${context}: ${(e as Error)?.message ?? String(e)}`);
}
