// LIST of the fake API server with limit/continue, as the real one pages (apimachinery's storage):
// items in key (name) order; a page of `limit` items with metadata.continue (base64 JSON of the list's
// resourceVersion and the next key) and remainingItemCount while more remain; a continue token older
// than the last compaction is 410 Expired, a malformed one 400. Without limit (or limit=0): everything.
// Unlike etcd, the fake keeps no snapshots: later pages show the current objects (each with its own
// resourceVersion), while metadata.resourceVersion stays that of the first page, as a consistent list's.
import { HttpError } from './fake-apiserver-http.js';

type Obj = Record<string, unknown>;

interface Token {
  v: string;
  rv: number;
  start: string;
}

const EXPIRED =
  'The provided continue parameter is too old to display a consistent list result. You can start a new list without the continue ' +
  'parameter, or use the continue token in this response to retrieve the remainder of the results. Continuing with the provided ' +
  'token results in an inconsistent list - objects that were created, modified, or deleted between the time the first chunk was ' +
  'returned and now may show up in the list.';

function decode(text: string): Token {
  try {
    const t = JSON.parse(Buffer.from(text, 'base64').toString('utf8')) as Token;
    if (t.v !== 'meta.k8s.io/v1' || typeof t.rv !== 'number' || typeof t.start !== 'string') throw new Error('bad');
    return t;
  } catch {
    throw new HttpError(400, 'BadRequest', `continue key is not valid: ${text}`);
  }
}

export function listPage(objects: Map<string, Obj>, q: URLSearchParams, rv: number, compactedRV: number): Obj {
  const limit = Number(q.get('limit') ?? '0');
  if (!Number.isInteger(limit) || limit < 0) throw new HttpError(400, 'BadRequest', `limit: Invalid value: ${q.get('limit')}`);
  const cont = q.get('continue');
  let listRV = rv;
  let start = '';
  if (cont) {
    const t = decode(cont);
    if (t.rv < compactedRV) throw new HttpError(410, 'Expired', EXPIRED);
    listRV = t.rv;
    start = t.start;
  }
  const names = [...objects.keys()].filter((n) => n >= start).sort();
  const taken = limit > 0 ? names.slice(0, limit) : names;
  const items = taken.map((n) => {
    const { kind: _k, apiVersion: _a, ...rest } = objects.get(n)!;
    return rest;
  });
  const metadata: Obj = { resourceVersion: String(listRV) };
  const remaining = names.length - taken.length;
  if (remaining > 0) {
    const next: Token = { v: 'meta.k8s.io/v1', rv: listRV, start: `${taken[taken.length - 1]}\u0000` };
    metadata.continue = Buffer.from(JSON.stringify(next)).toString('base64');
    metadata.remainingItemCount = remaining;
  }
  return { kind: 'NodeList', apiVersion: 'v1', metadata, items };
}
