// subnet.env as the built plugin reads it on ADD: what reaches the delegate config, and the error
// JSON for a file that is missing, unreadable or incomplete.
import { expect } from 'chai';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { PluginSandbox } from '../helpers/cni-plugin.js';

describe('cni subnet.env loading, through the plugin', function () {
  this.timeout(20_000);
  let sb: PluginSandbox;
  beforeEach(() => {
    sb = PluginSandbox.create();
  });
  afterEach(() => sb.destroy());

  const path = (): string => join(sb.dir, 'subnet.env');

  /** The delegate config of an ADD with `text` as subnet.env. */
  function add(text: string): Record<string, unknown> {
    writeFileSync(path(), text);
    const r = sb.run();
    expect(r.status, r.stdout).to.equal(0);
    return sb.delegated();
  }

  /** The error JSON of an ADD with `text` as subnet.env. */
  function fails(text: string): Record<string, unknown> {
    writeFileSync(path(), text);
    const r = sb.run();
    expect(r.status, r.stdout).to.equal(1);
    return r.json();
  }

  it('reads what flanneld writes: the subnet masked to its network, MTU, ipMasq', () => {
    const d = add('FLANNEL_NETWORK=10.244.0.0/16\nFLANNEL_SUBNET=10.244.1.1/24\nFLANNEL_MTU=1450\nFLANNEL_IPMASQ=true\n');
    expect(d['ipam']).to.deep.include({ ranges: [[{ subnet: '10.244.1.0/24' }]], routes: [{ dst: '10.244.0.0/16' }] });
    expect(d).to.include({ mtu: 1450, ipMasq: false });
  });

  it('reads IPv6 keys and comma lists (deduplicated); ignores unknown keys', () => {
    const d = add(
      'FOO=bar\nFLANNEL_IPV6_NETWORK=2001:cafe:42::/56,2001:cafe:42::/56,fd00::/48\nFLANNEL_IPV6_SUBNET=2001:cafe:42:1::1/64\n' +
        'FLANNEL_MTU=1430\nFLANNEL_IPMASQ=false\n',
    );
    expect(d['ipam']).to.deep.include({ ranges: [[{ subnet: '2001:cafe:42:1::/64' }]], routes: [{ dst: '2001:cafe:42::/56' }, { dst: 'fd00::/48' }] });
    expect(d).to.include({ mtu: 1430, ipMasq: true });
  });

  it('reads the file as flanneld\'s parser does: export, quotes, comments, CRLF, spaces around "="', () => {
    const d = add('# written by hand\r\nexport FLANNEL_NETWORK = "10.1.0.0/16"\r\nFLANNEL_SUBNET: 10.1.2.1/24 # ours\nFLANNEL_MTU=01400\nFLANNEL_IPMASQ=\'true\'\nnot a line\n');
    expect(d['ipam']).to.deep.include({ ranges: [[{ subnet: '10.1.2.0/24' }]], routes: [{ dst: '10.1.0.0/16' }] });
    expect(d).to.include({ mtu: 1400, ipMasq: false });
  });

  it('FLANNEL_IPMASQ is true only when literally "true"', () => {
    const base = 'FLANNEL_NETWORK=10.1.0.0/16\nFLANNEL_SUBNET=10.1.2.1/24\nFLANNEL_MTU=1450\n';
    expect(add(`${base}FLANNEL_IPMASQ=TRUE\n`)['ipMasq']).to.equal(true);
    expect(add(`${base}FLANNEL_IPMASQ=1\n`)['ipMasq']).to.equal(true);
    expect(add(`${base}FLANNEL_IPMASQ=true\n`)['ipMasq']).to.equal(false);
  });

  it('a missing file is code 11 (try again later) and tells to check flanneld on this node', () => {
    const missing = join(sb.dir, 'nope', 'subnet.env');
    const r = sb.run({}, sb.netconf({ subnetFile: missing }));
    expect(r.status).to.equal(1);
    expect(r.json()).to.deep.include({
      code: 11,
      msg: `failed to load flannel 'subnet.env' file: ${missing} is missing. Check that flanneld is running on this node (the flannel pod log for this node).`,
      details: `open ${missing}: no such file or directory`,
    });
  });

  it('an unreadable path is code 5', () => {
    const r = sb.run({}, sb.netconf({ subnetFile: sb.dir })); // a directory: EISDIR
    expect(r.json()).to.deep.include({
      code: 5,
      msg: `failed to load flannel 'subnet.env' file: cannot read ${sb.dir}`,
      details: 'EISDIR: illegal operation on a directory, read',
    });
  });

  it('names every missing key, with the reference wording', () => {
    expect(fails('FLANNEL_MTU=1450\n')).to.include({
      code: 7,
      msg: `${path()} is missing FLANNEL_NETWORK, FLANNEL_IPV6_NETWORK, FLANNEL_SUBNET, FLANNEL_IPV6_SUBNET, FLANNEL_IPMASQ`,
    });
    expect(fails('FLANNEL_NETWORK=10.1.0.0/16\nFLANNEL_SUBNET=10.1.2.1/24\n')['msg']).to.equal(`${path()} is missing FLANNEL_MTU, FLANNEL_IPMASQ`);
  });

  it('names the key and value that cannot be parsed', () => {
    const ok = 'FLANNEL_NETWORK=10.1.0.0/16\nFLANNEL_SUBNET=10.1.2.1/24\nFLANNEL_IPMASQ=true\n';
    expect(fails(`${ok}FLANNEL_MTU=15x0\n`)).to.include({
      code: 7,
      msg: `failed to load flannel 'subnet.env' file: FLANNEL_MTU="15x0" in ${path()} is not an unsigned integer`,
    });
    expect(fails(`${ok}FLANNEL_MTU=-1\n`)['code']).to.equal(7);
    expect(fails(`${ok}FLANNEL_MTU=4294967296\n`)['code']).to.equal(7);
    expect(fails(ok.replace('10.1.2.1/24', '10.1.2.1') + 'FLANNEL_MTU=1\n')['msg']).to.contain(`FLANNEL_SUBNET="10.1.2.1" in ${path()} is not an IPv4 CIDR`);
    expect(fails(ok.replace('10.1.0.0/16', '10.1.0.0/16,x') + 'FLANNEL_MTU=1\n')['msg']).to.contain(
      `FLANNEL_NETWORK="10.1.0.0/16,x" in ${path()} is not a list of IPv4 CIDRs`,
    );
  });
});
