// The socket under a session: plain TCP, or TLS with ALPN h2. node:tls is required only when TLS is
// configured: loading it costs a plaintext flanneld ~2 MiB of RSS for nothing.
import net from 'node:net';
import { createRequire } from 'node:module';

export interface TlsOptions {
  /** PEM; absent: the system's roots. */
  ca?: Buffer;
  key?: Buffer;
  cert?: Buffer;
}

const require = createRequire(import.meta.url);

/**
 * Connects to `url`'s host and port (80/443 when it names none); writes before the connection is up are
 * queued by the socket. A TLS server that does not choose h2 by ALPN gets the socket destroyed with an
 * error saying so.
 */
export function connectSocket(url: URL, tls: TlsOptions | null): net.Socket {
  const host = url.hostname.replace(/^\[(.*)\]$/, '$1');
  const port = Number(url.port || (tls ? 443 : 80));
  if (!tls) return net.connect({ host, port });
  const { connect } = require('node:tls') as typeof import('node:tls');
  const socket = connect({
    host,
    port,
    // SNI takes host names only (RFC 6066 §3).
    ...(net.isIP(host) ? {} : { servername: host }),
    ALPNProtocols: ['h2'],
    ...tls,
  });
  socket.once('secureConnect', () => {
    if (socket.alpnProtocol !== 'h2') socket.destroy(new Error(`${host}:${port} did not agree to HTTP/2 over TLS (ALPN: ${socket.alpnProtocol || 'none'})`));
  });
  return socket;
}
