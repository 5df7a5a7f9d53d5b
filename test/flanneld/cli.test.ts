import { expect } from 'chai';
import { parseArgs } from '../../flanneld/cli.js';
import type { ParseResult } from '../../flanneld/cli.js';
import { FlagError } from '../../flanneld/flags.js';
import type { Flags } from '../../flanneld/flags.js';
import { NOT_YET_SUPPORTED, SUPPORTED_FLAGS, unsupportedFlags } from '../../flanneld/unsupported.js';

type Run = Extract<ParseResult, { kind: 'run' }>;

function run(argv: string[], env: NodeJS.ProcessEnv = {}): Run {
  const r = parseArgs(argv, env);
  if (r.kind !== 'run') throw new Error(`expected a run result, got ${r.kind}`);
  return r;
}

function flags(argv: string[], env: NodeJS.ProcessEnv = {}): Flags {
  return run(argv, env).flags;
}

function flagError(argv: string[], env: NodeJS.ProcessEnv = {}): FlagError {
  try {
    parseArgs(argv, env);
  } catch (e) {
    if (e instanceof FlagError) return e;
    throw e;
  }
  throw new Error(`expected a FlagError for ${argv.join(' ')}`);
}

describe('flanneld flags', () => {
  it('has the reference defaults for every flag', () => {
    const r = run([]);
    expect(r.flags).to.deep.equal({
      etcdEndpoints: ['http://127.0.0.1:4001', 'http://127.0.0.1:2379'],
      etcdPrefix: '/coreos.com/network',
      etcdKeyfile: '', etcdCertfile: '', etcdCafile: '', etcdUsername: '', etcdPassword: '',
      iface: [], ifaceRegex: [], ifaceCanReach: '',
      subnetFile: '/run/flannel/subnet.env',
      publicIP: '', publicIPv6: '',
      subnetLeaseRenewMargin: 60,
      ipMasq: false, ipMasqFullyRandomDisable: false,
      kubeSubnetMgr: false, kubeApiUrl: '', kubeAnnotationPrefix: 'flannel.alpha.coreos.com', kubeconfigFile: '',
      healthzIP: '0.0.0.0', healthzPort: 0,
      iptablesResync: 5, iptablesForwardRules: true, ipBlackholeRoute: false,
      netConfigPath: '/etc/kube-flannel/net-conf.json', setNodeNetworkUnavailable: true,
      peerProbeInterval: 5,
      v: 0, vmodule: '', logBacktraceAt: '', logFormat: 'text',
    });
    expect(r.setBy).to.deep.equal({});
    expect(r.warnings).to.deep.equal([]);
    expect(Object.isFrozen(r.flags)).to.equal(true);
    expect(Object.isFrozen(r.flags.iface)).to.equal(true);
  });

  it('accepts -flag and --flag, =value and a separate value', () => {
    for (const argv of [['-etcd-prefix=/a'], ['--etcd-prefix=/a'], ['-etcd-prefix', '/a'], ['--etcd-prefix', '/a']]) {
      expect(flags(argv).etcdPrefix, argv.join(' ')).to.equal('/a');
    }
    expect(flags(['-v', '2']).v).to.equal(2);
    expect(flags(['-v=3']).v).to.equal(3);
    expect(flags(['--subnet-lease-renew-margin', '30']).subnetLeaseRenewMargin).to.equal(30);
  });

  it('gives a non-bool flag the next argument even when it starts with "-"', () => {
    expect(flags(['--etcd-password', '-secret-']).etcdPassword).to.equal('-secret-');
    expect(flags(['--etcd-prefix=']).etcdPrefix).to.equal('');
  });

  it('splits etcd-endpoints on commas only', () => {
    expect(flags(['--etcd-endpoints=https://a:2379,https://b:2379']).etcdEndpoints).to.deep.equal(['https://a:2379', 'https://b:2379']);
  });

  it('reads every Go bool spelling', () => {
    for (const t of ['1', 't', 'T', 'TRUE', 'true', 'True']) expect(flags([`--ip-masq=${t}`]).ipMasq, t).to.equal(true);
    for (const f of ['0', 'f', 'F', 'FALSE', 'false', 'False']) {
      expect(flags([`--iptables-forward-rules=${f}`]).iptablesForwardRules, f).to.equal(false);
    }
    expect(flags(['--ip-masq']).ipMasq).to.equal(true);
    expect(flags(['-kube-subnet-mgr']).kubeSubnetMgr).to.equal(true);
    expect(flags(['--ip-masq=true', '--ip-masq=false']).ipMasq).to.equal(false);
  });

  it('never lets a bool flag take the next argument', () => {
    expect(flags(['--ip-masq', '--etcd-prefix=/x'])).to.include({ ipMasq: true, etcdPrefix: '/x' });
    const e = flagError(['--iptables-forward-rules', 'false']);
    expect(e.message).to.contain('no positional arguments').and.contain('"false"');
  });

  it('rejects a bad bool value with Go\'s message', () => {
    const e = flagError(['--ip-masq=yes']);
    expect(e.message).to.equal('invalid boolean value "yes" for -ip-masq: parse error');
    expect(e.flag).to.equal('ip-masq');
    expect(e.value).to.equal('yes');
  });

  it('does not expand camel case, dot paths, --no-x or short groups', () => {
    expect(() => parseArgs(['--etcdPrefix=/x'], {})).to.throw(FlagError, 'flag provided but not defined: -etcdPrefix');
    expect(() => parseArgs(['--no-ip-masq'], {})).to.throw(FlagError, 'flag provided but not defined: -no-ip-masq');
    expect(() => parseArgs(['-vv'], {})).to.throw(FlagError, 'flag provided but not defined: -vv');
    expect(flags(['--etcd-prefix=a.b']).etcdPrefix).to.equal('a.b');
    expect(flags(['--subnet-file=123']).subnetFile).to.equal('123');
  });

  it('keeps repeated --iface and --iface-regex in order; the last value wins otherwise', () => {
    const f = flags(['--iface=eth1', '-iface', '10.0.0.1', '--iface-regex=^en', '--iface=eth0', '--iface-regex', 'wl.*']);
    expect(f.iface).to.deep.equal(['eth1', '10.0.0.1', 'eth0']);
    expect(f.ifaceRegex).to.deep.equal(['^en', 'wl.*']);
    expect(flags(['--public-ip=1.1.1.1', '--public-ip=2.2.2.2']).publicIP).to.equal('2.2.2.2');
  });

  it('validates integers, naming the flag and the value', () => {
    for (const bad of ['abc', '1.5', '', '12x']) {
      const e = flagError([`--healthz-port=${bad}`]);
      expect(e.message).to.equal(`invalid value ${JSON.stringify(bad)} for flag -healthz-port: parse error`);
      expect(e.flag).to.equal('healthz-port');
      expect(e.value).to.equal(bad);
    }
    expect(flags(['--healthz-port=0x1F']).healthzPort).to.equal(31);
    expect(flags(['--iptables-resync=1_000']).iptablesResync).to.equal(1000);
    expect(flagError(['--healthz-port=99999999999999999999']).message).to.contain('value out of range');
    expect(flagError(['-v=0x2']).message).to.equal('invalid value "0x2" for flag -v: parse error');
  });

  it('accepts renew margins 1..1439 only', () => {
    expect(flags(['--subnet-lease-renew-margin=1']).subnetLeaseRenewMargin).to.equal(1);
    expect(flags(['--subnet-lease-renew-margin=1439']).subnetLeaseRenewMargin).to.equal(1439);
    for (const bad of ['0', '1440', '-5']) {
      const e = flagError([`--subnet-lease-renew-margin=${bad}`]);
      expect(e.message).to.contain('out of acceptable range').and.contain('1..1439');
      expect(e.flag).to.equal('subnet-lease-renew-margin');
    }
    expect(flagError([], { FLANNELD_SUBNET_LEASE_RENEW_MARGIN: '1440' }).message).to.contain('FLANNELD_SUBNET_LEASE_RENEW_MARGIN');
  });

  it('takes --peer-probe-interval in seconds (0: off), also as FLANNELD_PEER_PROBE_INTERVAL, and refuses a negative one', () => {
    expect(flags(['--peer-probe-interval=0']).peerProbeInterval).to.equal(0);
    expect(flags(['--peer-probe-interval', '30']).peerProbeInterval).to.equal(30);
    expect(flags([], { FLANNELD_PEER_PROBE_INTERVAL: '2' }).peerProbeInterval).to.equal(2);
    const e = flagError(['--peer-probe-interval=-1']);
    expect(e.message).to.equal('invalid peer-probe-interval -1: a number of seconds, or 0 to turn the peer probes off');
    expect(e.flag).to.equal('peer-probe-interval');
    expect(flagError([], { FLANNELD_PEER_PROBE_INTERVAL: '-3' }).message).to.contain('(from FLANNELD_PEER_PROBE_INTERVAL)');
    expect(flagError(['--peer-probe-interval=1.5']).message).to.contain('-peer-probe-interval');
  });

  it('rejects an unknown flag with Go\'s text', () => {
    const e = flagError(['--ip-masq', '--foo=1']);
    expect(e.message).to.equal('flag provided but not defined: -foo');
    expect(e.flag).to.equal('foo');
    expect(flagError(['---x']).message).to.equal('bad flag syntax: ---x');
    expect(flagError(['--etcd-prefix']).message).to.equal('flag needs an argument: -etcd-prefix');
  });

  it('rejects removed flags saying what replaced them', () => {
    const e = flagError(['--listen=:8888']);
    expect(e.message).to.match(/^flag --listen was removed from Flannel: client\/server mode/);
    expect(e.message).to.contain('--etcd-endpoints');
    expect(flagError(['-auto-detect-ipv6']).message).to.contain('was removed from Flannel').and.contain('EnableIPv6');
    expect(flagError(['--networks', 'a,b']).message).to.contain('was removed from Flannel');
    expect(flagError(['--use-multi-cluster-cidr']).message).to.contain('was removed from Flannel');
  });

  it('rejects positional arguments, naming them; "--" ends the flags', () => {
    expect(flagError(['--ip-masq', 'extra', '--v=2']).message).to.contain('"extra" "--v=2"');
    expect(flagError(['--', '--v=2']).message).to.contain('"--v=2"');
    expect(flags(['--v=2', '--']).v).to.equal(2);
  });

  it('answers --version before the environment and ignores FLANNELD_VERSION', () => {
    const r = parseArgs(['--version'], { FLANNELD_SUBNET_LEASE_RENEW_MARGIN: '0' });
    expect(r.kind).to.equal('version');
    if (r.kind === 'version') expect(r.version).to.match(/^\d+\.\d+\.\d+/);
    expect(parseArgs(['-version=false'], {}).kind).to.equal('run');
    expect(parseArgs([], { FLANNELD_VERSION: 'true' }).kind).to.equal('run');
  });

  it('answers -h / --help with every flag and its default', () => {
    const r = parseArgs(['-h'], {});
    expect(r.kind).to.equal('help');
    expect(parseArgs(['--help'], {}).kind).to.equal('help');
    if (r.kind !== 'help') return;
    expect(r.text).to.contain('--subnet-lease-renew-margin').and.contain('[default: 60]');
    expect(r.text).to.contain('/run/flannel/subnet.env').and.contain('FLANNELD_');
    expect(r.text).to.contain('--log_backtrace_at').and.contain('--log-format');
  });
});

