/*
 * mctp-util: the smallest tool that sets up and exercises Linux AF_MCTP inside the interop VM.
 * iproute2 has no MCTP support and CodeConstruct's `mctp` tool is not in Debian, so addresses
 * and routes go through rtnetlink here (RTM_NEWADDR / RTM_NEWROUTE with family AF_MCTP).
 *
 *   mctp-util addr add|del IFNAME EID
 *   mctp-util route add|del EID IFNAME [MTU]
 *   mctp-util echo-server TYPE COUNT          bind (any EID, TYPE), echo COUNT messages back
 *   mctp-util ping EID TYPE LEN [COUNT]       send LEN random bytes COUNT times, compare the echo
 *   mctp-util alloc-tag EID                   SIOCMCTPALLOCTAG then SIOCMCTPDROPTAG
 * Exit status 0 only when every step did what it says; errors name the step and errno.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <net/if.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/random.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>
#include <linux/netlink.h>
#include <linux/rtnetlink.h>
#include <linux/sockios.h>

#ifndef AF_MCTP
#define AF_MCTP 45
#endif
/* From include/uapi/linux/mctp.h (6.1); spelled out so the tool builds against any libc headers. */
struct sockaddr_mctp_ {
	unsigned short smctp_family;
	uint16_t pad0;
	unsigned int smctp_network;
	uint8_t smctp_addr;
	uint8_t smctp_type;
	uint8_t smctp_tag;
	uint8_t pad1;
};
struct mctp_ioc_tag_ctl_ {
	uint8_t peer_addr;
	uint8_t tag;
	uint16_t flags;
};
#define MCTP_ADDR_ANY_ 0xff
#define MCTP_TAG_OWNER_ 0x08
#define MCTP_TAG_PREALLOC_ 0x10
#define SIOCMCTPALLOCTAG_ (SIOCPROTOPRIVATE + 0)
#define SIOCMCTPDROPTAG_ (SIOCPROTOPRIVATE + 1)

static int fail(const char *what)
{
	fprintf(stderr, "mctp-util: %s: %s\n", what, strerror(errno));
	return 1;
}

static void addattr(struct nlmsghdr *n, int type, const void *data, int len)
{
	struct rtattr *rta = (struct rtattr *)((char *)n + NLMSG_ALIGN(n->nlmsg_len));
	rta->rta_type = type;
	rta->rta_len = RTA_LENGTH(len);
	memcpy(RTA_DATA(rta), data, len);
	n->nlmsg_len = NLMSG_ALIGN(n->nlmsg_len) + RTA_ALIGN(rta->rta_len);
}

/* Sends one request and waits for the kernel's ACK; returns 0 or sets errno from the NLMSG_ERROR. */
static int nl_talk(struct nlmsghdr *n)
{
	int fd = socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC, NETLINK_ROUTE);
	if (fd < 0)
		return -1;
	struct sockaddr_nl sa = { .nl_family = AF_NETLINK };
	n->nlmsg_flags |= NLM_F_REQUEST | NLM_F_ACK;
	n->nlmsg_seq = 1;
	if (sendto(fd, n, n->nlmsg_len, 0, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
		close(fd);
		return -1;
	}
	char buf[8192];
	ssize_t len = recv(fd, buf, sizeof(buf), 0);
	close(fd);
	if (len < 0)
		return -1;
	for (struct nlmsghdr *h = (struct nlmsghdr *)buf; NLMSG_OK(h, (unsigned)len); h = NLMSG_NEXT(h, len)) {
		if (h->nlmsg_type == NLMSG_ERROR) {
			struct nlmsgerr *e = NLMSG_DATA(h);
			if (e->error == 0)
				return 0;
			errno = -e->error;
			return -1;
		}
	}
	errno = EPROTO;
	return -1;
}

