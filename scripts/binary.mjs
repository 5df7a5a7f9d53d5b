#!/usr/bin/env node
// `npm run binary`: release/flanneld, one self-contained executable (Node's single executable
// application). esbuild bundles the compiled daemon and the CNI plugin into one CommonJS script; the
// native addon, etcd3's .proto files and package.json travel inside as SEA assets and are unpacked on
// first start into a cache folder named by their hash. Invoked as `flannel` (a symlink or copy under
// that name, e.g. /opt/cni/bin/flannel), the same executable is the flannel CNI plugin.
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
const etcd3Proto = join(root, 'node_modules', 'etcd3', 'proto');
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

const ASSETS = ['package.json', 'flannel_native.node', 'proto/rpc.proto', 'proto/kv.proto', 'proto/auth.proto'];

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

const invoked = basename(process.argv0 || '');
const asPlugin = invoked === 'flannel' || basename(process.execPath) === 'flannel';
if (asPlugin) {
  globalThis.__flanneltsMetaUrl = pathToFileURL(process.execPath).href;
  import('../../dist/cni/main.js');
} else {
  const dir = isSea() ? unpack() : process.env.FLANNELTS_ASSET_DIR;
  globalThis.__flanneltsAssets = dir;
  globalThis.__flanneltsMetaUrl = pathToFileURL(join(dir, 'dist', 'flanneld.js')).href;
  process.env.FLANNEL_NATIVE_ADDON ??= join(dir, 'flannel_native.node');
  import('../../dist/flanneld/main.js');
}
`;

/** etcd3 loads its protocol from files beside its own code: read them from the unpacked folder. */
const etcd3Protos = {
  name: 'etcd3-protos',
  setup(build) {
    build.onLoad({ filter: /etcd3[\\/]lib[\\/]connection-pool\.js$/ }, (args) => {
      const src = readFileSync(args.path, 'utf8');
      const from = '`${__dirname}/../proto/rpc.proto`';
      if (!src.includes(from)) throw new Error('etcd3 no longer loads rpc.proto the way scripts/binary.mjs expects');
      return { contents: src.replace(from, '`${globalThis.__flanneltsAssets}/proto/rpc.proto`'), loader: 'js' };
    });
  },
};

function main() {
  rmSync(work, { recursive: true, force: true });
  mkdirSync(work, { recursive: true });
  statSync(join(root, 'dist', 'flanneld', 'main.js')); // built by `npm run build`
  statSync(addon);
  writeFileSync(join(work, 'entry.mjs'), ENTRY);
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
      plugins: [etcd3Protos],
      logLevel: 'error',
      legalComments: 'none',
    })
    .then(() => {
      const seaConfig = {
        main: join(work, 'flanneld.cjs'),
        output: join(work, 'sea-prep.blob'),
        disableExperimentalSEAWarning: true,
        useSnapshot: false,
        useCodeCache: false,
        assets: {
          'package.json': join(work, 'package.json'),
          'flannel_native.node': addon,
          'proto/rpc.proto': join(etcd3Proto, 'rpc.proto'),
          'proto/kv.proto': join(etcd3Proto, 'kv.proto'),
          'proto/auth.proto': join(etcd3Proto, 'auth.proto'),
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
