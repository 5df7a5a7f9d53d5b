// The etcd v3 messages flanneld sends and reads (etcdserverpb/rpc.proto and mvccpb/kv.proto of etcd 3.4),
// with the field numbers of the .proto files. Field names follow the .proto (snake_case); int64 values
// are decimal strings, so lease IDs above 2^53 stay exact. Fields flanneld never reads are skipped.
import { ProtoReader, ProtoWriter } from './proto.js';

export interface ResponseHeader {
  cluster_id: string;
  member_id: string;
  revision: string;
  raft_term: string;
}

export interface KeyValue {
  key: Buffer;
  create_revision: string;
  mod_revision: string;
  version: string;
  value: Buffer;
  /** '0' when the key is bound to no lease. */
  lease: string;
}

export interface RangeRequest {
  key: Buffer;
  range_end?: Buffer;
  count_only?: boolean;
}
export interface RangeResponse {
  header: ResponseHeader;
  kvs: KeyValue[];
  count: string;
}

export interface PutRequest {
  key: Buffer;
  value: Buffer;
  lease?: string;
}

export interface DeleteRangeRequest {
  key: Buffer;
  range_end?: Buffer;
}

const COMPARE_RESULT = { Equal: 0, Greater: 1, Less: 2, NotEqual: 3 } as const;
const COMPARE_TARGET = { Version: 0, Create: 1, Mod: 2, Value: 3, Lease: 4 } as const;

/** One condition of a transaction: `target` of `key` compared with the one value field that matches it. */
export type Compare = { key: Buffer; result: keyof typeof COMPARE_RESULT } & (
  | { target: 'Version'; version: number | string }
  | { target: 'Create'; create_revision: number | string }
  | { target: 'Mod'; mod_revision: number | string }
  | { target: 'Value'; value: Buffer }
  | { target: 'Lease'; lease: number | string }
);

export interface TxnRequest {
  compare: Compare[];
  /** Only puts: all flanneld (and its benchmarks) do in a transaction. */
  success: Array<{ request_put: PutRequest }>;
  failure?: Array<{ request_put: PutRequest }>;
}
export interface TxnResponse {
  header: ResponseHeader;
  succeeded: boolean;
}

export interface LeaseGrantResponse {
  header: ResponseHeader;
  ID: string;
  TTL: string;
  error: string;
}

/** One of the three (a oneof): the first one set is sent. */
export interface WatchRequest {
  create_request?: { key: Buffer; range_end?: Buffer; start_revision?: string; progress_notify?: boolean; prev_kv?: boolean };
  cancel_request?: { watch_id: string };
  progress_request?: Record<string, never>;
}

export interface WatchEvent {
  type: 'Put' | 'Delete';
  kv: KeyValue;
}
export interface WatchResponse {
  header: ResponseHeader;
  watch_id: string;
  created: boolean;
  canceled: boolean;
  /** Non-zero when the requested start revision was compacted away. */
  compact_revision: string;
  cancel_reason: string;
  fragment: boolean;
  events: WatchEvent[];
}

// ---- requests ----

export function encodeRange(req: RangeRequest): Buffer {
  return new ProtoWriter().bytes(1, req.key, true).bytes(2, req.range_end).bool(9, req.count_only).finish();
}

export function encodePut(req: PutRequest): Buffer {
  return new ProtoWriter().bytes(1, req.key, true).bytes(2, req.value).int64(3, req.lease).finish();
}

export function encodeDeleteRange(req: DeleteRangeRequest): Buffer {
  return new ProtoWriter().bytes(1, req.key, true).bytes(2, req.range_end).finish();
}

function encodeCompare(c: Compare): Buffer {
  const w = new ProtoWriter().int64(1, COMPARE_RESULT[c.result]).int64(2, COMPARE_TARGET[c.target]).bytes(3, c.key, true);
  // The value is a oneof member, so it is written even when zero: "version == 0" must say so.
  switch (c.target) {
    case 'Version':
      return w.int64(4, c.version, true).finish();
    case 'Create':
      return w.int64(5, c.create_revision, true).finish();
    case 'Mod':
      return w.int64(6, c.mod_revision, true).finish();
    case 'Value':
      return w.bytes(7, c.value, true).finish();
    case 'Lease':
      return w.int64(8, c.lease, true).finish();
  }
}

export function encodeTxn(req: TxnRequest): Buffer {
  const w = new ProtoWriter();
  for (const c of req.compare) w.bytes(1, encodeCompare(c), true);
  // RequestOp { request_put = 2 }
  for (const op of req.success) w.bytes(2, new ProtoWriter().bytes(2, encodePut(op.request_put), true).finish(), true);
  for (const op of req.failure ?? []) w.bytes(3, new ProtoWriter().bytes(2, encodePut(op.request_put), true).finish(), true);
  return w.finish();
}

export function encodeLeaseGrant(ttlSeconds: number): Buffer {
  return new ProtoWriter().int64(1, ttlSeconds).finish();
}

export function encodeLeaseRevoke(id: string): Buffer {
  return new ProtoWriter().int64(1, id).finish();
}

export function encodeAuthenticate(name: string, password: string): Buffer {
  return new ProtoWriter().bytes(1, name).bytes(2, password).finish();
}

