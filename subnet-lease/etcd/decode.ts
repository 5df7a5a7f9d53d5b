// Turning stored subnet entries (key + value bytes, as etcd keeps them) into leases. Shared by the etcd
// registry and the in-memory one, so both skip exactly the same malformed entries with the same warning.
import { LeaseParseError, decodeLeaseAttrs, parseSubnetKey } from '../lease.js';
import type { Lease } from '../lease.js';
import type { Logger } from '../../common/log.js';

/**
 * Decodes one subnet entry. A key that is not `A.B.C.D-LEN[&v6-LEN6]` or a value that is not a valid
 * lease JSON is another host's problem: it is logged (naming the key) and skipped (null), never thrown.
 * `expiration` is left unset: listing never asks etcd for a lease's TTL (one RPC per key).
 */
export function decodeStoredLease(key: string, value: string, reservation: boolean, logger: Logger, createRevision?: string | number): Lease | null {
  try {
    const { subnet, ipv6Subnet } = parseSubnetKey(key);
    const lease: Lease = { subnet, ipv6Subnet, attrs: decodeLeaseAttrs(value), reservation, key };
    if (createRevision !== undefined) lease.createRevision = Number(createRevision);
    return lease;
  } catch (e) {
    if (!(e instanceof LeaseParseError)) throw e;
    logger.warn(`skipping subnet entry ${key}: ${e.message}`, { key });
    return null;
  }
}

/** A removal carries only the subnets parsed from the key (the value is gone); null when the key is junk. */
export function decodeRemovedLease(key: string, logger: Logger): Lease | null {
  try {
    const { subnet, ipv6Subnet } = parseSubnetKey(key);
    return { subnet, ipv6Subnet, attrs: { publicIP: 0, publicIPv6: null }, reservation: false, key };
  } catch (e) {
    if (!(e instanceof LeaseParseError)) throw e;
    logger.warn(`skipping removal of subnet entry ${key}: ${e.message}`, { key });
    return null;
  }
}
