// Fetching the network config: retried every second while it is missing or the store is unreachable
// (with a line saying how to create it); a config that is present but invalid stops start-up.
import { isAbort, sleep } from '../common/abort.js';
import { ConfigError, type NetworkConfig } from '../subnet-lease/config.js';
import type { Logger } from '../common/log.js';
import { isRetryable, type LeaseStore } from '../subnet-lease/store.js';
import { FatalError, invalidConfigMessage } from './errors.js';

const RETRY_MS = 1000;
/** Repeat an unchanged complaint this often, not every second. */
const REPEAT_LOG_MS = 30_000;

export async function fetchNetworkConfig(store: LeaseStore, signal: AbortSignal, logger: Logger): Promise<NetworkConfig> {
  let lastMessage = '';
  let lastLogged = 0;
  for (;;) {
    try {
      const config = await store.getNetworkConfig(signal);
      logger.info(`network config: ${describeFamilies(config)} Backend=${config.backendType}`);
      return config;
    } catch (e) {
      if (isAbort(e, signal)) throw e;
      if (e instanceof ConfigError) throw new FatalError(invalidConfigMessage(e.message, e.field));
      if (!isRetryable(e)) throw e;
      const message = (e as Error).message;
      if (message !== lastMessage || Date.now() - lastLogged >= REPEAT_LOG_MS) {
        logger.error(`failed to retrieve network config: ${message} (retrying every second)`);
        lastMessage = message;
        lastLogged = Date.now();
      }
      await sleep(RETRY_MS, signal);
    }
  }
}

/** The families in use, as the log line shows them (IPv6-only shows no IPv4 part). */
function describeFamilies(config: NetworkConfig): string {
  const parts: string[] = [];
  if (config.enableIPv4) parts.push(`Network=${config.network ?? '-'} SubnetLen=${config.subnetLen}`);
  if (config.enableIPv6) parts.push(`IPv6Network=${config.ipv6Network ?? '-'} IPv6SubnetLen=${config.ipv6SubnetLen}`);
  if (!config.enableIPv4) parts.push('EnableIPv4=false');
  return parts.join(' ');
}