export function encodeWatchRequest(req: WatchRequest): Buffer {
  const w = new ProtoWriter();
  if (req.create_request) {
    const c = req.create_request;
    const body = new ProtoWriter().bytes(1, c.key, true).bytes(2, c.range_end).int64(3, c.start_revision)
      .bool(4, c.progress_notify).bool(6, c.prev_kv).finish();
    return w.bytes(1, body, true).finish();
  }
  if (req.cancel_request) return w.bytes(2, new ProtoWriter().int64(1, req.cancel_request.watch_id).finish(), true).finish();
  return w.bytes(3, Buffer.alloc(0), true).finish();
}

// ---- responses ----

export function decodeHeader(buf: Buffer): ResponseHeader {
  const h: ResponseHeader = { cluster_id: '0', member_id: '0', revision: '0', raft_term: '0' };
  const r = new ProtoReader(buf);
  for (let f = r.next(); f; f = r.next()) {
    if (f === 1) h.cluster_id = r.uint64();
    else if (f === 2) h.member_id = r.uint64();
    else if (f === 3) h.revision = r.int64();
    else if (f === 4) h.raft_term = r.uint64();
    else r.skip();
  }
  return h;
}

/** Key and value are copied out of the response buffer, so keeping a KeyValue keeps no more than it. */
export function decodeKeyValue(buf: Buffer): KeyValue {
  const kv: KeyValue = { key: Buffer.alloc(0), create_revision: '0', mod_revision: '0', version: '0', value: Buffer.alloc(0), lease: '0' };
  const r = new ProtoReader(buf);
  for (let f = r.next(); f; f = r.next()) {
    if (f === 1) kv.key = Buffer.from(r.bytes());
    else if (f === 2) kv.create_revision = r.int64();
    else if (f === 3) kv.mod_revision = r.int64();
    else if (f === 4) kv.version = r.int64();
    else if (f === 5) kv.value = Buffer.from(r.bytes());
    else if (f === 6) kv.lease = r.int64();
    else r.skip();
  }
  return kv;
}

const emptyHeader = (): ResponseHeader => decodeHeader(Buffer.alloc(0));

export function decodeRangeResponse(buf: Buffer): RangeResponse {
  const res: RangeResponse = { header: emptyHeader(), kvs: [], count: '0' };
  const r = new ProtoReader(buf);
  for (let f = r.next(); f; f = r.next()) {
    if (f === 1) res.header = decodeHeader(r.bytes());
    else if (f === 2) res.kvs.push(decodeKeyValue(r.bytes()));
    else if (f === 4) res.count = r.int64();
    else r.skip();
  }
  return res;
}

/** Put, DeleteRange and LeaseRevoke responses: flanneld reads nothing but that they succeeded. */
export function decodeHeaderOnly(buf: Buffer): { header: ResponseHeader } {
  const res = { header: emptyHeader() };
  const r = new ProtoReader(buf);
  for (let f = r.next(); f; f = r.next()) {
    if (f === 1) res.header = decodeHeader(r.bytes());
    else r.skip();
  }
  return res;
}

export function decodeTxnResponse(buf: Buffer): TxnResponse {
  const res: TxnResponse = { header: emptyHeader(), succeeded: false };
  const r = new ProtoReader(buf);
  for (let f = r.next(); f; f = r.next()) {
    if (f === 1) res.header = decodeHeader(r.bytes());
    else if (f === 2) res.succeeded = r.bool();
    else r.skip();
  }
  return res;
}

export function decodeLeaseGrantResponse(buf: Buffer): LeaseGrantResponse {
  const res: LeaseGrantResponse = { header: emptyHeader(), ID: '0', TTL: '0', error: '' };
  const r = new ProtoReader(buf);
  for (let f = r.next(); f; f = r.next()) {
    if (f === 1) res.header = decodeHeader(r.bytes());
    else if (f === 2) res.ID = r.int64();
    else if (f === 3) res.TTL = r.int64();
    else if (f === 4) res.error = r.string();
    else r.skip();
  }
  return res;
}

export function decodeAuthenticateResponse(buf: Buffer): { token: string } {
  const res = { token: '' };
  const r = new ProtoReader(buf);
  for (let f = r.next(); f; f = r.next()) {
    if (f === 2) res.token = r.string();
    else r.skip();
  }
  return res;
}

function decodeEvent(buf: Buffer): WatchEvent {
  const ev: WatchEvent = { type: 'Put', kv: decodeKeyValue(Buffer.alloc(0)) };
  const r = new ProtoReader(buf);
  for (let f = r.next(); f; f = r.next()) {
    if (f === 1) ev.type = r.enum() === 1 ? 'Delete' : 'Put';
    else if (f === 2) ev.kv = decodeKeyValue(r.bytes());
    else r.skip(); // prev_kv: never asked for
  }
  return ev;
}

export function decodeWatchResponse(buf: Buffer): WatchResponse {
  const res: WatchResponse = {
    header: emptyHeader(), watch_id: '0', created: false, canceled: false, compact_revision: '0', cancel_reason: '', fragment: false, events: [],
  };
  const r = new ProtoReader(buf);
  for (let f = r.next(); f; f = r.next()) {
    if (f === 1) res.header = decodeHeader(r.bytes());
    else if (f === 2) res.watch_id = r.int64();
    else if (f === 3) res.created = r.bool();
    else if (f === 4) res.canceled = r.bool();
    else if (f === 5) res.compact_revision = r.int64();
    else if (f === 6) res.cancel_reason = r.string();
    else if (f === 7) res.fragment = r.bool();
    else if (f === 11) res.events.push(decodeEvent(r.bytes()));
    else r.skip();
  }
  return res;
}
