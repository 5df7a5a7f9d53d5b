// Builds etcd3's client options from flannel's etcd flags. The password goes only into the client;
// nothing here logs it or puts it into an error message.
import { readFileSync } from 'node:fs';
import type { IOptions } from 'etcd3';
import type { Logger } from '../../common/log.js';
import { LeaseStoreError } from '../store.js';

export interface EtcdConnectionOptions {
  endpoints: string[];
  keyFile?: string;
  certFile?: string;
  caFile?: string;
  username?: string;
  password?: string;
  /** Deadline of each unary request, connecting included (etcd3 has no separate dial timeout). Default 10 s. */
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
 * https:// endpoints still get server-authenticated TLS from etcd3, using `caFile` when given.
 */
function credentials(opts: EtcdConnectionOptions, logger: Logger): IOptions['credentials'] {
  const ca = opts.caFile ? readPem(opts.caFile, 'CA file') : undefined;
  if (opts.keyFile && opts.certFile) {
    return {
      // grpc-js's createSsl takes null for "use the system roots"; etcd3's type forgets that case.
      rootCertificate: ca ?? (null as unknown as Buffer),
      privateKey: readPem(opts.keyFile, 'key file'),
      certChain: readPem(opts.certFile, 'cert file'),
    };
  }
  logger.warn('no certificate provided: connecting to etcd with http. This is insecure', {
    endpoints: opts.endpoints.join(','),
  });
  const secure = opts.endpoints.some((e) => e.startsWith('https://'));
  return secure && ca ? { rootCertificate: ca } : undefined;
}

export function buildClientOptions(opts: EtcdConnectionOptions, logger: Logger): IOptions {
  if (opts.endpoints.length === 0) throw new LeaseStoreError('no etcd endpoints given');
  const timeoutMs = opts.dialTimeoutMs ?? DEFAULT_DIAL_TIMEOUT_MS;
  const options: IOptions = {
    hosts: opts.endpoints,
    dialTimeout: timeoutMs,
    // Streams (the watch) live for hours; only unary calls get a deadline.
    defaultCallOptions: (ctx) => (ctx.isStream ? {} : { deadline: Date.now() + timeoutMs }),
  };
  const creds = credentials(opts, logger);
  if (creds) options.credentials = creds;
  if (opts.username) options.auth = { username: opts.username, password: opts.password ?? '' };
  return options;
}
