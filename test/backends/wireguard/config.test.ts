// The wireguard config (clear errors naming the field), the key file (created once 0600, reused, bad
// permissions and bad content refused) and the lease data.
import { expect } from 'chai';
import { chmod, mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { WireguardConfigError, parseWireguardConfig } from '../../../backends/wireguard/config.js';
import { WireguardKeyError, keyFilePath, loadOrCreateKey, publicKeyOf } from '../../../backends/wireguard/key.js';
import { decodeLeaseData, encodeLeaseData } from '../../../backends/wireguard/lease-data.js';

const KEY = Buffer.alloc(32, 1).toString('base64');

function configError(backend: Record<string, unknown>): WireguardConfigError {
  try {
    parseWireguardConfig(backend);
  } catch (e) {
    if (e instanceof WireguardConfigError) return e;
    throw e;
  }
  throw new Error('no error');
}

describe('wireguard: config', () => {
  it('has the reference defaults', () => {
    expect(parseWireguardConfig({ Type: 'wireguard' })).to.deep.equal({ listenPort: 51820, listenPortV6: 51821, psk: null, persistentKeepalive: 0, mtu: 0, mode: 'separate' });
  });

  it('reads keys case-insensitively, values exactly', () => {
    const c = parseWireguardConfig({ listenport: 5000, LISTENPORTV6: 5001, psk: KEY, persistentkeepaliveinterval: 25, mtu: 1400, mode: 'auto' });
    expect(c).to.deep.equal({ listenPort: 5000, listenPortV6: 5001, psk: KEY, persistentKeepalive: 25, mtu: 1400, mode: 'auto' });
  });

  it('names the field of a bad value', () => {
    const cases: Array<[Record<string, unknown>, string, RegExp]> = [
      [{ Mode: 'Auto' }, 'Backend.Mode', /no valid Mode configured: Mode must be one of separate, auto, ipv4, ipv6 \(lower case\), got "Auto"/],
      [{ Mode: '' }, 'Backend.Mode', /got ""/],
      [{ PSK: 'c2hvcnQ=' }, 'Backend.PSK', /could not parse psk: PSK must be the base64 of 32 bytes \(wg genpsk\), got "c2hvcnQ="/],
      [{ PersistentKeepaliveInterval: '25s' }, 'Backend.PersistentKeepaliveInterval', /must be an integer in 0\.\.65535, got "25s"/],
      [{ PersistentKeepaliveInterval: 2.5 }, 'Backend.PersistentKeepaliveInterval', /got 2\.5/],
      [{ ListenPort: 70000 }, 'Backend.ListenPort', /ListenPort must be an integer in 0\.\.65535, got 70000/],
      [{ MTU: -1 }, 'Backend.MTU', /MTU must be an integer/],
    ];
    for (const [backend, field, re] of cases) {
      const e = configError(backend);
      expect(e.field, JSON.stringify(backend)).to.equal(field);
      expect(e.message).to.match(re);
    }
  });
});

describe('wireguard: the key file', () => {
  let dir = '';
  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), 'fl-wgkey-'));
  });
  afterEach(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('is $WIREGUARD_KEY_FILE when that is present, even empty, else /run/flannel/wgkey', () => {
    expect(keyFilePath({})).to.equal('/run/flannel/wgkey');
    expect(keyFilePath({ WIREGUARD_KEY_FILE: '/etc/k' })).to.equal('/etc/k');
    expect(keyFilePath({ WIREGUARD_KEY_FILE: '' })).to.equal('');
  });

  it('is created once, mode 0600, as 44 base64 characters without a newline, in a new directory', async () => {
    const path = join(dir, 'sub', 'wgkey');
    const k = await loadOrCreateKey(path);
    expect(k.created).to.equal(true);
    expect((await stat(path)).mode & 0o777).to.equal(0o600);
    const text = await readFile(path, 'utf8');
    expect(text).to.match(/^[A-Za-z0-9+/]{43}=$/);
    expect(text).to.equal(k.privateKey);
    const raw = Buffer.from(text, 'base64');
    expect(raw[0]! & 7).to.equal(0); // clamped for Curve25519
    expect(raw[31]! & 0xc0).to.equal(0x40);
    expect(k.publicKey).to.equal(publicKeyOf(k.privateKey)).and.to.not.equal(k.privateKey);
  });

  it('is reused: the same key pair on every later start, the file untouched', async () => {
    const path = join(dir, 'wgkey');
    const first = await loadOrCreateKey(path);
    const again = await loadOrCreateKey(path);
    expect(again).to.deep.equal({ ...first, created: false });
  });

  it('accepts a `wg genkey > file` key (trailing newline) and a reference-made 0400 file', async () => {
    const path = join(dir, 'wgkey');
    const genkey = Buffer.alloc(32, 0x48).toString('base64'); // already clamped, as `wg genkey` makes them
    await writeFile(path, `${genkey}\n`, { mode: 0o400 });
    expect((await loadOrCreateKey(path)).privateKey).to.equal(genkey);
  });

  it('derives the public key as X25519 does (RFC 7748 test vector)', () => {
    const alicePriv = Buffer.from('77076d0a7318a57d3c16c17251b26645df4c2f87ebc0992ab177fba51db92c2a', 'hex').toString('base64');
    expect(Buffer.from(publicKeyOf(alicePriv), 'base64').toString('hex')).to.equal('8520f0098930a754748b7ddcb43ef75a0dbf3a0d26381af4eba4a98eaa9b4e6a');
  });

  it('refuses a file group or others may read, naming the path and the mode', async () => {
    const path = join(dir, 'wgkey');
    await writeFile(path, KEY);
    await chmod(path, 0o644);
    let err: unknown;
    await loadOrCreateKey(path).catch((e: unknown) => (err = e));
    expect(err).to.be.instanceOf(WireguardKeyError);
    expect((err as Error).message).to.equal(`wireguard key file ${path} has mode 0644: group and others must have no access (chmod 600 ${path})`);
  });

  it('refuses content that is not a 32-byte key, and an empty WIREGUARD_KEY_FILE', async () => {
    const path = join(dir, 'wgkey');
    await writeFile(path, 'not a key', { mode: 0o600 });
    await loadOrCreateKey(path).then(
      () => expect.fail('accepted'),
      (e: Error) => expect(e.message).to.equal(`could not parse private key from file ${path}: not the base64 of 32 bytes`),
    );
    await loadOrCreateKey('').then(
      () => expect.fail('accepted'),
      (e: Error) => expect(e.message).to.match(/WIREGUARD_KEY_FILE is set but empty/),
    );
  });
});

describe('wireguard: lease data', () => {
  it('encodes PublicKey then Port, as the reference', () => {
    expect(JSON.stringify(encodeLeaseData(KEY, 51820))).to.equal(`{"PublicKey":"${KEY}","Port":51820}`);
  });

  it('decodes keys case-insensitively; a missing Port is 0 (our own port applies)', () => {
    expect(decodeLeaseData({ publickey: KEY, port: 5 }, 'BackendData')).to.deep.equal({ publicKey: KEY, port: 5 });
    expect(decodeLeaseData({ PublicKey: KEY }, 'BackendV6Data')).to.deep.equal({ publicKey: KEY, port: 0 });
    expect(decodeLeaseData({ PublicKey: KEY, Port: '1' }, 'BackendV6Data')).to.equal('BackendV6Data.Port must be an integer in 0..65535, got "1"');
  });
});
