// SPDX-License-Identifier: MIT
/*
 * mctp_uapi: prints the layout of the Linux AF_MCTP uapi (include/uapi/linux/mctp.h, as installed in
 * /usr/include/linux/mctp.h) so NvmePS's tests can compare its P/Invoke structs and constants with the C compiler's.
 * Output: one "name=value" per line. Built by the test at run time with cc; never committed as a binary.
 */
#include <stddef.h>
#include <stdio.h>
#include <sys/socket.h>
#include <linux/sockios.h>
#include <linux/mctp.h>

#define P(name, value) printf("%s=%ld\n", name, (long)(value))

int main(void)
{
	P("AF_MCTP", AF_MCTP);
	P("SOL_MCTP", SOL_MCTP);
	P("sizeof_sockaddr_mctp", sizeof(struct sockaddr_mctp));
	P("off_smctp_family", offsetof(struct sockaddr_mctp, smctp_family));
	P("off_smctp_network", offsetof(struct sockaddr_mctp, smctp_network));
	P("off_smctp_addr", offsetof(struct sockaddr_mctp, smctp_addr));
	P("off_smctp_type", offsetof(struct sockaddr_mctp, smctp_type));
	P("off_smctp_tag", offsetof(struct sockaddr_mctp, smctp_tag));
	P("sizeof_sockaddr_mctp_ext", sizeof(struct sockaddr_mctp_ext));
	P("off_smctp_ifindex", offsetof(struct sockaddr_mctp_ext, smctp_ifindex));
	P("off_smctp_halen", offsetof(struct sockaddr_mctp_ext, smctp_halen));
	P("off_smctp_haddr", offsetof(struct sockaddr_mctp_ext, smctp_haddr));
	P("MAX_ADDR_LEN", sizeof(((struct sockaddr_mctp_ext *)0)->smctp_haddr));
	P("MCTP_NET_ANY", MCTP_NET_ANY);
	P("MCTP_ADDR_ANY", MCTP_ADDR_ANY);
	P("MCTP_TAG_MASK", MCTP_TAG_MASK);
	P("MCTP_TAG_OWNER", MCTP_TAG_OWNER);
	P("MCTP_TAG_PREALLOC", MCTP_TAG_PREALLOC);
	P("MCTP_OPT_ADDR_EXT", MCTP_OPT_ADDR_EXT);
	P("SIOCPROTOPRIVATE", SIOCPROTOPRIVATE);
	P("SIOCMCTPALLOCTAG", SIOCMCTPALLOCTAG);
	P("SIOCMCTPDROPTAG", SIOCMCTPDROPTAG);
	P("sizeof_mctp_ioc_tag_ctl", sizeof(struct mctp_ioc_tag_ctl));
	P("off_ctl_peer_addr", offsetof(struct mctp_ioc_tag_ctl, peer_addr));
	P("off_ctl_tag", offsetof(struct mctp_ioc_tag_ctl, tag));
	P("off_ctl_flags", offsetof(struct mctp_ioc_tag_ctl, flags));
#ifdef SIOCMCTPALLOCTAG2
	P("SIOCMCTPALLOCTAG2", SIOCMCTPALLOCTAG2);
	P("SIOCMCTPDROPTAG2", SIOCMCTPDROPTAG2);
	P("sizeof_mctp_ioc_tag_ctl2", sizeof(struct mctp_ioc_tag_ctl2));
	P("off_ctl2_net", offsetof(struct mctp_ioc_tag_ctl2, net));
	P("off_ctl2_peer_addr", offsetof(struct mctp_ioc_tag_ctl2, peer_addr));
	P("off_ctl2_local_addr", offsetof(struct mctp_ioc_tag_ctl2, local_addr));
	P("off_ctl2_flags", offsetof(struct mctp_ioc_tag_ctl2, flags));
	P("off_ctl2_tag", offsetof(struct mctp_ioc_tag_ctl2, tag));
#endif
	return 0;
}
