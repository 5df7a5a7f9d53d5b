// The built flannel CNI plugin (dist/cni/flannel) run as a runtime runs it, env + stdin, in a temp
// folder, delegating to fake plugins that record what they were given. No root needed.
//
// API
//   PLUGIN                          the executable's path
//   const sb = PluginSandbox.create()   <tmp>/bin/bridge (the fake), <tmp>/subnet.env (SUBNET_ENV),
//                                       the CNI environment of an ADD of container c0ffee
//   sb.netconf({ ...extra })        the plugin's config (cniVersion 1.0.0, name cbr0, subnetFile and
//                                   dataDir in <tmp>); a key set to undefined is left out
//   sb.run(overrides, stdin?)       runs the plugin; an override of undefined unsets the variable
//   sb.fake('ADD.stdin')            what the fake delegate recorded ('<COMMAND>.stdin' / '.env')
//   sb.delegated()                  the delegate config of the last ADD, parsed
//   sb.addFake('ipvlan')            one more fake delegate under that name
//   sb.destroy()
//   The fake's FAKE_MODE: fail (error JSON, exit 1), garbage (not JSON, exit 2), silent (exit 3).
import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

// This file runs as dist/test/helpers/cni-plugin.js; the plugin is dist/cni/flannel.
export const PLUGIN = fileURLToPath(new URL('../../cni/flannel', import.meta.url));
export const SUBNET_ENV = 'FLANNEL_NETWORK=10.1.0.0/16\nFLANNEL_SUBNET=10.1.17.1/24\nFLANNEL_MTU=1472\nFLANNEL_IPMASQ=true\n';
export const RESULT = '{"cniVersion":"1.0.0","interfaces":[{"name":"cni0"}],"ips":[{"address":"10.1.17.2/24","gateway":"10.1.17.1"}]}';

// Records stdin and the CNI_* environment per command; FAKE_MODE picks a failure.
const FAKE = `#!/bin/sh
cat > "$FAKE_DIR/$CNI_COMMAND.stdin"
env | grep '^CNI_' | sort > "$FAKE_DIR/$CNI_COMMAND.env"
echo "fake bridge says hello" >&2
case "$FAKE_MODE" in
  fail) echo '{"cniVersion":"1.0.0","code":11,"msg":"bridge busy","details":"try later"}'; exit 1;;
  garbage) echo 'not json'; exit 2;;
  silent) exit 3;;
esac
if [ "$CNI_COMMAND" = ADD ]; then echo '${RESULT}'; fi
exit 0
`;

export interface Run {
  status: number | null;
  stdout: string;
  stderr: string;
  json: () => Record<string, unknown>;
}

export class PluginSandbox {
  readonly fakeDir: string;
  readonly env: Record<string, string>;

  private constructor(readonly dir: string) {
    this.fakeDir = join(dir, 'fake');
    mkdirSync(join(dir, 'bin'));
    mkdirSync(this.fakeDir);
    this.addFake('bridge');
    writeFileSync(join(dir, 'subnet.env'), SUBNET_ENV);
    this.env = {
      PATH: process.env['PATH'] ?? '/usr/bin:/bin',
      FAKE_DIR: this.fakeDir,
      CNI_COMMAND: 'ADD',
      CNI_CONTAINERID: 'c0ffee',
      CNI_NETNS: '/run/netns/nowhere',
      CNI_IFNAME: 'eth0',
      CNI_ARGS: 'K8S_POD_NAME=p',
      CNI_PATH: `${join(dir, 'empty')}::${join(dir, 'bin')}`,
    };
  }

  static create(): PluginSandbox {
    return new PluginSandbox(mkdtempSync(join(tmpdir(), 'fl-cni-plugin-')));
  }

  addFake(name: string): void {
    writeFileSync(join(this.dir, 'bin', name), FAKE, { mode: 0o755 });
  }

  netconf(extra: Record<string, unknown> = {}): string {
    const base = { cniVersion: '1.0.0', name: 'cbr0', type: 'flannel', subnetFile: join(this.dir, 'subnet.env'), dataDir: join(this.dir, 'data') };
    return JSON.stringify({ ...base, ...extra });
  }

  /** Runs the plugin, or `argv` followed by the plugin (a wrapper such as privateMounts). */
  run(overrides: Record<string, string | undefined> = {}, stdin = this.netconf(), argv: string[] = []): Run {
    const e: Record<string, string> = { ...this.env };
    for (const [k, v] of Object.entries(overrides)) if (v === undefined) delete e[k];
    else e[k] = v;
    const cmd = [...argv, PLUGIN];
    const r = spawnSync(cmd[0]!, cmd.slice(1), { env: e, input: stdin, encoding: 'utf8' });
    // EPIPE: the plugin refused its environment and exited before reading stdin, as it may.
    if (r.error && (r.error as NodeJS.ErrnoException).code !== 'EPIPE') throw r.error;
    return { status: r.status, stdout: r.stdout, stderr: r.stderr, json: () => JSON.parse(r.stdout) as Record<string, unknown> };
  }

  fake(file: string): string {
    return readFileSync(join(this.fakeDir, file), 'utf8');
  }

  /** The config the last ADD handed the delegate. */
  delegated(): Record<string, unknown> {
    return JSON.parse(this.fake('ADD.stdin')) as Record<string, unknown>;
  }

  destroy(): void {
    rmSync(this.dir, { recursive: true, force: true });
  }
}
