// A throw-away CA with an etcd server certificate valid for the test bed's switch address
// (198.18.0.254) and a client certificate, made with openssl for the TLS service tests.
import { execFileSync } from 'node:child_process';
import path from 'node:path';

export interface HostCerts {
  caFile: string;
  serverCertFile: string;
  serverKeyFile: string;
  clientCertFile: string;
  clientKeyFile: string;
}

function openssl(dir: string, args: string[]): void {
  execFileSync('openssl', args, { cwd: dir, stdio: ['ignore', 'ignore', 'pipe'] });
}

const KEY = ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes'];

function leaf(dir: string, name: string, extra: string[]): void {
  openssl(dir, ['req', ...KEY, '-keyout', `${name}.key`, '-out', `${name}.csr`, '-subj', `/CN=${name}`, ...extra]);
  openssl(dir, ['x509', '-req', '-in', `${name}.csr`, '-CA', 'ca.crt', '-CAkey', 'ca.key', '-CAcreateserial', '-out', `${name}.crt`, '-days', '2', '-copy_extensions', 'copy']);
}

/** Writes the files into `dir` (which must exist). */
export function makeHostCerts(dir: string, serverIP = '198.18.0.254'): HostCerts {
  openssl(dir, ['req', '-x509', ...KEY, '-keyout', 'ca.key', '-out', 'ca.crt', '-days', '2', '-subj', '/CN=flannel-ts test CA']);
  leaf(dir, 'server', ['-addext', `subjectAltName=IP:${serverIP},IP:127.0.0.1`, '-addext', 'extendedKeyUsage=serverAuth,clientAuth']);
  leaf(dir, 'client', ['-addext', 'extendedKeyUsage=clientAuth']);
  const f = (n: string): string => path.join(dir, n);
  return { caFile: f('ca.crt'), serverCertFile: f('server.crt'), serverKeyFile: f('server.key'), clientCertFile: f('client.crt'), clientKeyFile: f('client.key') };
}
