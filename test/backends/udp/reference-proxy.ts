// A stand-in for the reference's udp proxy (fact sheet §5.3), to prove wire compatibility: a TUN
// without offloads (IFF_TUN|IFF_NO_PI), one packet per read/sendto/recv/write, the raw inner IP
// packet as the whole UDP payload, TTL decremented. Written in Python so it shares no code with ours.
// It prints "ready <device>" once the TUN and the socket exist; the caller configures the device.
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';

const SCRIPT = String.raw`
import fcntl, os, select, socket, struct, sys
bind, port = sys.argv[1], int(sys.argv[2])
routes = []
for r in sys.argv[3:]:
    net, hop = r.split('=')
    ip, ln = net.split('/')
    mask = (0xffffffff << (32 - int(ln))) & 0xffffffff
    routes.append((struct.unpack('!I', socket.inet_aton(ip))[0] & mask, mask, hop))
fd = os.open('/dev/net/tun', os.O_RDWR)
ifr = fcntl.ioctl(fd, 0x400454ca, struct.pack('16sH', b'flannel%d', 0x0001 | 0x1000))
name = ifr[:16].split(b'\0')[0].decode()
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.bind((bind, port))
print('ready', name, flush=True)

def dec_ttl(p):
    if len(p) < 20 or p[8] <= 1:
        return None
    p = bytearray(p)
    p[8] -= 1
    p[10:12] = b'\0\0'
    hl = (p[0] & 15) * 4
    total = sum(struct.unpack('!%dH' % (hl // 2), bytes(p[:hl])))
    while total > 0xffff:
        total = (total & 0xffff) + (total >> 16)
    p[10:12] = struct.pack('!H', ~total & 0xffff)
    return bytes(p)

while True:
    r, _, _ = select.select([fd, s], [], [])
    if fd in r:
        p = os.read(fd, 65535)
        dst = struct.unpack('!I', p[16:20])[0]
        hop = next((h for n, m, h in routes if dst & m == n), None)
        p = dec_ttl(p)
        if hop and p:
            s.sendto(p, (hop, port))
    if s in r:
        p, _ = s.recvfrom(65535)
        p = dec_ttl(p)
        if p:
            os.write(fd, p)
`;

/** Writes the script into `dir` and returns its path. */
export async function writeReferenceProxy(dir: string): Promise<string> {
  const path = join(dir, 'reference-udp-proxy.py');
  await writeFile(path, SCRIPT);
  return path;
}
