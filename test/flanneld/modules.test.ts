// What an etcd-mode flanneld loads of Node's own modules: a node agent's idle memory is mostly the Node
// runtime, and node:http2, node:tls, node:http and node:crypto each bring megabytes (README,
// "Performance"). A daemon with the health port on, serving /healthz and /metrics, holding a peer's
// lease, then stopped with SIGTERM, must not have loaded any of them.
import { expect } from 'chai';
import { readFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { until, useFlanneldCluster } from '../helpers/flanneld.js';

const PORT = 18472;

describe('built-in modules an etcd-mode flanneld loads @netns @etcd', function () {
  this.timeout(90_000);
  const cluster = useFlanneldCluster({ tag: 'mods', hosts: 2, config: '{"Network":"10.244.0.0/16","Backend":{"Type":"vxlan"}}' });

  it('serves the health port and follows a peer without node:http, node:http2, node:tls or node:crypto', async () => {
    const list = join(cluster.tmp, 'modules.txt');
    const d = cluster.start(1, [`--healthz-port=${PORT}`, '--healthz-ip=127.0.0.1'], {
      NODE_OPTIONS: `--import=${resolve('dist/test/helpers/module-list.js')}`,
      FLANNELTS_TEST_MODULE_LIST: list,
    });
    await d.waitForSubnetEnv();
    await cluster.start(2).waitForSubnetEnv();
    const get = (path: string): Promise<string> =>
      cluster.bed.exec(cluster.bed.host(1), ['curl', '-sf', `http://127.0.0.1:${PORT}${path}`]);
    await until('the peer in /metrics', async () => /^flannel_leases_known 1$/m.test(await get('/metrics').catch(() => '')));
    expect(await get('/healthz')).to.equal('flanneld is running');
    expect(await d.stop()).to.equal(0);
    const loaded = (await readFile(list, 'utf8')).split('\n');
    // The list is real: the modules flanneld does use are in it.
    expect(loaded).to.include.members(['net', 'child_process', 'fs']);
    expect(loaded.filter((m) => /^(http|http2|https|tls|crypto|_http_\w+|_tls_\w+)$/.test(m))).to.deep.equal([]);
  });
});
