// LD_PRELOAD shim for capturing what `wg` (wireguard-tools, through libmnl) sends to the kernel's
// WireGuard on a machine whose kernel has none. Its NETLINK_GENERIC socket becomes a local socket: the
// CTRL_CMD_GETFAMILY for "wireguard" is answered with family id 0x1c, a dump request with the messages
// in the hex file $WG_DUMP (their sequence numbers set to the request's) when it is given, every other
// request with an ACK (error 0); each request is written as one hex line to $WG_CAPTURE. Nothing
// reaches the kernel.
// Build: cc -shared -fPIC -o fake-genl.so fake-genl.c -ldl
#define _GNU_SOURCE
#include <dlfcn.h>
#include <linux/genetlink.h>
#include <linux/netlink.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/uio.h>

#define FAKE_FAMILY 0x1c
static int fake_fd = -1;
static unsigned char reply[8192];
static size_t reply_len;

#define REAL(name, ret, ...) static ret (*real_##name)(__VA_ARGS__); if (!real_##name) real_##name = dlsym(RTLD_NEXT, #name)

int socket(int domain, int type, int protocol) {
  REAL(socket, int, int, int, int);
  if (domain == AF_NETLINK && protocol == NETLINK_GENERIC) return fake_fd = real_socket(AF_UNIX, SOCK_DGRAM, 0);
  return real_socket(domain, type, protocol);
}

int bind(int fd, const struct sockaddr* a, socklen_t l) {
  REAL(bind, int, int, const struct sockaddr*, socklen_t);
  return fd == fake_fd ? 0 : real_bind(fd, a, l);
}

int setsockopt(int fd, int level, int opt, const void* v, socklen_t l) {
  REAL(setsockopt, int, int, int, int, const void*, socklen_t);
  return fd == fake_fd ? 0 : real_setsockopt(fd, level, opt, v, l);
}

int getsockname(int fd, struct sockaddr* a, socklen_t* l) {
  REAL(getsockname, int, int, struct sockaddr*, socklen_t*);
  if (fd != fake_fd) return real_getsockname(fd, a, l);
  struct sockaddr_nl nl = {.nl_family = AF_NETLINK, .nl_pid = 4242};
  memcpy(a, &nl, sizeof nl);
  *l = sizeof nl;
  return 0;
}

static void put_attr(unsigned short type, const void* data, unsigned short len) {
  struct nlattr* a = (struct nlattr*)(reply + reply_len);
  a->nla_len = NLA_HDRLEN + len;
  a->nla_type = type;
  memcpy(reply + reply_len + NLA_HDRLEN, data, len);
  reply_len += NLA_ALIGN(a->nla_len);
}

// The messages of $WG_DUMP, each with the request's sequence number; false without that file.
static int dump_reply(const struct nlmsghdr* req) {
  const char* path = getenv("WG_DUMP");
  FILE* f = path ? fopen(path, "r") : NULL;
  if (!f) return 0;
  unsigned int byte;
  while (reply_len < sizeof reply && fscanf(f, "%2x", &byte) == 1) reply[reply_len++] = (unsigned char)byte;
  fclose(f);
  for (size_t off = 0; off + NLMSG_HDRLEN <= reply_len;) {
    struct nlmsghdr* h = (struct nlmsghdr*)(reply + off);
    if (h->nlmsg_len < NLMSG_HDRLEN) break;
    h->nlmsg_seq = req->nlmsg_seq;
    off += NLMSG_ALIGN(h->nlmsg_len);
  }
  return 1;
}

static void answer(const struct nlmsghdr* req) {
  reply_len = 0;
  memset(reply, 0, sizeof reply);
  if (req->nlmsg_type == FAKE_FAMILY && (req->nlmsg_flags & NLM_F_DUMP) == NLM_F_DUMP && dump_reply(req)) return;
  if (req->nlmsg_type == GENL_ID_CTRL) {
    struct nlmsghdr* h = (struct nlmsghdr*)reply;
    h->nlmsg_type = GENL_ID_CTRL;
    h->nlmsg_seq = req->nlmsg_seq;
    reply_len = NLMSG_HDRLEN + GENL_HDRLEN;
    ((struct genlmsghdr*)(reply + NLMSG_HDRLEN))->cmd = CTRL_CMD_NEWFAMILY;
    unsigned short id = FAKE_FAMILY;
    put_attr(CTRL_ATTR_FAMILY_ID, &id, sizeof id);
    put_attr(CTRL_ATTR_FAMILY_NAME, "wireguard", 10);
    h->nlmsg_len = reply_len;
  }
  struct nlmsghdr* ack = (struct nlmsghdr*)(reply + reply_len);
  ack->nlmsg_type = NLMSG_ERROR;
  ack->nlmsg_seq = req->nlmsg_seq;
  ack->nlmsg_len = NLMSG_HDRLEN + sizeof(struct nlmsgerr);
  memcpy(&((struct nlmsgerr*)NLMSG_DATA(ack))->msg, req, sizeof *req);
  reply_len += ack->nlmsg_len;
}

ssize_t sendto(int fd, const void* buf, size_t len, int flags, const struct sockaddr* dst, socklen_t dl) {
  REAL(sendto, ssize_t, int, const void*, size_t, int, const struct sockaddr*, socklen_t);
  if (fd != fake_fd) return real_sendto(fd, buf, len, flags, dst, dl);
  const char* path = getenv("WG_CAPTURE");
  FILE* f = path ? fopen(path, "a") : NULL;
  if (f) {
    for (size_t i = 0; i < len; i++) fprintf(f, "%02x", ((const unsigned char*)buf)[i]);
    fputc('\n', f);
    fclose(f);
  }
  answer((const struct nlmsghdr*)buf);
  return (ssize_t)len;
}

ssize_t recvmsg(int fd, struct msghdr* msg, int flags) {
  REAL(recvmsg, ssize_t, int, struct msghdr*, int);
  if (fd != fake_fd) return real_recvmsg(fd, msg, flags);
  size_t n = reply_len < msg->msg_iov[0].iov_len ? reply_len : msg->msg_iov[0].iov_len;
  memcpy(msg->msg_iov[0].iov_base, reply, n);
  if (msg->msg_name) {
    struct sockaddr_nl nl = {.nl_family = AF_NETLINK};
    memcpy(msg->msg_name, &nl, sizeof nl);
    msg->msg_namelen = sizeof nl;
  }
  msg->msg_flags = 0;
  return (ssize_t)n;
}
