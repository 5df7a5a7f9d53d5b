#!/usr/bin/env node
// `npm run binary`: release/flanneld, one self-contained executable (Node's single executable
// application). esbuild bundles the compiled daemon into one CommonJS script, kept as a SEA asset and
// run by a small main script (selectScript). The native addon and package.json travel
// inside as assets too and are unpacked on first start into a cache folder named by their hash.
// Invoked as `flannel` (a symlink or copy under that name, e.g. /opt/cni/bin/flannel), it is the CNI
// plugin: the native one (dist/cni/flannel) is an asset too, written once to the cache folder and
// run with this process's stdin, stdout, stderr and environment, its exit code passed on.
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
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
const plugin = join(root, 'dist', 'cni', 'flannel');

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

// The executable's main script: picks the program by the name it was started under. As `flannel` it
// runs the native CNI plugin (a Node start-up is the cost of every call; the plugin itself takes ~1 ms),
// never the daemon's 17 MB bundle. PLUGIN_HASH names the plugin's cache folder, so a new build never
// runs an old plugin and a written one is never written again.
const selectScript = (pluginHash) => `
const { getAsset } = require('node:sea');
const { basename, join } = require('node:path');
const asPlugin = basename(process.argv0 || '') === 'flannel' || basename(process.execPath) === 'flannel';
if (asPlugin) runPlugin();
else {
  const { compileFunction } = require('node:vm');
  const program = compileFunction(getAsset('flanneld.cjs', 'utf8'), ['require', 'module', 'exports'], { filename: 'flanneld.cjs' });
  const mod = { exports: {} };
  program(require, mod, mod.exports);
}

function cacheBase() {
  if (process.env.FLANNELTS_CACHE_DIR) return process.env.FLANNELTS_CACHE_DIR;
  const { tmpdir } = require('node:os');
  return process.getuid && process.getuid() === 0 ? '/var/cache/flannel-ts' : join(tmpdir(), 'flannel-ts-' + (process.getuid ? process.getuid() : 'u'));
}

function runPlugin() {
  const fs = require('node:fs');
  const file = join(cacheBase(), 'cni-${pluginHash}', 'flannel');
  try {
    if (!fs.existsSync(file)) {
      fs.mkdirSync(join(file, '..'), { recursive: true, mode: 0o755 });
      const tmp = file + '.' + process.pid + '.tmp';
      fs.writeFileSync(tmp, Buffer.from(getAsset('flannel')), { mode: 0o755 });
      fs.renameSync(tmp, file);
    }
    const r = require('node:child_process').spawnSync(file, process.argv.slice(2), { stdio: 'inherit' });
    if (r.error) throw r.error;
    process.exitCode = r.status ?? 1;
  } catch (e) {
    const error = { cniVersion: '1.1.0', code: 999, msg: 'cannot run the native flannel plugin ' + file, details: String(e && e.message) };
    process.stdout.write(JSON.stringify(error) + '\\n');
    process.exitCode = 1;
  }
}
`;

function main() {
  rmSync(work, { recursive: true, force: true });
  mkdirSync(work, { recursive: true });
  statSync(join(root, 'dist', 'flanneld', 'main.js')); // built by `npm run build`
  statSync(addon);
  const pluginHash = createHash('sha256').update(readFileSync(plugin)).digest('hex').slice(0, 16); // built by `npm run build`
  writeFileSync(join(work, 'entry.mjs'), ENTRY);
  writeFileSync(join(work, 'select.cjs'), selectScript(pluginHash));
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
          flannel: plugin,
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
