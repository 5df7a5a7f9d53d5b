// Compiles the C++ addon (native/src) with node-gyp into native/build/Release/flannel_native.node.
// Node's headers come from the running node's own install prefix when they are there (Debian and
// NodeSource packages ship them in <prefix>/include/node), so the build never downloads anything.
// Usage: node native/build-addon.mjs            (incremental: configure once, then make)
//        node native/build-addon.mjs --rebuild  (clean configure + build)
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const here = dirname(fileURLToPath(import.meta.url));
const require = createRequire(import.meta.url);
const gyp = require.resolve('node-gyp/bin/node-gyp.js');
const prefix = dirname(dirname(process.execPath));
const args = [];
if (!process.env.npm_config_nodedir && existsSync(join(prefix, 'include', 'node', 'node.h'))) {
  args.push(`--nodedir=${prefix}`);
}
const configured = existsSync(join(here, 'build', 'Makefile'));
const steps = process.argv.includes('--rebuild') || !configured ? [['rebuild']] : [['build']];
for (const step of steps) {
  const r = spawnSync(process.execPath, [gyp, ...step, ...args, '--jobs=max'], { cwd: here, stdio: 'inherit' });
  if (r.status !== 0) process.exit(r.status ?? 1);
}
