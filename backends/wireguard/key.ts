// The private key file (fact sheet §1.3): $WIREGUARD_KEY_FILE when the variable is present, else
// /run/flannel/wgkey. Created once (32 random bytes clamped for Curve25519, standard base64, no newline)
// with mode 0600 and reused ever after, so a restart keeps the public key and no peer needs an update.
// Unlike the reference, a file that others may read (any group/other permission bit) is refused: the
// key is the host's identity in the overlay.
import { createPrivateKey, createPublicKey, randomBytes } from 'node:crypto';
import { lstat, mkdir, open, readFile } from 'node:fs/promises';
import { dirname } from 'node:path';

export const DEFAULT_KEY_FILE = '/run/flannel/wgkey';

export class WireguardKeyError extends Error {
  override readonly name = 'WireguardKeyError';
}

export interface KeyPair {
  privateKey: string;
  publicKey: string;
  path: string;
  created: boolean;
}

/** $WIREGUARD_KEY_FILE when present (even empty: then the file cannot be created, as in the reference). */
export function keyFilePath(env: NodeJS.ProcessEnv = process.env): string {
  return env.WIREGUARD_KEY_FILE !== undefined ? env.WIREGUARD_KEY_FILE : DEFAULT_KEY_FILE;
}

// PKCS#8 DER header of an X25519 private key; the 32 raw bytes follow.
const PKCS8_X25519 = Buffer.from('302e020100300506032b656e04220420', 'hex');

/** X25519(private, basepoint), both base64. */
export function publicKeyOf(privateKey: string): string {
  const der = Buffer.concat([PKCS8_X25519, Buffer.from(privateKey, 'base64')]);
  const spki = createPublicKey(createPrivateKey({ key: der, format: 'der', type: 'pkcs8' })).export({ format: 'der', type: 'spki' });
  return spki.subarray(spki.length - 32).toString('base64');
}

export function generatePrivateKey(): string {
  return clampKey(randomBytes(32)).toString('base64');
}

function clampKey(b: Buffer): Buffer {
  b[0]! &= 248;
  b[31]! &= 127;
  b[31]! |= 64;
  return b;
}

/**
 * Reads the key file, or creates it when absent (mode 0600, parent directories 0755). Throws
 * WireguardKeyError naming the path: unreadable, not a regular file, readable by others, or not a
 * 32-byte base64 key. Calling it twice reads the same key; it never overwrites a file.
 */
export async function loadOrCreateKey(path: string): Promise<KeyPair> {
  if (path === '') throw new WireguardKeyError('wireguard key file: WIREGUARD_KEY_FILE is set but empty');
  const st = await lstat(path).catch((e: NodeJS.ErrnoException) => {
    if (e.code === 'ENOENT') return null;
    throw new WireguardKeyError(`wireguard key file ${path}: ${e.code ?? e.message}`);
  });
  if (st === null) return createKeyFile(path);
  if (!st.isFile()) throw new WireguardKeyError(`wireguard key file ${path} is not a regular file`);
  if ((st.mode & 0o077) !== 0) {
    const mode = (st.mode & 0o777).toString(8).padStart(4, '0');
    throw new WireguardKeyError(`wireguard key file ${path} has mode ${mode}: group and others must have no access (chmod 600 ${path})`);
  }
  const text = (await readFile(path, 'utf8')).replace(/[\r\n]/g, '');
  const raw = Buffer.from(text, 'base64');
  if (raw.length !== 32 || !/^[A-Za-z0-9+/]+={0,2}$/.test(text)) {
    throw new WireguardKeyError(`could not parse private key from file ${path}: not the base64 of 32 bytes`);
  }
  // Clamped as WireGuard stores it, so comparing with what the device reports back works (same public key).
  const privateKey = clampKey(raw).toString('base64');
  return { privateKey, publicKey: publicKeyOf(privateKey), path, created: false };
}

async function createKeyFile(path: string): Promise<KeyPair> {
  await mkdir(dirname(path), { recursive: true, mode: 0o755 });
  const privateKey = generatePrivateKey();
  let fh;
  try {
    fh = await open(path, 'wx', 0o600); // O_EXCL: never overwrite a key another process just wrote
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'EEXIST') return loadOrCreateKey(path);
    throw new WireguardKeyError(`wireguard key file ${path}: cannot create it: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`);
  }
  try {
    await fh.chmod(0o600); // whatever the umask
    await fh.writeFile(privateKey);
    await fh.sync();
  } finally {
    await fh.close();
  }
  return { privateKey, publicKey: publicKeyOf(privateKey), path, created: true };
}
