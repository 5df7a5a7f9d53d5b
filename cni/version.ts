// CNI spec versions. The plugin hands the delegate's result through, so it supports what Debian's
// bridge and host-local support (their VERSION answer, up to 1.0.0), plus 1.1.0: its result format is
// 1.0.0's, so a 1.1.0 config is delegated as 1.0.0 and the result relabelled (delegateVersion).
import { CniCode, CniError } from './errors.js';

export const SUPPORTED_VERSIONS = ['0.1.0', '0.2.0', '0.3.0', '0.3.1', '0.4.0', '1.0.0', '1.1.0'] as const;
export const CURRENT_VERSION = '1.1.0';
/** The highest version Debian's plugins (1.1.1) speak. */
const DELEGATE_MAX = '1.0.0';

/** The version to write into the delegate's config for a config of `version`. */
export function delegateVersion(version: string): string {
  return version === '1.1.0' ? DELEGATE_MAX : version;
}

/**
 * A config's version: `cniVersion`, or else the highest supported one of a conflist's `cniVersions`
 * (CNI 1.1.0), or else 0.1.0 as libcni decides. Code 1 when `cniVersions` names none we support.
 */
export function chooseVersion(cniVersion: string, cniVersions: unknown): string {
  if (cniVersion !== '' || cniVersions === undefined || cniVersions === null) return effectiveVersion(cniVersion);
  if (!Array.isArray(cniVersions) || !cniVersions.every((v) => typeof v === 'string')) {
    throw new CniError(CniCode.DecodingFailure, 'invalid cniVersions', `netconf field "cniVersions" is ${JSON.stringify(cniVersions)}, not a list of strings`);
  }
  const ours = (SUPPORTED_VERSIONS as readonly string[]).filter((v) => cniVersions.includes(v));
  if (ours.length === 0) {
    const quoted = SUPPORTED_VERSIONS.map((v) => `"${v}"`).join(' ');
    throw new CniError(CniCode.IncompatibleVersion, 'incompatible CNI versions', `cniVersions is ${JSON.stringify(cniVersions)}, plugin supports [${quoted}]`);
  }
  return ours[ours.length - 1]!;
}

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
