// The extension backend on the in-memory store, with real shell commands writing to a file: the config,
// the start-up commands and their variables, BackendData from PreStartupCommand, add/remove commands
// per remote lease with their variables and stdin, and a failing command logged and retried.
import { expect } from 'chai';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createExtensionBackend, ExtensionCommandError, type ExtensionNetwork } from '../../../backends/extension/backend.js';
import { ExtensionConfigError, parseExtensionConfig } from '../../../backends/extension/config.js';
import { runCommand } from '../../../backends/extension/command.js';
import { parseIP4 } from '../../../common/ip.js';
import { MemoryLeaseStore, vxlanNetworkConfig } from '../../helpers/memory-store.js';
import { RecordingLogger } from '../../helpers/recording-logger.js';
import { until } from '../vxlan/harness.js';

describe('extension backend (in-memory store, real shell commands)', () => {
  let dir: string;
  beforeEach(async () => (dir = await mkdtemp(join(tmpdir(), 'fl-ext-'))));
  afterEach(async () => rm(dir, { recursive: true, force: true }));
  const out = (): Promise<string> => readFile(join(dir, 'out'), 'utf8').catch(() => '');

  it('reads the four command keys case-insensitively and refuses a non-string naming the field', () => {
    expect(parseExtensionConfig({ Type: 'extension', subnetaddcommand: 'a', SubnetRemoveCommand: 'r' })).to.deep.equal({ preStartup: '', postStartup: '', subnetAdd: 'a', subnetRemove: 'r' });
    expect(() => parseExtensionConfig({ PreStartupCommand: 7 })).to.throw(ExtensionConfigError, 'extension backend: PreStartupCommand must be a string (a shell command), got 7');
  });

  it('runs a command through sh with its variables and stdin, output trimmed, and kills one that hangs', async () => {
    const r = await runCommand('read x; echo "$SUBNET $x"; echo err >&2', { SUBNET: '10.5.2.0/24' }, 'hello');
    expect(r).to.deep.include({ code: 0, output: '10.5.2.0/24 hello\nerr', timedOut: false });
    expect((await runCommand('exit 3', {}, '')).code).to.equal(3);
    const hung = await runCommand('sleep 5', {}, '', 100);
    expect(hung.timedOut).to.equal(true);
  });

  async function start(backend: Record<string, unknown>, opts = {}) {
    const config = { ...vxlanNetworkConfig({ Type: 'extension', ...backend }), backendType: 'extension' };
    const store = new MemoryLeaseStore(config);
    const log = new RecordingLogger();
    const ip = parseIP4('198.18.0.1');
    const be = createExtensionBackend({ store, logger: log, extIface: { name: 'eth0', index: 2, mtu: 1500, ifaceAddr: ip, ifaceV6Addr: null, extAddr: parseIP4('203.0.113.1'), extV6Addr: null } }, { retryMs: 20, ...opts });
    const ac = new AbortController();
    const network = (await be.registerNetwork(config, ac.signal)) as ExtensionNetwork;
    const running = network.run(ac.signal);
    return { store, log, network, stop: async () => (ac.abort(), await running) };
  }

  it('takes BackendData from PreStartupCommand, leases with the interface address, and runs PostStartupCommand with its variables', async () => {
    const h = await start({
      PreStartupCommand: 'echo 0a:00:00:00:00:01',
      PostStartupCommand: `echo "$NETWORK $SUBNET $IPV6SUBNET $PUBLIC_IP $PUBLIC_IPV6" > ${dir}/out`,
    });
    expect(h.network.lease.attrs).to.deep.include({ publicIP: parseIP4('198.18.0.1'), backendType: 'extension', backendData: '0a:00:00:00:00:01' });
    expect(JSON.parse(h.store.values.get(h.network.lease.subnet.toString())!)).to.deep.include({ PublicIP: '198.18.0.1', BackendType: 'extension', BackendData: '0a:00:00:00:00:01' });
    expect((await out()).trim()).to.equal(`10.244.0.0/16 ${h.network.lease.subnet} ::/0 198.18.0.1 <nil>`);
    expect(h.network.mtu).to.equal(1500);
    await h.stop();
  });

  it('stops start-up naming the key when a start-up command fails', async () => {
    const err = await start({ PreStartupCommand: 'echo nope; exit 4' }).then(() => null, (e: Error) => e);
    expect(err).to.be.instanceOf(ExtensionCommandError);
    expect(err!.message).to.equal('extension backend: PreStartupCommand failed (exit code 4: nope): echo nope; exit 4');
  });

  it('runs SubnetAddCommand and SubnetRemoveCommand per remote lease with SUBNET, PUBLIC_IP and its BackendData on stdin', async () => {
    const h = await start({
      SubnetAddCommand: `read data; echo "add $SUBNET $PUBLIC_IP $data" >> ${dir}/out`,
      SubnetRemoveCommand: `read data; echo "del $SUBNET $PUBLIC_IP $data" >> ${dir}/out`,
    });
    h.store.putJSON('10.244.7.0/24', '{"PublicIP":"198.18.0.7","BackendType":"extension","BackendData":"peer-7"}');
    await until(async () => (await out()).includes('add'), 'the add command');
    h.store.remove('10.244.7.0/24');
    await until(async () => (await out()).includes('del'), 'the remove command');
    expect((await out()).trim().split('\n')).to.deep.equal(['add 10.244.7.0/24 198.18.0.7 peer-7', 'del 10.244.7.0/24 198.18.0.7 peer-7']);
    await h.stop();
  });

  it('logs a failing SubnetAddCommand with its exit code and output, and retries it until it works', async () => {
    // Fails twice (no marker file yet, then one), works the third time.
    const h = await start({ SubnetAddCommand: `if [ -f ${dir}/2 ]; then echo ok > ${dir}/out; elif [ -f ${dir}/1 ]; then touch ${dir}/2; echo second >&2; exit 2; else touch ${dir}/1; echo first >&2; exit 1; fi` });
    h.store.putJSON('10.244.8.0/24', '{"PublicIP":"198.18.0.8","BackendType":"extension"}');
    await until(async () => (await out()).includes('ok'), 'the third attempt', 5000);
    const errors = h.log.messages('error');
    expect(errors[0]).to.match(/^extension: SubnetAddCommand for 10\.244\.8\.0\/24 failed \(exit code 1: first\); retrying in 20 ms$/);
    expect(errors[1]).to.match(/^extension: SubnetAddCommand for 10\.244\.8\.0\/24 failed \(exit code 2: second\); retrying in 40 ms$/);
    expect(errors).to.have.length(2);
    expect(h.network.added.has('10.244.8.0/24')).to.equal(true);
    await h.stop();
  });
});
