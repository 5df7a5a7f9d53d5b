// Golden bytes shared by the codec test (our encoder writes them) and the client test (a real etcd
// does with them what they say).
import type { TxnRequest } from '../../../subnet-lease/etcd/messages.js';

/** The create-if-absent Txn of key "k", value "v" on lease 0x1234, as rpc.proto lays it out. */
export const GOLDEN_TXN = Buffer.from(
  '0a05' + '1a016b' + '2000' + // compare { key: "k", version: 0 } (result EQUAL and target VERSION are the zero values)
    '120b' + '1209' + '0a016b' + '120176' + '18b424', // success { request_put { key: "k", value: "v", lease: 4660 } }
  'hex',
);

export const goldenTxnRequest = (): TxnRequest => ({
  compare: [{ key: Buffer.from('k'), target: 'Version', result: 'Equal', version: 0 }],
  success: [{ request_put: { key: Buffer.from('k'), value: Buffer.from('v'), lease: '4660' } }],
});
