import { expect } from 'chai';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CniError } from '../../cni/errors.js';
import { loadSubnetEnv, parseSubnetEnv } from '../../cni/subnet-file.js';

function fails(fn: () => unknown): CniError {
  try {
    fn();
  } catch (e) {
    expect(e).to.be.instanceOf(CniError);
    return e as CniError;
  }
  throw new Error('did not fail');
}

describe('cni subnet.env loading', () => {
  let dir: string;
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'fl-cni-se-'));
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  it('reads what flanneld writes: the subnet masked to its network, MTU, ipMasq', () => {
    const path = join(dir, 'subnet.env');
    writeFileSync(path, 'FLANNEL_NETWORK=10.244.0.0/16\nFLANNEL_SUBNET=10.244.1.1/24\nFLANNEL_MTU=1450\nFLANNEL_IPMASQ=true\n');
    const se = loadSubnetEnv(path);
    expect(se.networks.map(String)).to.deep.equal(['10.244.0.0/16']);
    expect(String(se.subnet)).to.equal('10.244.1.0/24');
    expect(se.ipv6Subnet).to.equal(null);
    expect(se.ipv6Networks).to.deep.equal([]);
    expect(se).to.include({ mtu: 1450, ipMasq: true });
  });

  it('reads IPv6 keys and comma lists (deduplicated); ignores unknown keys', () => {
    const se = parseSubnetEnv(
      'FOO=bar\nFLANNEL_IPV6_NETWORK=2001:cafe:42::/56,2001:cafe:42::/56,fd00::/48\nFLANNEL_IPV6_SUBNET=2001:cafe:42:1::1/64\n' +
        'FLANNEL_MTU=1430\nFLANNEL_IPMASQ=false\n',
      'f',
    );
    expect(se.ipv6Networks.map(String)).to.deep.equal(['2001:cafe:42::/56', 'fd00::/48']);
    expect(String(se.ipv6Subnet)).to.equal('2001:cafe:42:1::/64');
    expect(se.subnet).to.equal(null);
    expect(se.ipMasq).to.equal(false);
  });

  it('FLANNEL_IPMASQ is true only when literally "true"', () => {
    const base = 'FLANNEL_NETWORK=10.1.0.0/16\nFLANNEL_SUBNET=10.1.2.1/24\nFLANNEL_MTU=1450\n';
    expect(parseSubnetEnv(`${base}FLANNEL_IPMASQ=TRUE\n`, 'f').ipMasq).to.equal(false);
    expect(parseSubnetEnv(`${base}FLANNEL_IPMASQ=1\n`, 'f').ipMasq).to.equal(false);
    expect(parseSubnetEnv(`${base}FLANNEL_IPMASQ=true\n`, 'f').ipMasq).to.equal(true);
  });

  it('a missing file is code 11 (try again later) and tells to check flanneld on this node', () => {
    const path = join(dir, 'nope', 'subnet.env');
    const e = fails(() => loadSubnetEnv(path));
    expect(e.code).to.equal(11);
    expect(e.msg).to.equal(
      `failed to load flannel 'subnet.env' file: ${path} is missing. Check that flanneld is running on this node (the flannel pod log for this node).`,
    );
  });

  it('an unreadable path is code 5', () => {
    expect(fails(() => loadSubnetEnv(dir)).code).to.equal(5); // a directory: EISDIR
  });

  it('names every missing key, with the reference wording', () => {
    expect(fails(() => parseSubnetEnv('FLANNEL_MTU=1450\n', '/run/flannel/subnet.env'))).to.include({
      code: 7,
      msg: '/run/flannel/subnet.env is missing FLANNEL_NETWORK, FLANNEL_IPV6_NETWORK, FLANNEL_SUBNET, FLANNEL_IPV6_SUBNET, FLANNEL_IPMASQ',
    });
    expect(fails(() => parseSubnetEnv('FLANNEL_NETWORK=10.1.0.0/16\nFLANNEL_SUBNET=10.1.2.1/24\n', 'f')).msg).to.equal(
      'f is missing FLANNEL_MTU, FLANNEL_IPMASQ',
    );
  });

  it('names the key and value that cannot be parsed', () => {
    const ok = 'FLANNEL_NETWORK=10.1.0.0/16\nFLANNEL_SUBNET=10.1.2.1/24\nFLANNEL_IPMASQ=true\n';
    expect(fails(() => parseSubnetEnv(`${ok}FLANNEL_MTU=15x0\n`, 'f'))).to.include({
      code: 7,
      msg: `failed to load flannel 'subnet.env' file: FLANNEL_MTU="15x0" in f is not an unsigned integer`,
    });
    expect(fails(() => parseSubnetEnv(`${ok}FLANNEL_MTU=-1\n`, 'f')).code).to.equal(7);
    expect(fails(() => parseSubnetEnv(`${ok}FLANNEL_MTU=4294967296\n`, 'f')).code).to.equal(7);
    expect(fails(() => parseSubnetEnv(ok.replace('10.1.2.1/24', '10.1.2.1') + 'FLANNEL_MTU=1\n', 'f')).msg).to.contain(
      'FLANNEL_SUBNET="10.1.2.1" in f is not an IPv4 CIDR',
    );
    expect(fails(() => parseSubnetEnv(ok.replace('10.1.0.0/16', '10.1.0.0/16,x') + 'FLANNEL_MTU=1\n', 'f')).msg).to.contain(
      'FLANNEL_NETWORK="10.1.0.0/16,x" in f is not a list of IPv4 CIDRs',
    );
  });
});