describe('flanneld flags from the environment', () => {
  it('reads FLANNELD_<NAME> for flags not on the command line', () => {
    const r = run(['--etcd-prefix=/cli'], {
      FLANNELD_ETCD_PREFIX: '/env',
      FLANNELD_ETCD_ENDPOINTS: 'http://e:2379',
      FLANNELD_IP_MASQ: 'true',
      FLANNELD_V: '4',
      FLANNELD_LOG_BACKTRACE_AT: 'x.go:1',
    });
    expect(r.flags).to.include({ etcdPrefix: '/cli', ipMasq: true, v: 4, logBacktraceAt: 'x.go:1' });
    expect(r.flags.etcdEndpoints).to.deep.equal(['http://e:2379']);
    expect(r.setBy).to.deep.equal({ 'etcd-prefix': 'command-line', 'etcd-endpoints': 'env', 'ip-masq': 'env', v: 'env', log_backtrace_at: 'env' });
  });

  it('lets the command line win even when it gives the default', () => {
    expect(flags(['--iptables-forward-rules=true'], { FLANNELD_IPTABLES_FORWARD_RULES: 'false' }).iptablesForwardRules).to.equal(true);
    expect(flags(['--iface=eth0'], { FLANNELD_IFACE: 'eth9' }).iface).to.deep.equal(['eth0']);
  });

  it('ignores empty values', () => {
    const r = run([], { FLANNELD_ETCD_PREFIX: '', FLANNELD_SUBNET_LEASE_RENEW_MARGIN: '' });
    expect(r.flags.etcdPrefix).to.equal('/coreos.com/network');
    expect(r.flags.subnetLeaseRenewMargin).to.equal(60);
    expect(r.setBy).to.deep.equal({});
  });

  it('gives FLANNELD_IFACE one value, not split on commas', () => {
    expect(flags([], { FLANNELD_IFACE: 'eth0,eth1' }).iface).to.deep.equal(['eth0,eth1']);
  });

  it('reports a bad value as a warning and ignores it', () => {
    const r = run([], { FLANNELD_HEALTHZ_PORT: 'eighty', FLANNELD_IP_MASQ: 'yes', FLANNELD_ETCD_PREFIX: '/ok' });
    expect(r.flags).to.include({ healthzPort: 0, ipMasq: false, etcdPrefix: '/ok' });
    expect(r.warnings).to.deep.equal([
      'invalid value "yes" for FLANNELD_IP_MASQ: parse error; ignored',
      'invalid value "eighty" for FLANNELD_HEALTHZ_PORT: parse error; ignored',
    ]);
    expect(r.setBy).to.deep.equal({ 'etcd-prefix': 'env' });
  });

  it('rejects a bad --log-format but only warns about a bad FLANNELD_LOG_FORMAT', () => {
    expect(flagError(['--log-format=xml']).message).to.equal('invalid value "xml" for flag -log-format: must be text or json');
    expect(flags(['--log-format=json']).logFormat).to.equal('json');
    const r = run([], { FLANNELD_LOG_FORMAT: 'xml' });
    expect(r.flags.logFormat).to.equal('text');
    expect(r.warnings).to.have.length(1);
  });
});

