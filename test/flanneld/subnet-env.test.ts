import { expect } from 'chai';
import { mkdtemp, readFile, rm, stat, writeFile, readdir } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseEnvFile, readPreviousSubnets, renderSubnetEnv, writeSubnetEnv } from '../../flanneld/subnet-env.js';
import { IP4Net, IP6Net } from '../../common/ip.js';

describe('subnet.env', () => {
  let dir: string;
  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), 'fl-subnetenv-'));
  });
  afterEach(() => rm(dir, { recursive: true, force: true }));

  const v4 = { network: IP4Net.parse('10.244.0.0/16'), subnet: IP4Net.parse('10.244.1.0/24'), ipv6Network: null, ipv6Subnet: null, mtu: 1450, ipMasq: true };

  it('renders exactly the reference lines in order', () => {
    expect(renderSubnetEnv(v4)).to.equal('FLANNEL_NETWORK=10.244.0.0/16\nFLANNEL_SUBNET=10.244.1.1/24\nFLANNEL_MTU=1450\nFLANNEL_IPMASQ=true\n');
    const dual = { ...v4, ipMasq: false, ipv6Network: IP6Net.parse('2001:cafe:42::/56'), ipv6Subnet: IP6Net.parse('2001:cafe:42:1::/64') };
    expect(renderSubnetEnv(dual)).to.equal(
      'FLANNEL_NETWORK=10.244.0.0/16\nFLANNEL_SUBNET=10.244.1.1/24\nFLANNEL_IPV6_NETWORK=2001:cafe:42::/56\n' +
        'FLANNEL_IPV6_SUBNET=2001:cafe:42:1::1/64\nFLANNEL_MTU=1450\nFLANNEL_IPMASQ=false\n',
    );
  });

  it('writes atomically with mode 0644 whatever the umask, creating the directory', async () => {
    const path = join(dir, 'run', 'flannel', 'subnet.env');
    const old = process.umask(0o077);
    try {
      await writeSubnetEnv(path, v4);
      await writeSubnetEnv(path, { ...v4, mtu: 1400 });
    } finally {
      process.umask(old);
    }
    expect((await stat(path)).mode & 0o777).to.equal(0o644);
    expect(await readFile(path, 'utf8')).to.contain('FLANNEL_MTU=1400\n');
    expect(await readdir(join(dir, 'run', 'flannel'))).to.deep.equal(['subnet.env']); // no temp file left
  });

  it('reads back the previous subnets (network address from x.y.z.1/len)', async () => {
    const path = join(dir, 'subnet.env');
    await writeSubnetEnv(path, { ...v4, ipv6Network: IP6Net.parse('fc00::/48'), ipv6Subnet: IP6Net.parse('fc00:0:0:5::/64') });
    const prev = await readPreviousSubnets(path);
    expect(prev.subnet!.toString()).to.equal('10.244.1.0/24');
    expect(prev.ipv6Subnet!.toString()).to.equal('fc00:0:0:5::/64');
    expect(prev.network!.toString()).to.equal('10.244.0.0/16');
    expect(prev.warnings).to.deep.equal([]);
  });

  it('warns about a line that is not KEY=VALUE, naming the line, and still reads the rest', async () => {
    const path = join(dir, 'subnet.env');
    await writeFile(path, 'FLANNEL_NETWORK=10.244.0.0/16\n<<<<<<< HEAD\nFLANNEL_SUBNET=10.244.1.1/24\n');
    const prev = await readPreviousSubnets(path);
    expect(prev.subnet!.toString()).to.equal('10.244.1.0/24');
    expect(prev.warnings).to.have.length(1);
    expect(prev.warnings[0]).to.match(/line 2 is not KEY=VALUE \("<<<<<<< HEAD"\)/);
  });

  it('skips invalid or multi-valued entries with a warning, and a missing file is no error', async () => {
    const path = join(dir, 'subnet.env');
    await writeFile(path, '# old\nFLANNEL_SUBNET=10.244.1.1/24,10.244.2.1/24\nFLANNEL_NETWORK=banana\nexport FLANNEL_MTU="1450"\n');
    const prev = await readPreviousSubnets(path);
    expect(prev.subnet).to.equal(null);
    expect(prev.network).to.equal(null);
    expect(prev.warnings).to.have.length(2);
    expect(prev.warnings[0]).to.match(/FLANNEL_SUBNET=.*several values/);
    expect(parseEnvFile('export FLANNEL_MTU="1450"\n').get('FLANNEL_MTU')).to.equal('1450');
    const none = await readPreviousSubnets(join(dir, 'nope.env'));
    expect(none.subnet).to.equal(null);
  });
});
