// The etcd client's module footprint: without TLS, a process that imports the registry and reads from a
// real etcd loads neither node:http2 nor node:tls (together ~3 MiB of an idle flanneld's RSS).
import { expect } from 'chai';
import { execFile } from 'node:child_process';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { useEtcd } from '../../helpers/etcd.js';

const dist = (rel: string): string => pathToFileURL(fileURLToPath(new URL(rel, import.meta.url))).href;

describe('etcd client module footprint @etcd', () => {
  const etcd = useEtcd();

  it('loads neither node:http2 nor node:tls when no TLS is configured, before and after a Range on a real etcd', async () => {
    const script = `
      const loaded = () => process.moduleLoadList.filter((m) => /http2|tls/.test(m));
      const { EtcdRegistry } = await import(${JSON.stringify(dist('../../../subnet-lease/etcd/registry.js'))});
      const { silentLogger } = await import(${JSON.stringify(dist('../../../common/log.js'))});
      const registry = new EtcdRegistry({ endpoints: [${JSON.stringify(etcd().endpoint)}], logger: silentLogger });
      const before = loaded();
      const leases = await registry.getSubnets(AbortSignal.timeout(10000));
      const after = loaded();
      await registry.close();
      console.log(JSON.stringify({ before, leases: leases.length, after }));`;
    const out = await new Promise<string>((resolve, reject) =>
      execFile(process.execPath, ['--input-type=module', '-e', script], { timeout: 20_000 }, (err, stdout, stderr) => (err ? reject(new Error(`${err.message}\n${stderr}`)) : resolve(stdout))),
    );
    expect(JSON.parse(out)).to.deep.equal({ before: [], leases: 0, after: [] });
  });
});