describe('not yet supported flags', () => {
  it('lists only flags set to a non-default value', () => {
    expect(unsupportedFlags(flags([]), SUPPORTED_FLAGS)).to.deep.equal([]);
    // Defaults given explicitly are harmless.
    expect(unsupportedFlags(flags(['--iptables-forward-rules=true', '--healthz-port=0', '--ip-masq=false']), SUPPORTED_FLAGS)).to.deep.equal([]);
  });

  it('names the flag and the work it waits for', () => {
    const f = flags(['--ip-masq', '--iptables-forward-rules=false', '--ip-blackhole-route', '--vmodule=foo=2', '--iface=eth0'], { FLANNELD_HEALTHZ_PORT: '8080' });
    const msgs = unsupportedFlags(f, SUPPORTED_FLAGS);
    expect(msgs).to.include('--vmodule is not supported by flannel-ts yet (per-file verbosity is klog-specific; use -v); remove it or leave it at its default');
    // traffic rules, the health server, interface selection and the blackhole route exist now
    expect(msgs.filter((m) => /^--(ip-masq|iptables-forward-rules|healthz-port|iface|ip-blackhole-route) /.test(m))).to.deep.equal([]);
    expect(msgs).to.have.length(1);
  });

  it('stays quiet for a feature once it is in the supported set', () => {
    const f = flags(['--vmodule=foo=2']);
    expect(unsupportedFlags(f, new Set([...SUPPORTED_FLAGS, 'vmodule']))).to.deep.equal([]);
    expect(NOT_YET_SUPPORTED).to.include('vmodule');
    expect(SUPPORTED_FLAGS.has('vmodule')).to.equal(false);
    expect(NOT_YET_SUPPORTED).to.not.include('ip-blackhole-route');
    expect(SUPPORTED_FLAGS.has('ip-blackhole-route')).to.equal(true);
    expect(SUPPORTED_FLAGS.has('etcd-endpoints')).to.equal(true);
    expect(unsupportedFlags(flags(['--etcd-prefix=/x']), new Set())).to.deep.equal([
      '--etcd-prefix is not supported by flannel-ts yet (not implemented); remove it or leave it at its default',
    ]);
  });
});
