// The traffic manager against the real iptables/ip6tables/nft, each command run inside a namespace of
// this test (through an injected runner), never in the root namespace. Expected texts are the
// reference's rules (fact sheet §7) as iptables-save and nft print them.
import { expect } from 'chai';
import { type CommandRunner, execRunner } from '../../flanneld/traffic/exec.js';
import { type ResyncResult, TrafficManager, type TrafficOptions } from '../../flanneld/traffic/manager.js';
import { silentLogger } from '../../common/log.js';
import { TestBed } from '../helpers/netns.js';
import { until } from '../helpers/flanneld.js';

function netnsRunner(ns: string): CommandRunner {
  return { run: (cmd, args, input) => execRunner.run('ip', ['netns', 'exec', ns, cmd, ...args], input) };
}

const MASQ = (pod: string, net = '10.244.0.0/16', rf = ' --random-fully') => [
  '-A POSTROUTING -m comment --comment "flanneld masq" -j FLANNEL-POSTRTG',
  '-A FLANNEL-POSTRTG -m mark --mark 0x4000/0x4000 -m comment --comment "flanneld masq" -j RETURN',
  `-A FLANNEL-POSTRTG -s ${pod} -d ${net} -m comment --comment "flanneld masq" -j RETURN`,
  `-A FLANNEL-POSTRTG -s ${net} -d ${pod} -m comment --comment "flanneld masq" -j RETURN`,
  `-A FLANNEL-POSTRTG ! -s ${net} -d ${pod} -m comment --comment "flanneld masq" -j RETURN`,
  `-A FLANNEL-POSTRTG -s ${net} ! -d 224.0.0.0/4 -m comment --comment "flanneld masq" -j MASQUERADE${rf}`,
  `-A FLANNEL-POSTRTG ! -s ${net} -d ${net} -m comment --comment "flanneld masq" -j MASQUERADE${rf}`,
];
const FWD = (net = '10.244.0.0/16') => [
  '-A FORWARD -m comment --comment "flanneld forward" -j FLANNEL-FWD',
  `-A FLANNEL-FWD -s ${net} -m comment --comment "flanneld forward" -j ACCEPT`,
  `-A FLANNEL-FWD -d ${net} -m comment --comment "flanneld forward" -j ACCEPT`,
];

