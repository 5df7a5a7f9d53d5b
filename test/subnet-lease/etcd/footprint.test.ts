// The etcd client's module footprint: without TLS, a process that imports the registry and reads from a
// real etcd loads neither node:http2 nor node:tls (together ~3 MiB of an idle flanneld's RSS); with TLS
// it loads node:tls, still not node:http2.
import { expect } from 'chai';
import { execFile } from 'node:child_process';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { useEtcd, useTlsEtcd } from '../../helpers/etcd.js';

const dist = (rel: string): string => pathToFileURL(fileURLToPath(new URL(rel, import.meta.url))).href;

/** In a fresh node: the http2/tls modules loaded after importing the registry, and after a Range with `options`. */
async function modulesLoaded(options: Record<string, unknown>): Promise<{ before: string[]; leases: number; after: string[] }> {
  const script = `
    const loaded = () => process.moduleLoadList.filter((m) => /http2|tls/.test(m));
    const { EtcdRegistry } = await import(${JSON.stringify(dist('../../../subnet-lease/etcd/registry.js'))});
    const { silentLogger } = await import(${JSON.stringify(dist('../../../common/log.js'))});
    const before = loaded();
    const registry = new EtcdRegistry({ ...${JSON.stringify(options)}, logger: silentLogger });
    const leases = await registry.getSubnets(AbortSignal.timeout(10000));
    const after = loaded();
    await registry.close();
    console.log(JSON.stringify({ before, leases: leases.length, after }));`;
  const out = await new Promise<string>((resolve, reject) =>
    execFile(process.execPath, ['--input-type=module', '-e', script], { timeout: 20_000 }, (err, stdout, stderr) => (err ? reject(new Error(`${err.message}\n${stderr}`)) : resolve(stdout))),
  );
  return JSON.parse(out) as { before: string[]; leases: number; after: string[] };
}

describe('etcd client module footprint @etcd', () => {
  const etcd = useEtcd();

  it('loads neither node:http2 nor node:tls when no TLS is configured, before and after a Range on a real etcd', async () => {
    expect(await modulesLoaded({ endpoints: [etcd().endpoint] })).to.deep.equal({ before: [], leases: 0, after: [] });
  });
});

describe('etcd client module footprint over TLS @etcd', function () {
  this.timeout(30_000);
  const { etcd, certs } = useTlsEtcd();

  it('loads node:tls once TLS is configured, and still not node:http2', async () => {
    const { before, leases, after } = await modulesLoaded({
      endpoints: [etcd().endpoint], caFile: certs().caFile, keyFile: certs().clientKeyFile, certFile: certs().clientCertFile,
    });
    expect([before, leases]).to.deep.equal([[], 0]);
    expect(after).to.include('NativeModule tls');
    expect(after.filter((m) => m.includes('http2'))).to.deep.equal([]);
  });
});
