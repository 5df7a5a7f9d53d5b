#!/usr/bin/env node
// `npm run binary`: release/flanneld, one self-contained executable (Node's single executable
// application). esbuild bundles the compiled daemon into one CommonJS script; it and the CNI plugin's
// bundle (dist/cni/flannel.cjs) are SEA assets, run by a small main script (SELECT) by the name the
// executable was started under. The native addon and package.json travel inside
// as assets too and are unpacked on first start into a cache folder named by their hash. Invoked as
// `flannel` (a symlink or copy under that name, e.g. /opt/cni/bin/flannel), it is the CNI plugin.
import { execFileSync } from 'node:child_process';
import { copyFileSync, chmodSync, mkdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import * as esbuild from 'esbuild';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const work = join(root, 'release', '.build');
const out = join(root, 'release', 'flanneld');
const FUSE = 'NODE_SEA_FUSE_fce680ab2cc467b6e072b8b5df1996b2';
const pkg = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8'));
const addon = join(root, 'native', 'build', 'Release', 'flannel_native.node');

// The launcher: picks the program by the name it was started under, unpacks the assets the daemon
// needs, and points the code that looks for files next to itself (import.meta.url) at that folder.
const ENTRY = `
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, renameSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { getAsset, isSea } from 'node:sea';

const ASSETS = ['package.json', 'flannel_native.node'];

function cacheBase() {
  if (process.env.FLANNELTS_CACHE_DIR) return process.env.FLANNELTS_CACHE_DIR;
  return process.getuid && process.getuid() === 0 ? '/var/cache/flannel-ts' : join(tmpdir(), 'flannel-ts-' + (process.getuid ? process.getuid() : 'u'));
}

/** Writes the assets once per content hash; a folder written completely is never written again. */
function unpack() {
  const blobs = ASSETS.map((k) => [k, Buffer.from(getAsset(k))]);
  const hash = createHash('sha256');
  for (const [k, b] of blobs) hash.update(k).update(b);
  const dir = join(cacheBase(), hash.digest('hex').slice(0, 16));
  if (!existsSync(join(dir, '.complete'))) {
    for (const [k, b] of blobs) {
      const file = join(dir, k);
      mkdirSync(join(file, '..'), { recursive: true, mode: 0o755 });
      const tmp = file + '.' + process.pid + '.tmp';
      writeFileSync(tmp, b, { mode: 0o644 });
      renameSync(tmp, file);
    }
    writeFileSync(join(dir, '.complete'), '');
  }
  return dir;
}

const dir = isSea() ? unpack() : process.env.FLANNELTS_ASSET_DIR;
globalThis.__flanneltsMetaUrl = pathToFileURL(join(dir, 'dist', 'flanneld.js')).href;
process.env.FLANNEL_NATIVE_ADDON ??= join(dir, 'flannel_native.node');
import('../../dist/flanneld/main.js');
`;

// The executable's main script: picks the program by the name it was started under and runs that
// program's bundle, kept as an asset, so the CNI plugin (dist/cni/flannel.cjs, 15 KB) never parses the
// daemon's 17 MB bundle: measured 256 ms per plugin call with one bundle for both, against ~40 ms.
const SELECT = `
const { getAsset } = require('node:sea');
const { basename } = require('node:path');
const { compileFunction } = require('node:vm');
const asPlugin = basename(process.argv0 || '') === 'flannel' || basename(process.execPath) === 'flannel';
const name = asPlugin ? 'flannel.cjs' : 'flanneld.cjs';
const program = compileFunction(getAsset(name, 'utf8'), ['require', 'module', 'exports'], { filename: name });
const mod = { exports: {} };
program(require, mod, mod.exports);
`;

function main() {
  rmSync(work, { recursive: true, force: true });
  mkdirSync(work, { recursive: true });
  statSync(join(root, 'dist', 'flanneld', 'main.js')); // built by `npm run build`
  statSync(addon);
  statSync(join(root, 'dist', 'cni', 'flannel.cjs')); // the plugin bundle, also built by `npm run build`
  writeFileSync(join(work, 'entry.mjs'), ENTRY);
  writeFileSync(join(work, 'select.cjs'), SELECT);
  writeFileSync(join(work, 'package.json'), JSON.stringify({ name: pkg.name, version: pkg.version }));
  return esbuild
    .build({
      entryPoints: [join(work, 'entry.mjs')],
      bundle: true,
      platform: 'node',
      target: 'node20',
      format: 'cjs',
      outfile: join(work, 'flanneld.cjs'),
      define: { 'import.meta.url': 'globalThis.__flanneltsMetaUrl' },
      logLevel: 'error',
      legalComments: 'none',
    })
    .then(() => {
      const seaConfig = {
        main: join(work, 'select.cjs'),
        output: join(work, 'sea-prep.blob'),
        disableExperimentalSEAWarning: true,
        useSnapshot: false,
        useCodeCache: false,
        assets: {
          'flanneld.cjs': join(work, 'flanneld.cjs'),
          'flannel.cjs': join(root, 'dist', 'cni', 'flannel.cjs'),
          'package.json': join(work, 'package.json'),
          'flannel_native.node': addon,
        },
      };
      writeFileSync(join(work, 'sea-config.json'), JSON.stringify(seaConfig, null, 2));
      execFileSync(process.execPath, ['--experimental-sea-config', join(work, 'sea-config.json')], { stdio: 'inherit' });
      rmSync(out, { force: true });
      copyFileSync(process.execPath, out);
      chmodSync(out, 0o755);
      const postject = join(root, 'node_modules', 'postject', 'dist', 'cli.js');
      execFileSync(process.execPath, [postject, out, 'NODE_SEA_BLOB', join(work, 'sea-prep.blob'), '--sentinel-fuse', FUSE], { stdio: ['ignore', 'ignore', 'inherit'] });
      const size = statSync(out).size;
      process.stdout.write(`wrote ${out} (${(size / 1048576).toFixed(1)} MiB); link or copy it as "flannel" for the CNI plugin\n`);
    });
}

main().catch((e) => {
  process.stderr.write(`binary: ${e instanceof Error ? e.message : String(e)}\n`);
  process.exit(1);
});
