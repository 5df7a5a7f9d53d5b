// The health server (fact sheet §10), started when --healthz-port > 0 on --healthz-ip: the reference's
// /healthz and /readyz answers byte for byte (Go's default mux: any method, text/plain, 404 "404 page
// not found" elsewhere), plus /metrics in the Prometheus text format on the same port. Served by
// http1.ts over node:net rather than node:http, which etcd mode would load for this alone.
import type { Logger } from '../common/log.js';
import { FatalError } from './errors.js';
import { Http1Server, type Http1Answer, type Http1Request } from './http1.js';
import { METRICS_CONTENT_TYPE, type MetricsRegistry } from './metrics.js';

export interface HealthOptions {
  host: string;
  port: number;
  /** /readyz answers 200 once this returns true: rules in place and subnet.env written. */
  isReady: () => boolean;
  /** A line /readyz adds (still 200) when a part is degraded, e.g. the lease watch reconnecting; null when none. */
  degraded?: () => string | null;
  metrics?: MetricsRegistry;
  /** /status: the daemon's state as JSON (flanneld status reads it); 404 when absent. */
  status?: () => unknown;
  logger: Logger;
}

const TEXT = 'text/plain; charset=utf-8';
/** The reference gives in-flight requests 3 s on exit. */
const SHUTDOWN_GRACE_MS = 3000;

export class HealthServer {
  private server: Http1Server | null = null;

  constructor(private readonly o: HealthOptions) {}

  /** Listens; rejects with FatalError when the address cannot be bound. Calling it twice is a no-op. */
  async start(): Promise<void> {
    if (this.server) return;
    const server = new Http1Server((req) => this.handle(req));
    const address = this.o.host.includes(':') ? `[${this.o.host}]:${this.o.port}` : `${this.o.host}:${this.o.port}`;
    this.o.logger.info(`Start healthz server on ${address}`);
    await server.listen(this.o.port, this.o.host).catch((e: Error) => {
      throw new FatalError(`healthz server cannot listen on ${address}: ${e.message}`);
    });
    server.on('error', (e) => this.o.logger.error(`healthz server: ${e.message}`));
    this.server = server;
  }

  /** The port actually bound (useful with port 0 in tests); 0 before start(). */
  get port(): number {
    return this.server?.port ?? 0;
  }

  /** Stops accepting, lets answers being written finish for up to 3 s, then closes. Safe to call twice. */
  async stop(): Promise<void> {
    const server = this.server;
    if (!server) return;
    this.server = null;
    await server.close(SHUTDOWN_GRACE_MS);
  }

  private handle(req: Http1Request): Http1Answer {
    const path = req.path;
    if (path === '/healthz') return text(200, TEXT, 'flanneld is running');
    if (path === '/readyz') {
      if (!this.o.isReady()) return text(503, TEXT, 'flanneld is not ready yet');
      const degraded = this.o.degraded?.();
      return text(200, TEXT, degraded ? `flanneld is ready\n${degraded}` : 'flanneld is ready');
    }
    if (path === '/status' && this.o.status) return text(200, 'application/json', `${JSON.stringify(this.o.status(), null, 2)}\n`);
    if (path === '/metrics' && this.o.metrics) return text(200, METRICS_CONTENT_TYPE, this.o.metrics.render());
    return { status: 404, headers: { 'Content-Type': TEXT, 'X-Content-Type-Options': 'nosniff' }, body: '404 page not found\n' };
  }
}

const text = (status: number, type: string, body: string): Http1Answer => ({ status, headers: { 'Content-Type': type }, body });
