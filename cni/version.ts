// CNI spec versions. The plugin hands the delegate's result through unchanged, so it supports what
// Debian's bridge and host-local support (their VERSION answer), no more.
import { CniCode, CniError } from './errors.js';

export const SUPPORTED_VERSIONS = ['0.1.0', '0.2.0', '0.3.0', '0.3.1', '0.4.0', '1.0.0'] as const;
export const CURRENT_VERSION = '1.0.0';

/** The VERSION command's answer. */
export function versionInfo(): { cniVersion: string; supportedVersions: string[] } {
  return { cniVersion: CURRENT_VERSION, supportedVersions: [...SUPPORTED_VERSIONS] };
}

/** A config without cniVersion speaks 0.1.0, as libcni decides. */
export function effectiveVersion(cniVersion: string | undefined): string {
  return cniVersion === undefined || cniVersion === '' ? '0.1.0' : cniVersion;
}

/** Throws code 1 (libcni's text) when the config's version is not one we support. */
export function checkSupported(version: string): void {
  if ((SUPPORTED_VERSIONS as readonly string[]).includes(version)) return;
  const quoted = SUPPORTED_VERSIONS.map((v) => `"${v}"`).join(' ');
  throw new CniError(CniCode.IncompatibleVersion, 'incompatible CNI versions', `config is "${version}", plugin supports [${quoted}]`);
}

/** a >= b for dotted versions ("0.4.0", "1.0.0"); throws code 6 for a version that is not one. */
export function versionAtLeast(a: string, b: string): boolean {
  const pa = parseVersion(a);
  const pb = parseVersion(b);
  for (let i = 0; i < 3; i++) {
    if (pa[i]! !== pb[i]!) return pa[i]! > pb[i]!;
  }
  return true;
}

function parseVersion(v: string): number[] {
  const m = /^(\d+)\.(\d+)\.(\d+)$/.exec(v);
  if (!m) throw new CniError(CniCode.DecodingFailure, 'invalid CNI version', `"${v}" is not of the form X.Y.Z`);
  return [Number(m[1]), Number(m[2]), Number(m[3])];
}
