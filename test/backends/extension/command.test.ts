// The extension command runner with real /bin/sh: variables, stdin, output as the reference captures it,
// exit codes, stderr kept apart for the log line (escaped), the timeout and an abort killing what the
// shell started too.
import { expect } from 'chai';
import { readFileSync } from 'node:fs';
import { describeFailure, escapeOutput, runCommand } from '../../../backends/extension/command.js';

/** Whether process `pid` still runs (a zombie left to a PID 1 that does not reap counts as gone). */
const alive = (pid: number): boolean => {
  try {
    return !/^\d+ \(.*\) Z/.test(readFileSync(`/proc/${pid}/stat`, 'utf8'));
  } catch {
    return false;
  }
};

describe('extension backend: the command runner (real /bin/sh)', () => {
  it('runs through sh with flanneld’s environment plus the variables, stdin followed by a newline, output trimmed', async () => {
    process.env.FL_EXT_TEST_OUTER = 'outer';
    try {
      const r = await runCommand('read x; echo "$SUBNET $x $FL_EXT_TEST_OUTER" | tr a-z A-Z; echo err >&2', { SUBNET: '10.5.2.0/24' }, 'hello');
      expect(r).to.deep.include({ code: 0, output: '10.5.2.0/24 HELLO OUTER\nerr', stdout: '10.5.2.0/24 HELLO OUTER', stderr: 'err', timedOut: false, aborted: false });
    } finally {
      delete process.env.FL_EXT_TEST_OUTER;
    }
    // stdin is the data and one newline, nothing more (the reference writes data + "\n").
    expect((await runCommand('od -An -c', {}, 'ab')).output.replace(/\s+/g, ' ')).to.equal('a b \\n');
  });

  it('passes stdin larger than a pipe buffer without blocking', async () => {
    const big = 'x'.repeat(200_000);
    expect((await runCommand('wc -c', {}, big)).output).to.equal('200001');
  });

  it('reports the exit code, and stderr and stdout escaped, for the log line', async () => {
    const r = await runCommand('echo "out put"; printf \'first\\nsecond "q"\\n\' >&2; exit 3', {}, '');
    expect(r.code).to.equal(3);
    expect(describeFailure(r)).to.equal('exit code 3, stderr "first\\nsecond \\"q\\"", stdout "out put"');
    expect(describeFailure(await runCommand('exit 1', {}, ''))).to.equal('exit code 1, stderr ""');
    expect(escapeOutput('y'.repeat(600))).to.equal(JSON.stringify(`${'y'.repeat(500)}…`));
  });

  it('kills a command that hangs after the timeout, with what the shell started', async () => {
    const started = Date.now();
    const r = await runCommand('sleep 30 & echo $!; wait', {}, '', { timeoutMs: 300 });
    expect(Date.now() - started, 'the result comes back without waiting for the sleep').to.be.below(5000);
    expect(r).to.deep.include({ timedOut: true, code: null, signal: 'SIGKILL' });
    expect(describeFailure(r, 300)).to.equal('killed after 0.3 s, stderr "", stdout "' + r.stdout + '"');
    const sleeper = Number(r.stdout);
    await new Promise((res) => setTimeout(res, 100));
    expect(alive(sleeper), 'the background sleep').to.equal(false);
  });

  it('kills a running command when the signal aborts, and starts none on an aborted signal', async () => {
    const ac = new AbortController();
    const started = Date.now();
    const p = runCommand('sleep 30', {}, '', { signal: ac.signal });
    setTimeout(() => ac.abort(), 100);
    const r = await p;
    expect(r.aborted).to.equal(true);
    expect(Date.now() - started).to.be.below(5000);
    expect((await runCommand('echo never', {}, '', { signal: ac.signal })).output).to.equal('');
  });
});