describe('traffic rules in a namespace (iptables, ip6tables, nft) @netns', function () {
  this.timeout(60_000);
  let bed: TestBed;
  let ns: string;
  const managers: AbortController[] = [];
  let checks: ResyncResult[] = [];

  const sh = (script: string) => bed.sh(ns, script);
  const rules = async (cmd = 'iptables', table = 'nat') =>
    (await bed.exec(ns, [`${cmd}-save`, '-t', table])).split('\n').filter((l) => l.startsWith('-A'));

  function manager(o: Partial<TrafficOptions> = {}): TrafficManager {
    return new TrafficManager({
      mode: 'iptables', ipMasq: true, forwardRules: true, randomFullyDisable: false, resyncSeconds: 1,
      logger: silentLogger, runner: netnsRunner(ns), metrics: { ruleCheck: (_m, _f, r) => checks.push(r) }, ...o,
    });
  }
  function start(m: TrafficManager): void {
    const c = new AbortController();
    managers.push(c);
    void m.run(c.signal);
  }

  beforeEach(async () => {
    bed = await TestBed.single('traffic');
    ns = bed.prefix;
    checks = [];
  });
  afterEach(async () => {
    for (const c of managers.splice(0)) c.abort();
    await bed.destroy();
  });

  it('writes exactly the reference rules (nat and filter) with iptables-restore', async () => {
    await manager().setUp([{ family: 4, network: '10.244.0.0/16', podCidr: '10.244.1.0/24' }]);
    expect(await rules('iptables', 'nat')).to.deep.equal(MASQ('10.244.1.0/24'));
    expect(await rules('iptables', 'filter')).to.deep.equal(FWD());
  });

  it('leaves --random-fully out with ip-masq-fully-random-disable, and installs nothing with both features off', async () => {
    await manager({ randomFullyDisable: true, forwardRules: false }).setUp([{ family: 4, network: '10.244.0.0/16', podCidr: '10.244.1.0/24' }]);
    expect(await rules('iptables', 'nat')).to.deep.equal(MASQ('10.244.1.0/24', '10.244.0.0/16', ''));
    expect(await rules('iptables', 'filter')).to.deep.equal([]);
    const off = manager({ ipMasq: false, forwardRules: false });
    await off.setUp([{ family: 4, network: '10.244.0.0/16', podCidr: '10.244.1.0/24' }]);
    expect(off.rulesInPlace).to.equal(true);
    expect(await rules('iptables', 'nat'), 'ip-masq now off: our chain removed').to.deep.equal([]);
  });

  it('restores a flushed chain, a deleted jump and misordered or duplicated rules within the resync period', async () => {
    const m = manager();
    await m.setUp([{ family: 4, network: '10.244.0.0/16', podCidr: '10.244.1.0/24' }]);
    start(m);
    await sh('iptables -t nat -F FLANNEL-POSTRTG');
    await until('FLANNEL-POSTRTG restored', async () => (await rules()).length === 7, 5000);
    expect(await rules()).to.deep.equal(MASQ('10.244.1.0/24'));
    await sh('iptables -t filter -D FORWARD -m comment --comment "flanneld forward" -j FLANNEL-FWD');
    await until('FORWARD jump restored', async () => (await rules('iptables', 'filter')).length === 3, 5000);
    // misorder: move the mark rule to the end; duplicate the jump; add a foreign rule to our chain
    await sh('iptables -t nat -D FLANNEL-POSTRTG -m mark --mark 0x4000/0x4000 -m comment --comment "flanneld masq" -j RETURN');
    await sh('iptables -t nat -A FLANNEL-POSTRTG -m mark --mark 0x4000/0x4000 -m comment --comment "flanneld masq" -j RETURN');
    await sh('iptables -t nat -A POSTROUTING -m comment --comment "flanneld masq" -j FLANNEL-POSTRTG');
    await sh('iptables -t nat -A FLANNEL-POSTRTG -s 192.0.2.0/24 -j RETURN');
    await until('order repaired', async () => JSON.stringify(await rules()) === JSON.stringify(MASQ('10.244.1.0/24')), 5000);
    expect(await rules('iptables', 'filter')).to.deep.equal(FWD());
    expect(checks).to.include('repaired');
    // steady state: the check finds nothing to do (the rendering matches iptables-save exactly)
    checks = [];
    await until('two quiet checks', () => checks.length >= 2, 5000);
    expect(checks.every((c) => c === 'ok'), checks.join(',')).to.equal(true);
  });

  it('keeps rules of others in POSTROUTING and removes the rules of the previous subnet', async () => {
    await sh('iptables -t nat -A POSTROUTING -s 172.17.0.0/16 -j MASQUERADE');
    await manager().setUp([{ family: 4, network: '10.244.0.0/16', podCidr: '10.244.1.0/24' }]);
    const prev = new Map([[4 as const, { network: '10.244.0.0/16', subnet: '10.244.1.0/24' }]]);
    await manager().setUp([{ family: 4, network: '10.244.0.0/16', podCidr: '10.244.9.0/24' }], prev);
    const nat = await rules();
    expect(nat).to.deep.equal(['-A POSTROUTING -s 172.17.0.0/16 -j MASQUERADE', ...MASQ('10.244.9.0/24')]);
    expect(nat.join('\n')).not.to.include('10.244.1.0/24');
  });

  it('writes the IPv6 rules with ip6tables (ff00::/8 as the multicast range)', async () => {
    await manager().setUp([
      { family: 4, network: '10.244.0.0/16', podCidr: '10.244.1.0/24' },
      { family: 6, network: 'fd00:10:244::/56', podCidr: 'fd00:10:244:1::/64' },
    ]);
    const v6 = MASQ('fd00:10:244:1::/64', 'fd00:10:244::/56').map((l) => l.replace('224.0.0.0/4', 'ff00::/8'));
    expect(await rules('ip6tables', 'nat')).to.deep.equal(v6);
    expect(await rules('ip6tables', 'filter')).to.deep.equal(FWD('fd00:10:244::/56'));
    expect(await rules('iptables', 'nat')).to.deep.equal(MASQ('10.244.1.0/24'));
  });

  it('nftables mode: the reference tables, clean-up of iptables-mode leftovers, and a resync that repairs', async () => {
    await manager().setUp([{ family: 4, network: '10.244.0.0/16', podCidr: '10.244.1.0/24' }]);
    const m = manager({ mode: 'nftables' });
    await m.cleanUpOtherMode();
    expect(await rules('iptables', 'nat')).to.deep.equal([]);
    expect(await rules('iptables', 'filter')).to.deep.equal([]);
    expect(await bed.exec(ns, ['iptables-save'])).not.to.include('FLANNEL');
    await m.setUp([{ family: 4, network: '10.244.0.0/16', podCidr: '10.244.1.0/24' }]);
    const table = await bed.exec(ns, ['nft', 'list', 'table', 'ip', 'flannel-ipv4']);
    expect(table.split('\n').map((l) => l.trim()).filter((l) => l !== '')).to.deep.equal([
      'table ip flannel-ipv4 {',
      'comment "rules for flannel-ipv4"',
      'chain postrtg {',
      'comment "chain to manage traffic masquerading by flannel"',
      'type nat hook postrouting priority srcnat; policy accept;',
      'meta mark 0x00004000 return',
      'ip saddr 10.244.1.0/24 ip daddr 10.244.0.0/16 return',
      'ip saddr 10.244.0.0/16 ip daddr 10.244.1.0/24 return',
      'ip saddr != 10.244.1.0/24 ip daddr 10.244.0.0/16 return',
      'ip saddr 10.244.0.0/16 ip daddr != 224.0.0.0/4 masquerade fully-random',
      'ip saddr != 10.244.0.0/16 ip daddr 10.244.0.0/16 masquerade fully-random',
      '}',
      'chain forward {',
      'comment "chain to accept flannel traffic"',
      'type filter hook forward priority filter; policy accept;',
      'ip saddr 10.244.0.0/16 accept',
      'ip daddr 10.244.0.0/16 accept',
      '}',
      '}',
    ]);
    expect(await bed.exec(ns, ['nft', 'list', 'tables'])).to.include('table ip6 flannel-ipv6');
    start(m);
    await sh('nft flush chain ip flannel-ipv4 postrtg');
    await until('postrtg refilled', async () => (await bed.exec(ns, ['nft', 'list', 'table', 'ip', 'flannel-ipv4'])) === table, 5000);
    await sh('nft delete table ip flannel-ipv4');
    await until('table recreated', async () => (await bed.exec(ns, ['nft', 'list', 'tables'])).includes('flannel-ipv4'), 5000);
    await until('table complete', async () => (await bed.exec(ns, ['nft', 'list', 'table', 'ip', 'flannel-ipv4'])) === table, 5000);
    expect(checks.filter((c) => c === 'repaired').length).to.be.at.least(2);
    // iptables mode removes the nft tables again
    await manager().cleanUpOtherMode();
    expect(await bed.exec(ns, ['nft', 'list', 'tables'])).not.to.include('flannel');
  });

  it('reports an error (not ready) when the command is missing, without throwing', async () => {
    const m = manager({ runner: { run: (cmd, args, input) => execRunner.run(`${cmd}-missing`, args, input) } });
    await m.setUp([{ family: 4, network: '10.244.0.0/16', podCidr: '10.244.1.0/24' }]);
    expect(m.rulesInPlace).to.equal(false);
  });
});
