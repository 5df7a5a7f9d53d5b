// A mocha root hook plugin (loaded through .mocharc.json): suites tagged @netns need root, as they
// build network namespaces; suites tagged @etcd need Debian's etcd on the PATH; suites tagged @wgkernel
// need the kernel's WireGuard. When a requirement is missing, each such suite is skipped — reported as
// pending, with one line saying why — instead of failing in its set-up. `bash scripts/test.sh` runs as
// root and installs etcd, so there nothing is skipped for these reasons but a missing WireGuard module.
import { accessSync, constants, existsSync, readFileSync } from 'node:fs';
import { release } from 'node:os';
import { delimiter, join } from 'node:path';

interface SuiteLike {
  title: string;
  pending: boolean;
  suites: SuiteLike[];
  parent?: SuiteLike;
}

function onPath(cmd: string): boolean {
  return (process.env.PATH ?? '').split(delimiter).some((dir) => {
    try {
      accessSync(join(dir, cmd), constants.X_OK);
      return true;
    } catch {
      return false;
    }
  });
}

/** The WireGuard module is loaded or built in (/sys/module/wireguard), or can be loaded. */
function kernelHasWireguard(): boolean {
  if (existsSync('/sys/module/wireguard')) return true;
  try {
    return /\/wireguard\.ko/.test(readFileSync(`/lib/modules/${release()}/modules.dep`, 'utf8'));
  } catch {
    return false;
  }
}

/** The tags whose requirement is missing here, with why. */
export function missingRequirements(): Map<string, string> {
  const missing = new Map<string, string>();
  if (process.getuid?.() !== 0) missing.set('@netns', 'not running as root (network namespaces need it); run the tests as root, e.g. bash scripts/test.sh');
  if (!onPath('etcd')) missing.set('@etcd', 'etcd is not on the PATH; install Debian\'s etcd-server (bash scripts/test.sh does)');
  if (!kernelHasWireguard()) missing.set('@wgkernel', 'the kernel has no WireGuard (no /sys/module/wireguard, no wireguard module for this kernel): the kernel data path cannot run here');
  return missing;
}

/** Marks every suite whose title carries a tag in `missing` as pending; returns the titles with why. */
export function skipSuites(root: SuiteLike, missing: ReadonlyMap<string, string>): string[] {
  const skipped: string[] = [];
  const walk = (s: SuiteLike): void => {
    for (const child of s.suites) {
      const why = [...missing].filter(([tag]) => child.title.includes(tag)).map(([, w]) => w);
      if (why.length > 0) {
        child.pending = true;
        skipped.push(`${child.title}: ${why.join('; ')}`);
      } else walk(child);
    }
  };
  walk(root);
  return skipped;
}

export const mochaHooks = {
  beforeAll(this: { test?: { parent?: SuiteLike } }): void {
    const missing = missingRequirements();
    let root = this.test?.parent;
    while (root?.parent) root = root.parent;
    if (!root || missing.size === 0) return;
    for (const line of skipSuites(root, missing)) process.stdout.write(`  skipped: ${line}\n`);
  },
};
