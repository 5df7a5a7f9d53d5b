// HTTP plumbing of the fake API server: Status errors, JSON replies and watch lines, request bodies.
import type { IncomingMessage, ServerResponse } from 'node:http';

type Obj = Record<string, unknown>;

/** An API error answered as a Status object (`reason` as the real server names it). */
export class HttpError extends Error {
  constructor(
    readonly code: number,
    readonly reason: string,
    message: string,
    readonly details?: Obj,
  ) {
    super(message);
  }
}

export function nameOf(obj: Obj): string {
  const name = (obj.metadata as Obj | undefined)?.name;
  if (typeof name !== 'string' || !name) throw new HttpError(422, 'Invalid', 'metadata.name: Required value: name or generateName is required');
  return name;
}

export function status(e: HttpError): Obj {
  return { kind: 'Status', apiVersion: 'v1', metadata: {}, status: 'Failure', message: e.message, reason: e.reason, ...(e.details ? { details: e.details } : {}), code: e.code };
}

export function send(res: ServerResponse, event: unknown): void {
  if (!res.writableEnded) res.write(`${JSON.stringify(event)}\n`);
}

export function reply(res: ServerResponse, code: number, body: unknown): void {
  res.writeHead(code, { 'content-type': 'application/json' });
  res.end(JSON.stringify(body));
}

export function isTrue(v: string | null): boolean {
  return v === '1' || v === 'true' || v === 't' || v === 'True' || v === 'TRUE';
}

export function readBody(req: IncomingMessage): Promise<string> {
  return new Promise((resolve, reject) => {
    let s = '';
    req.setEncoding('utf8');
    req.on('data', (c: string) => (s += c));
    req.on('end', () => resolve(s));
    req.on('error', reject);
  });
}

export function parseMaybe(text: string): unknown {
  if (!text) return undefined;
  try {
    return JSON.parse(text);
  } catch {
    return text;
  }
}

export function jsonBody(text: string): Obj {
  const v = parseMaybe(text);
  if (typeof v !== 'object' || v === null || Array.isArray(v)) throw new HttpError(400, 'BadRequest', `the request body is not a JSON object`);
  return v as Obj;
}
