// A throw-away CA, server and client certificates made with openssl, for TLS tests against etcd.
import { execFileSync } from 'node:child_process';
import path from 'node:path';

export interface TestCerts {
  caFile: string;
  serverCertFile: string;
  serverKeyFile: string;
  clientCertFile: string;
  clientKeyFile: string;
  /** Signed by a different CA: etcd with --client-cert-auth must reject it. */
  strangerCertFile: string;
  strangerKeyFile: string;
}

function openssl(dir: string, args: string[]): void {
  execFileSync('openssl', args, { cwd: dir, stdio: ['ignore', 'ignore', 'pipe'] });
}

const KEY = ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes'];

function makeCA(dir: string, name: string): void {
  openssl(dir, ['req', '-x509', ...KEY, '-keyout', `${name}.key`, '-out', `${name}.crt`, '-days', '2', '-subj', `/CN=${name}`]);
}

function makeLeaf(dir: string, ca: string, name: string, extra: string[]): void {
  openssl(dir, ['req', ...KEY, '-keyout', `${name}.key`, '-out', `${name}.csr`, '-subj', `/CN=${name}`, ...extra]);
  openssl(dir, [
    'x509', '-req', '-in', `${name}.csr`, '-CA', `${ca}.crt`, '-CAkey', `${ca}.key`, '-CAcreateserial',
    '-out', `${name}.crt`, '-days', '2', '-copy_extensions', 'copy',
  ]);
}

/** Writes everything into `dir` (which must exist). The server certificate is valid for 127.0.0.1. */
export function makeTestCerts(dir: string): TestCerts {
  makeCA(dir, 'ca');
  makeCA(dir, 'other-ca');
  makeLeaf(dir, 'ca', 'server', ['-addext', 'subjectAltName=IP:127.0.0.1,DNS:localhost', '-addext', 'extendedKeyUsage=serverAuth,clientAuth']);
  makeLeaf(dir, 'ca', 'client', ['-addext', 'extendedKeyUsage=clientAuth']);
  makeLeaf(dir, 'other-ca', 'stranger', ['-addext', 'extendedKeyUsage=clientAuth']);
  const f = (n: string): string => path.join(dir, n);
  return {
    caFile: f('ca.crt'),
    serverCertFile: f('server.crt'),
    serverKeyFile: f('server.key'),
    clientCertFile: f('client.crt'),
    clientKeyFile: f('client.key'),
    strangerCertFile: f('stranger.crt'),
    strangerKeyFile: f('stranger.key'),
  };
}
