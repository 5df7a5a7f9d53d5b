// tsc does not keep the executable bit; make every `bin` entry of package.json runnable.
import { chmodSync, existsSync, readFileSync } from 'node:fs';
const pkg = JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8'));
for (const file of Object.values(pkg.bin ?? {})) {
  if (existsSync(file)) chmodSync(file, 0o755);
}
