// Builds the etcd client's options from flannel's etcd flags. The password goes only into the client;
// nothing here logs it or puts it into an error message.
import { readFileSync } from 'node:fs';
import type { EtcdClientOptions } from './client.js';
import type { TlsFiles } from './grpc.js';
import type { Logger } from '../../common/log.js';
import { LeaseStoreError } from '../store.js';

export interface EtcdConnectionOptions {
  endpoints: string[];
  keyFile?: string;
  certFile?: string;
  caFile?: string;
  username?: string;
  password?: string;
  /** Deadline of each unary request, connecting included (there is no separate dial timeout). Default 10 s. */
  dialTimeoutMs?: number;
}

export const DEFAULT_DIAL_TIMEOUT_MS = 10_000;

function readPem(file: string, what: string): Buffer {
  try {
    return readFileSync(file);
  } catch (e) {
    throw new LeaseStoreError(`cannot read etcd ${what} ${file}: ${(e as Error).message}`, { cause: e });
  }
}

/**
 * TLS with a client certificate only when both key and cert are given (the reference's rule), the CA
 * being optional (system roots otherwise). Without them the connection is plaintext, with a warning;
 * https:// endpoints still get server-authenticated TLS (for every endpoint), using `caFile` when given.
 */
function credentials(opts: EtcdConnectionOptions, logger: Logger): TlsFiles | null {
  const ca = opts.caFile ? readPem(opts.caFile, 'CA file') : undefined;
  if (opts.keyFile && opts.certFile) {
    const files: TlsFiles = { key: readPem(opts.keyFile, 'key file'), cert: readPem(opts.certFile, 'cert file') };
    if (ca) files.ca = ca;
    return files;
  }
  logger.warn('no certificate provided: connecting to etcd with http. This is insecure', {
    endpoints: opts.endpoints.join(','),
  });
  const secure = opts.endpoints.some((e) => e.startsWith('https://'));
  if (!secure) return null;
  return ca ? { ca } : {};
}

export function buildClientOptions(opts: EtcdConnectionOptions, logger: Logger): EtcdClientOptions {
  if (opts.endpoints.length === 0) throw new LeaseStoreError('no etcd endpoints given');
  // Streams (the watch) live for hours; only unary calls get this deadline.
  const options: EtcdClientOptions = {
    endpoints: opts.endpoints,
    tls: credentials(opts, logger),
    timeoutMs: opts.dialTimeoutMs ?? DEFAULT_DIAL_TIMEOUT_MS,
  };
  if (opts.username) options.auth = { username: opts.username, password: opts.password ?? '' };
  return options;
}
