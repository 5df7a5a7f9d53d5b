import { expect } from 'chai';
import { Writable } from 'node:stream';
import { parseArgs } from '../../flanneld/cli.js';
import { createLogger, flagsForLog } from '../../flanneld/log.js';
import type { LogOptions } from '../../flanneld/log.js';

/** A logger writing into an array of lines. */
function capture(opts: Partial<LogOptions> = {}) {
  const lines: string[] = [];
  let buf = '';
  const stream = new Writable({
    write(chunk: Buffer, _enc, cb) {
      buf += chunk.toString();
      const parts = buf.split('\n');
      buf = parts.pop() ?? '';
      lines.push(...parts);
      cb();
    },
  });
  const root = createLogger({ verbosity: 0, format: 'text', stream, pid: 4242, ...opts });
  return { root, lines, all: () => lines.join('\n') + buf };
}

// 2024-11-22 08:25:24.123456 local time, as microseconds since the epoch.
const T = new Date(2024, 10, 22, 8, 25, 24, 123).getTime() * 1000 + 456;

describe('flanneld logging', () => {
  it('writes klog-like text lines tagged with the component', () => {
    const { root, lines } = capture({ clock: () => T });
    root.child('subnet').info('lease acquired', { subnet: '10.244.1.0/24', ttl: 86400, note: 'two words' });
    root.child('vxlan').warn('peer gone');
    root.child('vxlan').error('boom');
    expect(lines).to.deep.equal([
      'I1122 08:25:24.123456    4242 subnet] lease acquired subnet=10.244.1.0/24 ttl=86400 note="two words"',
      'W1122 08:25:24.123456    4242 vxlan] peer gone',
      'E1122 08:25:24.123456    4242 vxlan] boom',
    ]);
  });

  it('hides debug lines at -v 0 and shows them by their verbosity', () => {
    const at = (verbosity: number) => {
      const { root, lines } = capture({ verbosity });
      const log = root.child('c');
      log.info('info');
      log.debug('v1');
      log.debug('v2', { v: 2 });
      log.debug('v5', { v: 5 });
      return lines.map((l) => l.split('] ')[1]);
    };
    expect(at(0)).to.deep.equal(['info']);
    expect(at(1)).to.deep.equal(['info', 'v1']);
    expect(at(2)).to.deep.equal(['info', 'v1', 'v2']);
    expect(at(10)).to.deep.equal(['info', 'v1', 'v2', 'v5']);
  });

  it('writes one parseable JSON object per line', () => {
    const { root, lines } = capture({ format: 'json', verbosity: 2, clock: () => T });
    root.child('etcd').info('connected', { endpoints: ['https://a:2379'], n: 1 });
    root.child('etcd').debug('detail', { v: 2, rev: 7 });
    root.info('starting');
    expect(lines).to.have.length(3);
    const [a, b, c] = lines.map((l) => JSON.parse(l) as Record<string, unknown>);
    expect(a).to.deep.equal({
      ts: new Date(Math.floor(T / 1000)).toISOString().replace('Z', '456Z'),
      level: 'info',
      component: 'etcd',
      msg: 'connected',
      meta: { endpoints: ['https://a:2379'], n: 1 },
    });
    expect(b).to.include({ level: 'debug', v: 2, msg: 'detail' });
    expect(b?.meta).to.deep.equal({ rev: 7 });
    expect(c).to.include({ component: 'flanneld', msg: 'starting' });
  });

  it('renders Errors in meta as their message', () => {
    const { root, lines } = capture();
    root.child('x').error('failed', { err: new Error('no route') });
    expect(lines[0]).to.match(/ x\] failed err="Error: no route"$/);
  });

  for (const format of ['text', 'json'] as const) {
    it(`never writes a password (${format})`, () => {
      const pw = 'hunter2"\\pw';
      const { root, all } = capture({ format, verbosity: 10 });
      root.registerSecret(pw);
      const log = root.child('etcd');
      log.info('connecting', { password: pw, etcdPassword: pw, 'etcd-password': pw, nested: { apiToken: pw }, user: 'bob' });
      log.error(`auth failed for bob:${pw}`, { err: new Error(`server said ${pw}`), detail: `x${pw}y` });
      log.debug('verbose', { v: 9, clientSecret: pw, list: [pw] });
      log.warn('quoted', { s: JSON.stringify({ pw }) });
      const out = all();
      expect(out).not.to.contain('hunter2');
      expect(out).to.contain('<redacted>');
      expect(out).to.contain('bob');
      expect(out.split('\n')).to.have.length(4);
    });
  }

  it('redacts secret-named meta keys even when no secret is registered', () => {
    const { root, all } = capture({ format: 'json' });
    root.child('k').info('m', { token: 'abc123', Secret: 'def456', etcdPassword: 'ghi789', key: '/coreos.com/network/config' });
    const out = all();
    expect(out).not.to.match(/abc123|def456|ghi789/);
    expect(out).to.contain('/coreos.com/network/config');
  });

  it('takes secrets at creation too', () => {
    const { root, all } = capture({ secrets: ['opensesame', ''] });
    root.child('a').info('the word is opensesame');
    expect(all()).to.contain('the word is <redacted>');
  });

  it('drops lines after close', async () => {
    const { root, lines } = capture();
    root.info('before');
    await root.close();
    root.info('after');
    await root.close();
    expect(lines.map((l) => l.split('] ')[1])).to.deep.equal(['before']);
  });
});

describe('flags for the start-up log line', () => {
  it('lists every flag with the password and URL passwords redacted', () => {
    const r = parseArgs(['--etcd-password=pa55', '--etcd-username=bob', '--etcd-endpoints=https://bob:pa55@e1:2379,https://e2:2379'], {});
    if (r.kind !== 'run') throw new Error('expected run');
    const meta = flagsForLog(r.flags);
    expect(meta['etcd-password']).to.equal('<redacted>');
    expect(meta['etcd-username']).to.equal('bob');
    expect(meta['etcd-endpoints']).to.deep.equal(['https://bob:<redacted>@e1:2379', 'https://e2:2379']);
    expect(meta['subnet-lease-renew-margin']).to.equal(60);
    expect(Object.keys(meta)).to.have.length(32);
    expect(JSON.stringify(meta)).not.to.contain('pa55');
  });

  it('shows an empty password as empty', () => {
    const r = parseArgs([], {});
    if (r.kind !== 'run') throw new Error('expected run');
    expect(flagsForLog(r.flags)['etcd-password']).to.equal('');
  });
  it('escapes control characters and invisible marks in text and JSON lines, so a lease cannot forge or hide a line', async () => {
    const evil = 'key\n0101 00:00:00.000000 1 forged] fake\u001b[31m\u0007\u007f\u0085\u2028\u202e';
    for (const format of ['text', 'json'] as const) {
      const { root, all } = capture({ format });
      root.child('accept').warn(`ignoring the lease ${evil}`, { key: evil });
      await root.close();
      const out = all().replace(/\n$/, '');
      expect(out.split('\n'), format).to.have.length(1);
      expect(out, format).to.not.match(/[\u0000-\u001f\u007f-\u009f\u2028\u202e]/);
      if (format === 'json') expect((JSON.parse(out) as { msg: string }).msg).to.equal(`ignoring the lease ${evil}`);
      else expect(out).to.include('key\\n0101').and.include('\\x1b[31m\\x07\\x7f\\x85\\u2028\\u202e');
    }
  });
});