static int cmd_addr(int add, const char *ifname, int eid)
{
	struct { struct nlmsghdr n; struct ifaddrmsg ifa; char buf[64]; } req;
	memset(&req, 0, sizeof(req));
	unsigned idx = if_nametoindex(ifname);
	if (!idx)
		return fail("if_nametoindex");
	req.n.nlmsg_len = NLMSG_LENGTH(sizeof(struct ifaddrmsg));
	req.n.nlmsg_type = add ? RTM_NEWADDR : RTM_DELADDR;
	req.n.nlmsg_flags = add ? (NLM_F_CREATE | NLM_F_EXCL) : 0;
	req.ifa.ifa_family = AF_MCTP;
	req.ifa.ifa_index = idx;
	uint8_t e = (uint8_t)eid;
	addattr(&req.n, IFA_LOCAL, &e, 1);
	if (nl_talk(&req.n) < 0)
		return fail(add ? "RTM_NEWADDR" : "RTM_DELADDR");
	printf("mctp-util: %s EID %d on %s (ifindex %u)\n", add ? "added" : "removed", eid, ifname, idx);
	return 0;
}

static int cmd_route(int add, int eid, const char *ifname, unsigned mtu)
{
	struct { struct nlmsghdr n; struct rtmsg rt; char buf[128]; } req;
	memset(&req, 0, sizeof(req));
	unsigned idx = if_nametoindex(ifname);
	if (!idx)
		return fail("if_nametoindex");
	req.n.nlmsg_len = NLMSG_LENGTH(sizeof(struct rtmsg));
	req.n.nlmsg_type = add ? RTM_NEWROUTE : RTM_DELROUTE;
	req.n.nlmsg_flags = add ? (NLM_F_CREATE | NLM_F_EXCL) : 0;
	req.rt.rtm_family = AF_MCTP;
	req.rt.rtm_dst_len = 0; /* a range of one EID */
	req.rt.rtm_type = RTN_UNICAST;
	req.rt.rtm_table = RT_TABLE_DEFAULT;
	req.rt.rtm_protocol = RTPROT_STATIC;
	req.rt.rtm_scope = RT_SCOPE_LINK;
	uint8_t e = (uint8_t)eid;
	addattr(&req.n, RTA_DST, &e, 1);
	uint32_t oif = idx;
	addattr(&req.n, RTA_OIF, &oif, 4);
	if (add && mtu) {
		char m[16];
		struct rtattr *rta = (struct rtattr *)m;
		rta->rta_type = RTAX_MTU;
		rta->rta_len = RTA_LENGTH(4);
		memcpy(RTA_DATA(rta), &mtu, 4);
		addattr(&req.n, RTA_METRICS | NLA_F_NESTED, m, RTA_LENGTH(4));
	}
	if (nl_talk(&req.n) < 0)
		return fail(add ? "RTM_NEWROUTE" : "RTM_DELROUTE");
	printf("mctp-util: route %s EID %d via %s mtu %u\n", add ? "added" : "removed", eid, ifname, mtu);
	return 0;
}

static int mctp_socket(void)
{
	int fd = socket(AF_MCTP, SOCK_DGRAM, 0);
	if (fd < 0)
		fail("socket(AF_MCTP, SOCK_DGRAM, 0)");
	return fd;
}

static int cmd_echo_server(int type, int count)
{
	int fd = mctp_socket();
	if (fd < 0)
		return 1;
	struct sockaddr_mctp_ a = { .smctp_family = AF_MCTP, .smctp_network = 0,
				    .smctp_addr = MCTP_ADDR_ANY_, .smctp_type = (uint8_t)type };
	if (bind(fd, (struct sockaddr *)&a, sizeof(a)) < 0)
		return fail("bind");
	printf("mctp-util: echo server bound type 0x%02x\n", type);
	fflush(stdout);
	static uint8_t buf[65536];
	for (int i = 0; i < count; i++) {
		struct sockaddr_mctp_ from;
		socklen_t fl = sizeof(from);
		ssize_t n = recvfrom(fd, buf, sizeof(buf), 0, (struct sockaddr *)&from, &fl);
		if (n < 0)
			return fail("recvfrom");
		if (!(from.smctp_tag & MCTP_TAG_OWNER_)) {
			fprintf(stderr, "mctp-util: request without TO bit (tag 0x%x)\n", from.smctp_tag);
			return 1;
		}
		from.smctp_tag &= ~MCTP_TAG_OWNER_;
		if (sendto(fd, buf, n, 0, (struct sockaddr *)&from, sizeof(from)) != n)
			return fail("sendto (reply)");
	}
	close(fd);
	return 0;
}

