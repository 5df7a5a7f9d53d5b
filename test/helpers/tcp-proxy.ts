// A tiny TCP proxy for fault injection, in the spirit of the etcd3 project's test proxy: put it between
// a client and etcd, then cut every live connection and refuse new ones to simulate a network outage.
import net from 'node:net';

export class TcpProxy {
  private readonly sockets = new Set<net.Socket>();
  private refusing = false;

  private constructor(
    private readonly server: net.Server,
    /** The port the proxy listens on (127.0.0.1). */
    readonly port: number,
  ) {}

  /** Listens on a free port of 127.0.0.1 and forwards every connection to targetHost:targetPort. */
  static async start(targetHost: string, targetPort: number): Promise<TcpProxy> {
    let proxy: TcpProxy | undefined;
    const server = net.createServer((client) => proxy?.onConnection(client, targetHost, targetPort));
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(0, '127.0.0.1', () => resolve());
    });
    const port = (server.address() as net.AddressInfo).port;
    proxy = new TcpProxy(server, port);
    return proxy;
  }

  /** `<scheme>://127.0.0.1:<port>`, to hand to a client as its endpoint. */
  endpoint(scheme: 'http' | 'https' = 'http'): string {
    return `${scheme}://127.0.0.1:${this.port}`;
  }

  /** Live client connections. */
  get connections(): number {
    return this.sockets.size / 2;
  }

  /** Destroys every live connection (both sides), as a network failure would. */
  cut(): void {
    for (const s of this.sockets) s.destroy();
    this.sockets.clear();
  }

  /** From now on, new connections are reset at once (existing ones are left alone; see cut()). */
  refuse(): void {
    this.refusing = true;
  }

  /** New connections are forwarded again. */
  accept(): void {
    this.refusing = false;
  }

  /** Cuts everything and stops listening. Safe to call twice. */
  async close(): Promise<void> {
    this.cut();
    if (!this.server.listening) return;
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }

  private onConnection(client: net.Socket, host: string, port: number): void {
    if (this.refusing) {
      client.resetAndDestroy();
      return;
    }
    const upstream = net.connect(port, host);
    for (const [a, b] of [[client, upstream], [upstream, client]] as const) {
      this.sockets.add(a);
      a.on('error', () => b.destroy());
      a.on('close', () => {
        this.sockets.delete(a);
        b.destroy();
      });
      a.pipe(b);
    }
  }
}
