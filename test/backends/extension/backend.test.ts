// The extension backend on the in-memory store, with real shell commands writing to a file: the start-up
// commands and their variables, BackendData from PreStartupCommand, add/remove commands per remote lease
// with their variables and stdin, and failing commands logged and retried, never fatal.
import { expect } from 'chai';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createExtensionBackend, type ExtensionNetwork, type ExtensionOptions } from '../../../backends/extension/backend.js';
import { parseIP4 } from '../../../common/ip.js';
import { MemoryLeaseStore, vxlanNetworkConfig } from '../../helpers/memory-store.js';
import { RecordingLogger } from '../../helpers/recording-logger.js';
import { until } from '../vxlan/harness.js';

describe('extension backend (in-memory store, real shell commands)', () => {
  let dir: string;
  beforeEach(async () => (dir = await mkdtemp(join(tmpdir(), 'fl-ext-'))));
  afterEach(async () => rm(dir, { recursive: true, force: true }));
  const out = (): Promise<string> => readFile(join(dir, 'out'), 'utf8').catch(() => '');
  const lines = async (): Promise<string[]> => (await out()).trim().split('\n').filter(Boolean);

  function setUp(backend: Record<string, unknown>, opts: ExtensionOptions = {}) {
    const config = { ...vxlanNetworkConfig({ Type: 'extension', ...backend }), backendType: 'extension' };
    const store = new MemoryLeaseStore(config);
    const log = new RecordingLogger();
    const ip = parseIP4('198.18.0.1');
    const be = createExtensionBackend({ store, logger: log, extIface: { name: 'eth0', index: 2, mtu: 1500, ifaceAddr: ip, ifaceV6Addr: null, extAddr: parseIP4('203.0.113.1'), extV6Addr: null } }, { retryMs: 20, ...opts });
    const ac = new AbortController();
    return { config, store, log, be, ac };
  }

  async function start(backend: Record<string, unknown>, opts: ExtensionOptions = {}) {
    const s = setUp(backend, opts);
    const network = (await s.be.registerNetwork(s.config, s.ac.signal)) as ExtensionNetwork;
    const running = network.run(s.ac.signal);
    return { ...s, network, stop: async () => (s.ac.abort(), await running) };
  }

  it('takes BackendData from PreStartupCommand, leases with the interface address, and runs PostStartupCommand with its variables', async () => {
    const h = await start({
      PreStartupCommand: 'echo 0a:00:00:00:00:01',
      PostStartupCommand: `echo "$NETWORK $SUBNET $IPV6SUBNET $PUBLIC_IP $PUBLIC_IPV6" > ${dir}/out`,
    });
    expect(h.network.lease.attrs).to.deep.include({ publicIP: parseIP4('198.18.0.1'), backendType: 'extension', backendData: '0a:00:00:00:00:01' });
    expect(h.store.values.get(h.network.lease.subnet.toString())).to.equal('{"PublicIP":"198.18.0.1","PublicIPv6":null,"BackendType":"extension","BackendData":"0a:00:00:00:00:01"}');
    expect((await out()).trim()).to.equal(`10.244.0.0/16 ${h.network.lease.subnet} ::/0 198.18.0.1 <nil>`);
    expect(h.network.mtu).to.equal(1500);
    await h.stop();
  });

  it('encodes PreStartupCommand output as Go does, writes an empty BackendData string when it printed nothing and none without one, as the reference', async () => {
    const a = await start({ PreStartupCommand: 'true' });
    expect(a.store.values.get(a.network.lease.subnet.toString())).to.equal('{"PublicIP":"198.18.0.1","PublicIPv6":null,"BackendType":"extension","BackendData":""}');
    await a.stop();
    const c = await start({ PreStartupCommand: `echo '<a&b> "q"'` });
    expect(c.store.values.get(c.network.lease.subnet.toString())).to.equal('{"PublicIP":"198.18.0.1","PublicIPv6":null,"BackendType":"extension","BackendData":"\\u003ca\\u0026b\\u003e \\"q\\""}');
    await c.stop();
    const b = await start({});
    expect(b.store.values.get(b.network.lease.subnet.toString())).to.equal('{"PublicIP":"198.18.0.1","PublicIPv6":null,"BackendType":"extension"}');
    await b.stop();
  });

  it('retries a failing start-up command, logging exit code and stderr, instead of stopping', async () => {
    const h = await start({ PreStartupCommand: `if [ -f ${dir}/1 ]; then echo mac; else touch ${dir}/1; echo 'not yet' >&2; exit 4; fi` });
    expect(h.log.messages('error')).to.deep.equal(['extension: PreStartupCommand failed (exit code 4, stderr "not yet"); retrying in 20 ms']);
    expect(h.log.has('info', /^extension: PreStartupCommand succeeded after 1 failed attempt\(s\)$/)).to.equal(true);
    expect(h.network.lease.attrs.backendData).to.equal('mac');
    await h.stop();
  });

  it('stops retrying a start-up command when the signal aborts, rejecting with the abort', async () => {
    const s = setUp({ PostStartupCommand: 'echo broken >&2; exit 1' });
    const p = s.be.registerNetwork(s.config, s.ac.signal);
    await until(() => s.log.messages('error').length >= 2, 'two failures');
    s.ac.abort();
    const err = await p.then(() => null, (e: Error) => e);
    expect(err?.name).to.equal('AbortError');
  });

  it('runs SubnetAddCommand and SubnetRemoveCommand per remote lease with its variables and its BackendData on stdin', async () => {
    const h = await start({
      SubnetAddCommand: `read data; echo "add $SUBNET $PUBLIC_IP $IPV6SUBNET $PUBLIC_IPV6 $data" >> ${dir}/out`,
      SubnetRemoveCommand: `read data; echo "del $SUBNET $PUBLIC_IP $data" >> ${dir}/out`,
    });
    h.store.putJSON('10.244.7.0/24', '{"PublicIP":"198.18.0.7","BackendType":"extension","BackendData":"peer-7 \\u003cx\\u003e"}');
    await until(async () => (await out()).includes('add'), 'the add command');
    h.store.remove('10.244.7.0/24');
    await until(async () => (await out()).includes('del'), 'the remove command');
    expect(await lines()).to.deep.equal(['add 10.244.7.0/24 198.18.0.7 ::/0 <nil> peer-7 <x>', 'del 10.244.7.0/24 198.18.0.7 peer-7 <x>']);
    expect(h.log.messages('info')).to.include.members(['peer added: 10.244.7.0/24 at 198.18.0.7', 'peer removed: 10.244.7.0/24']);
    await h.stop();
  });

  it('ignores leases of another backend type, their removal too', async () => {
    const h = await start({ SubnetAddCommand: `echo "add $SUBNET" >> ${dir}/out`, SubnetRemoveCommand: `echo "del $SUBNET" >> ${dir}/out` });
    h.store.putJSON('10.244.9.0/24', '{"PublicIP":"198.18.0.9","BackendType":"host-gw"}');
    h.store.remove('10.244.9.0/24');
    h.store.putJSON('10.244.10.0/24', '{"PublicIP":"198.18.0.10","BackendType":"extension"}');
    await until(async () => (await out()).includes('add'), 'the add command');
    expect(await lines()).to.deep.equal(['add 10.244.10.0/24']);
    expect(h.log.messages('warn')).to.deep.equal(['ignoring non-extension subnet 10.244.9.0/24: backend type host-gw', 'ignoring non-extension subnet 10.244.9.0/24: backend type host-gw']);
    await h.stop();
  });

  it('logs a failing SubnetAddCommand with its exit code and stderr, and retries it until it works', async () => {
    // Fails twice (no marker file yet, then one), works the third time.
    const h = await start({ SubnetAddCommand: `if [ -f ${dir}/2 ]; then echo ok > ${dir}/out; elif [ -f ${dir}/1 ]; then touch ${dir}/2; echo second >&2; exit 2; else touch ${dir}/1; echo 'first\tline' >&2; exit 1; fi` });
    h.store.putJSON('10.244.8.0/24', '{"PublicIP":"198.18.0.8","BackendType":"extension"}');
    await until(async () => (await out()).includes('ok'), 'the third attempt', 5000);
    expect(h.log.messages('error')).to.deep.equal([
      'extension: SubnetAddCommand for 10.244.8.0/24 failed (exit code 1, stderr "first\\tline"); retrying in 20 ms',
      'extension: SubnetAddCommand for 10.244.8.0/24 failed (exit code 2, stderr "second"); retrying in 40 ms',
    ]);
    expect(h.log.has('info', /^extension: SubnetAddCommand for 10\.244\.8\.0\/24 succeeded after 2 failed attempt\(s\)$/)).to.equal(true);
    expect(h.network.added.has('10.244.8.0/24')).to.equal(true);
    await h.stop();
  });

  it('drops the retries of an add once the lease is removed, and runs the remove command instead', async () => {
    const h = await start({ SubnetAddCommand: `echo "add" >> ${dir}/out; exit 1`, SubnetRemoveCommand: `echo "del" >> ${dir}/out` }, { retryMs: 50 });
    h.store.putJSON('10.244.11.0/24', '{"PublicIP":"198.18.0.11","BackendType":"extension"}');
    await until(async () => (await lines()).length >= 2, 'a retry');
    h.store.remove('10.244.11.0/24');
    await until(async () => (await out()).includes('del'), 'the remove command');
    await new Promise((r) => setTimeout(r, 300));
    const seen = await lines();
    expect(seen.at(-1)).to.equal('del');
    expect(seen.filter((l) => l === 'del')).to.have.length(1);
    await h.stop();
  });

  it('kills a running command and resolves promptly when stopped', async () => {
    const h = await start({ SubnetAddCommand: `echo started >> ${dir}/out; sleep 30` });
    h.store.putJSON('10.244.12.0/24', '{"PublicIP":"198.18.0.12","BackendType":"extension"}');
    await until(async () => (await out()).includes('started'), 'the command to start');
    const t = Date.now();
    await h.stop();
    expect(Date.now() - t).to.be.below(5000);
    expect(h.log.messages('error')).to.deep.equal([]);
  });
});
