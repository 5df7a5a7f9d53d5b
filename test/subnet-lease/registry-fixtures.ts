// Leases and values shared by the registry tests: attrs and the exact JSON the Go flanneld writes.
import { IP4Net, parseIP4 } from '../../common/ip.js';
import { subnetKey } from '../../subnet-lease/lease.js';
import type { Lease, LeaseAttrs } from '../../subnet-lease/lease.js';

export const DAY = 86400;
export const net = (s: string): IP4Net => IP4Net.parse(s);
export const attrsA: LeaseAttrs = {
  publicIP: parseIP4('192.168.64.3'),
  publicIPv6: null,
  backendType: 'vxlan',
  backendData: { VNI: 1, VtepMAC: 'c6:d2:32:6f:8f:44' },
};
/** attrsA exactly as the Go flanneld writes it. */
export const JSON_A = '{"PublicIP":"192.168.64.3","PublicIPv6":null,"BackendType":"vxlan","BackendData":{"VNI":1,"VtepMAC":"c6:d2:32:6f:8f:44"}}';
export const attrsB: LeaseAttrs = { publicIP: parseIP4('192.168.64.4'), publicIPv6: null, backendType: 'host-gw' };
export const JSON_B = '{"PublicIP":"192.168.64.4","PublicIPv6":null,"BackendType":"host-gw"}';

export const keysOf = (leases: Lease[]): string[] => leases.map((l) => subnetKey(l.subnet, l.ipv6Subnet)).sort();

export async function rejection(p: Promise<unknown>): Promise<Error> {
  try {
    await p;
  } catch (e) {
    return e as Error;
  }
  throw new Error('expected a rejection, but the call succeeded');
}
