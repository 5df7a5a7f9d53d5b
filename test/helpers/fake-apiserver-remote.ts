// Talking to a fake API server process over its unix socket (see fake-apiserver-main.ts), with the
// same REST calls a kubectl would make: create/get/delete nodes and pods, plus the fake's controls.
import { request } from 'node:http';

export interface ApiReply {
  status: number;
  body: unknown;
}

export class RemoteFakeApi {
  constructor(
    readonly socketPath: string,
    readonly token: string,
  ) {}

  request(method: string, path: string, body?: unknown, contentType = 'application/json'): Promise<ApiReply> {
    return new Promise((resolve, reject) => {
      const data = body === undefined ? undefined : JSON.stringify(body);
      const req = request(
        { socketPath: this.socketPath, path, method, headers: { authorization: `Bearer ${this.token}`, ...(data ? { 'content-type': contentType } : {}) } },
        (res) => {
          let text = '';
          res.setEncoding('utf8');
          res.on('data', (c: string) => (text += c));
          res.on('end', () => resolve({ status: res.statusCode ?? 0, body: text ? (JSON.parse(text) as unknown) : undefined }));
        },
      );
      req.on('error', reject);
      req.end(data);
    });
  }

  private async ok(method: string, path: string, body?: unknown, contentType?: string): Promise<Record<string, unknown>> {
    const r = await this.request(method, path, body, contentType);
    if (r.status !== 200) throw new Error(`${method} ${path}: HTTP ${r.status} ${JSON.stringify(r.body)}`);
    return r.body as Record<string, unknown>;
  }

  createNode(node: Record<string, unknown>): Promise<Record<string, unknown>> {
    return this.ok('POST', '/api/v1/nodes', node);
  }

  getNode(name: string): Promise<Record<string, unknown>> {
    return this.ok('GET', `/api/v1/nodes/${name}`);
  }

  deleteNode(name: string): Promise<Record<string, unknown>> {
    return this.ok('DELETE', `/api/v1/nodes/${name}`);
  }

  patchNode(name: string, patch: unknown): Promise<Record<string, unknown>> {
    return this.ok('PATCH', `/api/v1/nodes/${name}`, patch, 'application/strategic-merge-patch+json');
  }

  createPod(namespace: string, name: string, nodeName: string): Promise<Record<string, unknown>> {
    return this.ok('POST', `/api/v1/namespaces/${namespace}/pods`, { metadata: { name, namespace }, spec: { nodeName, containers: [] } });
  }

  compact(): Promise<Record<string, unknown>> {
    return this.ok('POST', '/fake/compact');
  }

  async requests(): Promise<Array<{ method: string; path: string; contentType: string; body: unknown; status: number }>> {
    return (await this.ok('POST', '/fake/requests')).items as Array<{ method: string; path: string; contentType: string; body: unknown; status: number }>;
  }

  dropWatches(): Promise<Record<string, unknown>> {
    return this.ok('POST', '/fake/drop-watches');
  }
}