static int cmd_ping(int eid, int type, int len, int count)
{
	int fd = mctp_socket();
	if (fd < 0)
		return 1;
	struct timeval tv = { .tv_sec = 10 };
	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	uint8_t *msg = malloc(len), *back = malloc(len + 1);
	for (int i = 0; i < count; i++) {
		if (getrandom(msg, len, 0) != len)
			return fail("getrandom");
		/* The first byte of an MCTP message carries IC + the message type; keep it = type. */
		msg[0] = (uint8_t)type;
		struct sockaddr_mctp_ to = { .smctp_family = AF_MCTP, .smctp_network = 0,
					     .smctp_addr = (uint8_t)eid, .smctp_type = (uint8_t)type,
					     .smctp_tag = MCTP_TAG_OWNER_ };
		if (sendto(fd, msg + 1, len - 1, 0, (struct sockaddr *)&to, sizeof(to)) != len - 1)
			return fail("sendto");
		struct sockaddr_mctp_ from;
		socklen_t fl = sizeof(from);
		ssize_t n = recvfrom(fd, back, len + 1, 0, (struct sockaddr *)&from, &fl);
		if (n < 0)
			return fail("recvfrom (echo)");
		if (n != len - 1 || memcmp(back, msg + 1, len - 1) != 0) {
			fprintf(stderr, "mctp-util: echo mismatch: sent %d bytes, got %zd\n", len - 1, n);
			return 1;
		}
		if (from.smctp_addr != eid || from.smctp_type != type || (from.smctp_tag & MCTP_TAG_OWNER_)) {
			fprintf(stderr, "mctp-util: reply from EID %d type %d tag 0x%x, expected EID %d type %d, TO clear\n",
				from.smctp_addr, from.smctp_type, from.smctp_tag, eid, type);
			return 1;
		}
		printf("mctp-util: ping %d: %d-byte message to EID %d (net %u) echoed back byte-identical\n",
		       i, len, eid, from.smctp_network);
	}
	return 0;
}

static int cmd_alloc_tag(int eid)
{
	int fd = mctp_socket();
	if (fd < 0)
		return 1;
	struct mctp_ioc_tag_ctl_ ctl = { .peer_addr = (uint8_t)eid };
	if (ioctl(fd, SIOCMCTPALLOCTAG_, &ctl) < 0)
		return fail("SIOCMCTPALLOCTAG");
	if ((ctl.tag & (MCTP_TAG_OWNER_ | MCTP_TAG_PREALLOC_)) != (MCTP_TAG_OWNER_ | MCTP_TAG_PREALLOC_)) {
		fprintf(stderr, "mctp-util: allocated tag 0x%x lacks TO|PREALLOC\n", ctl.tag);
		return 1;
	}
	printf("mctp-util: allocated tag 0x%x for EID %d\n", ctl.tag, eid);
	if (ioctl(fd, SIOCMCTPDROPTAG_, &ctl) < 0)
		return fail("SIOCMCTPDROPTAG");
	return 0;
}

int main(int argc, char **argv)
{
	if (argc >= 5 && !strcmp(argv[1], "addr"))
		return cmd_addr(!strcmp(argv[2], "add"), argv[3], atoi(argv[4]));
	if (argc >= 5 && !strcmp(argv[1], "route"))
		return cmd_route(!strcmp(argv[2], "add"), atoi(argv[3]), argv[4], argc > 5 ? (unsigned)atoi(argv[5]) : 0);
	if (argc >= 4 && !strcmp(argv[1], "echo-server"))
		return cmd_echo_server(strtol(argv[2], NULL, 0), atoi(argv[3]));
	if (argc >= 5 && !strcmp(argv[1], "ping"))
		return cmd_ping(atoi(argv[2]), strtol(argv[3], NULL, 0), atoi(argv[4]), argc > 5 ? atoi(argv[5]) : 1);
	if (argc >= 3 && !strcmp(argv[1], "alloc-tag"))
		return cmd_alloc_tag(atoi(argv[2]));
	fprintf(stderr, "usage: mctp-util addr add|del IF EID | route add|del EID IF [MTU] | echo-server TYPE N | ping EID TYPE LEN [N] | alloc-tag EID\n");
	return 2;
}
