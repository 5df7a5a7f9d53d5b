// The UAPI text protocol as wireguard-go speaks it (fact sheet §1.7): the exact request flannel's add-peer
// and remove-peer calls become, the decoding of a `get=1` answer, and a missing wireguard-go binary.
import { expect } from 'chai';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { decodeGet, encodeSet } from '../../native/wg-uapi.js';
import { UserspaceWireGuard } from '../../native/wg-userspace.js';

const hex = (n: number): string => n.toString(16).padStart(2, '0').repeat(32);
const b64 = (n: number): string => Buffer.alloc(32, n).toString('base64');

describe('WireGuard UAPI text protocol', () => {
  it("encodes an add-peer call in wgctrl's order, keys in hex", () => {
    const req = encodeSet({
      privateKey: b64(1),
      listenPort: 51820,
      setPeers: [{ publicKey: b64(2), endpoint: '198.18.0.2:51820', allowedIPs: ['10.244.2.0/24'], presharedKey: b64(3), persistentKeepalive: 0 }],
    });
    expect(req).to.equal(
      `set=1\nprivate_key=${hex(1)}\nlisten_port=51820\npublic_key=${hex(2)}\npreshared_key=${hex(3)}\nendpoint=198.18.0.2:51820\n` +
        'persistent_keepalive_interval=0\nreplace_allowed_ips=true\nallowed_ip=10.244.2.0/24\n\n',
    );
  });

  it('encodes a removal, and a peer without PSK clears it (zero key)', () => {
    expect(encodeSet({ removePeers: [b64(2)] })).to.equal(`set=1\npublic_key=${hex(2)}\nremove=true\n\n`);
    expect(encodeSet({ setPeers: [{ publicKey: b64(2), endpoint: null, allowedIPs: [], presharedKey: null, persistentKeepalive: 25 }] })).to.equal(
      `set=1\npublic_key=${hex(2)}\npreshared_key=${'0'.repeat(64)}\npersistent_keepalive_interval=25\nreplace_allowed_ips=true\n\n`,
    );
  });

  it('decodes a get answer as wireguard-go writes it', () => {
    const answer =
      `private_key=${hex(1)}\nlisten_port=51820\npublic_key=${hex(2)}\npreshared_key=${'0'.repeat(64)}\nprotocol_version=1\n` +
      'endpoint=[fd00::2]:51821\nlast_handshake_time_sec=1700000000\nlast_handshake_time_nsec=5\ntx_bytes=10\nrx_bytes=20\n' +
      'persistent_keepalive_interval=0\nallowed_ip=10.244.2.0/24\nallowed_ip=fd00:10:244:2::/64\n';
    expect(decodeGet(answer)).to.deep.equal({
      privateKey: b64(1),
      listenPort: 51820,
      peers: [
        {
          publicKey: b64(2),
          endpoint: '[fd00::2]:51821',
          allowedIPs: ['10.244.2.0/24', 'fd00:10:244:2::/64'],
          presharedKey: null,
          persistentKeepalive: 0,
          lastHandshakeSec: 1700000000,
          rxBytes: 20,
          txBytes: 10,
        },
      ],
    });
  });

  it('a missing wireguard-go binary fails ensureDevice with ENOENT naming it', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'fl-wgu-'));
    const wg = new UserspaceWireGuard({ binary: '/nonexistent/wireguard-go', socketDir: dir });
    try {
      const err = await wg.ensureDevice('flannel-wg').then(() => null, (e: unknown) => e);
      expect((err as { code?: string }).code).to.equal('ENOENT');
      expect((err as Error).message).to.include('starting /nonexistent/wireguard-go for flannel-wg');
    } finally {
      wg.close();
      await rm(dir, { recursive: true, force: true });
    }
  });
});
