// Generic netlink (<linux/genetlink.h>): a family is known by name and gets its message type (its id)
// from the kernel at run time, by asking the built-in "nlctrl" family (CTRL_CMD_GETFAMILY). Every
// generic netlink message carries a 4-byte genlmsghdr (cmd, version, reserved) after the nlmsghdr.
import { NativeError, nativeError } from '../errors.js';
import * as C from './constants.js';
import { parseAttrs, type RawMsg } from './decode.js';
import { type Transport, answerError } from './transport.js';

/** The socket protocol of generic netlink (<linux/netlink.h>). */
export const NETLINK_GENERIC = 16;
/** The fixed id of "nlctrl" (GENL_ID_CTRL = NLMSG_MIN_TYPE). */
export const GENL_ID_CTRL = 0x10;
export const CTRL_CMD_GETFAMILY = 3;
export const CTRL_ATTR_FAMILY_ID = 1;
export const CTRL_ATTR_FAMILY_NAME = 2;
/** The version nlctrl itself declares; the kernel does not check it on requests. */
const CTRL_VERSION = 2;
/** Set in the type of an attribute that holds attributes (<linux/netlink.h>). */
export const NLA_F_NESTED = 0x8000;
/** Size of struct genlmsghdr. */
export const GENL_HDRLEN = 4;

export function genlmsghdr(cmd: number, version: number): Buffer {
  const b = Buffer.alloc(GENL_HDRLEN);
  b.writeUInt8(cmd, 0);
  b.writeUInt8(version, 1);
  return b;
}

/** The command of a generic netlink message (the first byte after the nlmsghdr). */
export function genlCmd(m: RawMsg): number {
  return m.body.length >= GENL_HDRLEN ? m.body.readUInt8(0) : -1;
}

/**
 * The id of generic netlink family `name`. Rejects with NativeError ENOENT ("generic netlink family
 * <name> not found") when the kernel has no such family, after the kernel's own attempt to load its
 * module. Each call asks the kernel again (ids are stable while the module stays loaded).
 */
export async function resolveFamily(t: Transport, name: string): Promise<number> {
  const ctx = `generic netlink family ${name}`;
  const [a] = await t.request(ctx, (w, next) => {
    w.begin(GENL_ID_CTRL, C.NLM_F_REQUEST | C.NLM_F_ACK, next(), genlmsghdr(CTRL_CMD_GETFAMILY, CTRL_VERSION));
    w.str(CTRL_ATTR_FAMILY_NAME, name).end();
  });
  const err = answerError(a!, 'CTRL_CMD_GETFAMILY', ctx);
  if (err?.code === 'ENOENT') throw new NativeError('ENOENT', err.errno, 'CTRL_CMD_GETFAMILY', `${ctx} not found`, err.kernelMessage);
  if (err) throw err;
  for (const m of a!.msgs) {
    const id = parseAttrs(m.body, GENL_HDRLEN).get(CTRL_ATTR_FAMILY_ID);
    if (id && id.length >= 2) return id.readUInt16LE(0);
  }
  throw nativeError('EPROTO', 'CTRL_CMD_GETFAMILY', `${ctx}: the kernel's answer carries no CTRL_ATTR_FAMILY_ID`);
}
