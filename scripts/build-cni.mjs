// `npm run build`: dist/cni/flannel, the flannel CNI plugin, a native executable compiled from
// cni/src with g++ (C++17, no libraries beyond libstdc++ and glibc, linked statically). The runtime
// starts the plugin once per pod event, so it must start in a millisecond or two, which no Node.js
// program does.
// Objects are kept in cni/build and recompiled when their source or any header is newer.
// Usage: node scripts/build-cni.mjs [--rebuild]
import { spawn } from 'node:child_process';
import { chmodSync, existsSync, mkdirSync, readdirSync, rmSync, statSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const src = join(root, 'cni', 'src');
const objDir = join(root, 'cni', 'build');
const out = join(root, 'dist', 'cni', 'flannel');
const CXX = process.env.CXX || 'g++';
const FLAGS = ['-std=c++17', '-Wall', '-Wextra', '-Wshadow', '-O2'];

if (process.argv.includes('--rebuild')) rmSync(objDir, { recursive: true, force: true });
mkdirSync(objDir, { recursive: true });
mkdirSync(dirname(out), { recursive: true });

const files = readdirSync(src);
const mtime = (p) => (existsSync(p) ? statSync(p).mtimeMs : 0);
const newestHeader = Math.max(0, ...files.filter((f) => f.endsWith('.h')).map((f) => mtime(join(src, f))));
const units = files.filter((f) => f.endsWith('.cc')).sort();
const objects = units.map((f) => join(objDir, f.replace(/\.cc$/, '.o')));
const stale = units.filter((f, i) => mtime(objects[i]) < Math.max(mtime(join(src, f)), newestHeader));

function run(args) {
  return new Promise((resolve, reject) => {
    const child = spawn(CXX, args, { stdio: 'inherit' });
    child.on('error', reject);
    child.on('exit', (code) => (code === 0 ? resolve() : reject(new Error(`${CXX} ${args.join(' ')} failed (${code})`))));
  });
}

async function compileAll() {
  const queue = [...stale];
  const worker = async () => {
    for (let f = queue.shift(); f !== undefined; f = queue.shift()) {
      await run([...FLAGS, '-c', join(src, f), '-o', join(objDir, f.replace(/\.cc$/, '.o'))]);
    }
  };
  await Promise.all(Array.from({ length: Math.min(availableParallelism(), Math.max(1, queue.length)) }, worker));
}

try {
  await compileAll();
  // Static, like the reference's Go plugin: it runs on any node's libc (it does no name lookups, so
  // glibc's static-NSS caveat does not apply), and starts faster without the dynamic loader.
  await run(['-O2', '-static', '-o', out, ...objects]);
  chmodSync(out, 0o755);
} catch (e) {
  process.stderr.write(`build-cni: ${e.message}\n`);
  process.exit(1);
}
