// The rendered delegate config, kept at <dataDir>/<containerID> from ADD until DEL, so DEL hands the
// delegate exactly what ADD did even when subnet.env changed in between. Same place and modes as the
// reference (directory 0700, file 0600, fsync), so either implementation can DEL the other's pods.
// The container ID has passed the CNI name check (no '/', no leading '.'), so the path stays inside.
import { closeSync, fsyncSync, mkdirSync, openSync, readFileSync, rmSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import { CniCode, CniError } from './errors.js';
import type { JsonObject } from './netconf.js';

/** Writes (or overwrites) the file, creating dataDir when missing; code 5 when that fails. */
export function saveDelegateConfig(dataDir: string, containerId: string, config: string): void {
  const path = join(dataDir, containerId);
  try {
    mkdirSync(dataDir, { recursive: true, mode: 0o700 });
    const fd = openSync(path, 'w', 0o600);
    try {
      writeSync(fd, config);
      fsyncSync(fd);
    } finally {
      closeSync(fd);
    }
  } catch (e) {
    throw new CniError(CniCode.IOFailure, `failed to save the delegate config to ${path}`, (e as Error).message);
  }
}

/** The saved config, or null when there is none (DEL of a container this node never added). */
export function readDelegateConfig(dataDir: string, containerId: string): string | null {
  const path = join(dataDir, containerId);
  try {
    return readFileSync(path, 'utf8');
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return null;
    throw new CniError(CniCode.IOFailure, `failed to read the saved delegate config ${path}`, (e as Error).message);
  }
}

/** Removes the file; a failure is ignored (the CNI spec lets DEL go on). Safe to call twice. */
export function removeDelegateConfig(dataDir: string, containerId: string): void {
  try {
    rmSync(join(dataDir, containerId), { force: true });
  } catch {
    /* left behind; harmless, the next ADD of this ID overwrites it */
  }
}

/** The saved config's delegate type, or null when it is not a JSON object with a string "type". */
export function savedType(saved: string): string | null {
  try {
    const o = JSON.parse(saved) as unknown;
    if (typeof o !== 'object' || o === null || Array.isArray(o)) return null;
    const type = (o as JsonObject)['type'];
    return typeof type === 'string' ? type : null;
  } catch {
    return null;
  }
}
