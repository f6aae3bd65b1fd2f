// SPDX-License-Identifier: MIT
/*
 * mi_oracle: drives Debian's libnvme-mi (1.3) as an independent NVMe-MI encoder/decoder for NvmePS's tests.
 *
 * libnvme-mi only talks AF_MCTP, which this host's kernel may lack. This program interposes the libc calls libnvme-mi
 * makes on its MCTP socket (socket, sendmsg, recvmsg, poll, ioctl) — definitions in the executable, exported with
 * -rdynamic, win symbol resolution over libc — and carries each MCTP message over a unix stream socket to the test
 * process (path in NVMEPS_ORACLE_SOCK), which answers with NvmePS's simulator:
 *
 *   to the test:   [u32 len][u8 kind=0][u32 net][u8 eid][u8 tag][message: MCTP type byte (smctp_type), then body]
 *                  [u32 len][u8 kind=1][command name]            -- a marker before each libnvme call
 *   from the test: [u32 len][message: MCTP type byte, then body] -- one response per request
 *
 * Decoded results go to stdout, one line per command: "<name> rc=<rc> key=value ...". Built by the test at run
 * time with cc into a temporary directory: cc -O0 -rdynamic mi_oracle.c -lnvme-mi -ldl.
 */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <errno.h>
#include <poll.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <libnvme-mi.h>

#ifndef AF_MCTP
#define AF_MCTP 45
#endif

/* struct sockaddr_mctp, include/uapi/linux/mctp.h */
struct oracle_sockaddr_mctp {
	unsigned short smctp_family;
	uint16_t pad0;
	unsigned int smctp_network;
	uint8_t smctp_addr;
	uint8_t smctp_type;
	uint8_t smctp_tag;
	uint8_t pad1;
};

static int mctp_fd = -1;
static unsigned int next_tag;

static ssize_t write_all(int fd, const void *buf, size_t len)
{
	const uint8_t *p = buf;
	size_t done = 0;
	while (done < len) {
		ssize_t n = write(fd, p + done, len - done);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			return -1;
		}
		done += (size_t)n;
	}
	return (ssize_t)done;
}

static ssize_t read_all(int fd, void *buf, size_t len)
{
	uint8_t *p = buf;
	size_t done = 0;
	while (done < len) {
		ssize_t n = read(fd, p + done, len - done);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			return -1;
		}
		if (n == 0)
			return -1;
		done += (size_t)n;
	}
	return (ssize_t)done;
}

static void put_u32(uint8_t *p, uint32_t v)
{
	p[0] = v; p[1] = v >> 8; p[2] = v >> 16; p[3] = v >> 24;
}

static void marker(const char *name)
{
	uint8_t hdr[5];
	size_t n = strlen(name);
	put_u32(hdr, (uint32_t)(1 + n));
	hdr[4] = 1;
	if (mctp_fd >= 0) {
		write_all(mctp_fd, hdr, sizeof(hdr));
		write_all(mctp_fd, name, n);
	}
}

int socket(int domain, int type, int protocol)
{
	static int (*real_socket)(int, int, int);
	if (!real_socket)
		real_socket = (int (*)(int, int, int))dlsym(RTLD_NEXT, "socket");
	if (domain != AF_MCTP)
		return real_socket(domain, type, protocol);

	const char *path = getenv("NVMEPS_ORACLE_SOCK");
	if (!path) {
		errno = EAFNOSUPPORT;
		return -1;
	}
	int fd = real_socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -1;
	struct sockaddr_un sun;
	memset(&sun, 0, sizeof(sun));
	sun.sun_family = AF_UNIX;
	strncpy(sun.sun_path, path, sizeof(sun.sun_path) - 1);
	if (connect(fd, (struct sockaddr *)&sun, sizeof(sun)) < 0) {
		close(fd);
		return -1;
	}
	mctp_fd = fd;
	return fd;
}

ssize_t sendmsg(int fd, const struct msghdr *msg, int flags)
{
	static ssize_t (*real_sendmsg)(int, const struct msghdr *, int);
	if (!real_sendmsg)
		real_sendmsg = (ssize_t (*)(int, const struct msghdr *, int))dlsym(RTLD_NEXT, "sendmsg");
	if (fd != mctp_fd)
		return real_sendmsg(fd, msg, flags);

	const struct oracle_sockaddr_mctp *addr = msg->msg_name;
	size_t body = 0;
	for (size_t i = 0; i < msg->msg_iovlen; i++)
		body += msg->msg_iov[i].iov_len;
	uint8_t *frame = malloc(4 + 1 + 4 + 1 + 1 + 1 + body);
	if (!frame) {
		errno = ENOMEM;
		return -1;
	}
	put_u32(frame, (uint32_t)(1 + 4 + 1 + 1 + 1 + body));
	frame[4] = 0;
	put_u32(frame + 5, addr ? addr->smctp_network : 0);
	frame[9] = addr ? addr->smctp_addr : 0;
	frame[10] = addr ? addr->smctp_tag : 0;
	frame[11] = addr ? addr->smctp_type : 0; /* the kernel sends smctp_type as the message's first byte */
	size_t off = 12;
	for (size_t i = 0; i < msg->msg_iovlen; i++) {
		memcpy(frame + off, msg->msg_iov[i].iov_base, msg->msg_iov[i].iov_len);
		off += msg->msg_iov[i].iov_len;
	}
	ssize_t rc = write_all(fd, frame, off);
	free(frame);
	return rc < 0 ? -1 : (ssize_t)body;
}

ssize_t recvmsg(int fd, struct msghdr *msg, int flags)
{
	static ssize_t (*real_recvmsg)(int, struct msghdr *, int);
	if (!real_recvmsg)
		real_recvmsg = (ssize_t (*)(int, struct msghdr *, int))dlsym(RTLD_NEXT, "recvmsg");
	if (fd != mctp_fd)
		return real_recvmsg(fd, msg, flags);

	uint8_t hdr[4];
	if (read_all(fd, hdr, 4) < 0) {
		errno = EIO;
		return -1;
	}
	uint32_t len = hdr[0] | hdr[1] << 8 | hdr[2] << 16 | (uint32_t)hdr[3] << 24;
	if (len < 1 || len > 65536) {
		errno = EIO;
		return -1;
	}
	uint8_t *buf = malloc(len);
	if (!buf || read_all(fd, buf, len) < 0) {
		free(buf);
		errno = EIO;
		return -1;
	}
	/* AF_MCTP strips the type byte into smctp_type; the body goes into the iovecs. */
	size_t body = len - 1, off = 0;
	for (size_t i = 0; i < msg->msg_iovlen && off < body; i++) {
		size_t n = msg->msg_iov[i].iov_len;
		if (n > body - off)
			n = body - off;
		memcpy(msg->msg_iov[i].iov_base, buf + 1 + off, n);
		off += n;
	}
	if (msg->msg_name && msg->msg_namelen >= sizeof(struct oracle_sockaddr_mctp)) {
		struct oracle_sockaddr_mctp *a = msg->msg_name;
		a->smctp_type = buf[0];
		a->smctp_tag &= 0x7; /* response: TO clear */
		msg->msg_namelen = sizeof(*a);
	}
	free(buf);
	return (flags & MSG_TRUNC) ? (ssize_t)body : (ssize_t)off;
}

/* Tag ioctls: SIOCMCTPALLOCTAG (0x89E0) hands out a preallocated tag, SIOCMCTPDROPTAG (0x89E1) accepts it. */
int ioctl(int fd, unsigned long request, ...)
{
	static int (*real_ioctl)(int, unsigned long, ...);
	va_list ap;
	va_start(ap, request);
	void *arg = va_arg(ap, void *);
	va_end(ap);
	if (!real_ioctl)
		real_ioctl = (int (*)(int, unsigned long, ...))dlsym(RTLD_NEXT, "ioctl");
	if (fd != mctp_fd)
		return real_ioctl(fd, request, arg);
	uint8_t *ctl = arg;
	if (request == 0x89E0) {
		ctl[1] = 0x18 | (next_tag++ & 7); /* MCTP_TAG_PREALLOC | MCTP_TAG_OWNER | tag */
		return 0;
	}
	if (request == 0x89E1)
		return 0;
	errno = ENOTTY;
	return -1;
}

static void hex(const char *key, const void *p, size_t n)
{
	const uint8_t *b = p;
	printf(" %s=", key);
	for (size_t i = 0; i < n; i++)
		printf("%02x", b[i]);
}

static void str(const char *key, const char *s, size_t n)
{
	/* fixed-width ASCII field, trailing spaces trimmed */
	while (n > 0 && (s[n - 1] == ' ' || s[n - 1] == '\0'))
		n--;
	printf(" %s=", key);
	for (size_t i = 0; i < n; i++)
		putchar(s[i] == ' ' ? '_' : s[i]);
}

static int run(nvme_mi_ep_t ep, nvme_mi_ctrl_t ctrl, const char *cmd)
{
	int rc = -2;
	marker(cmd);
	printf("%s", cmd);

	if (!strcmp(cmd, "read_subsys")) {
		struct nvme_mi_read_nvm_ss_info s;
		memset(&s, 0, sizeof(s));
		rc = nvme_mi_mi_read_mi_data_subsys(ep, &s);
		printf(" rc=%d nump=%u mjr=%u mnr=%u", rc, s.nump, s.mjr, s.mnr);
	} else if (!strcmp(cmd, "read_port0") || !strcmp(cmd, "read_port1")) {
		struct nvme_mi_read_port_info p;
		memset(&p, 0, sizeof(p));
		rc = nvme_mi_mi_read_mi_data_port(ep, cmd[9] - '0', &p);
		printf(" rc=%d portt=%u mmctptus=%u meb=%u", rc, p.portt, p.mmctptus, p.meb);
		hex("raw", &p, sizeof(p));
	} else if (!strcmp(cmd, "read_ctrl_list")) {
		struct nvme_ctrl_list l;
		memset(&l, 0, sizeof(l));
		rc = nvme_mi_mi_read_mi_data_ctrl_list(ep, 0, &l);
		printf(" rc=%d num=%u", rc, l.num);
		for (unsigned i = 0; i < l.num && i < 8; i++)
			printf(" id%u=%u", i, l.identifier[i]);
	} else if (!strcmp(cmd, "read_ctrl1")) {
		struct nvme_mi_read_ctrl_info c;
		memset(&c, 0, sizeof(c));
		rc = nvme_mi_mi_read_mi_data_ctrl(ep, 1, &c);
		printf(" rc=%d portid=%u prii=%u pri=%u vid=%u did=%u ssvid=%u ssid=%u", rc, c.portid, c.prii, c.pri, c.vid, c.did,
		       c.ssvid, c.ssid);
	} else if (!strncmp(cmd, "shsp", 4)) {
		/* shsp, shsp_<anything>: poll; with "clear" in the name, CS=1 */
		struct nvme_mi_nvm_ss_health_status h;
		memset(&h, 0, sizeof(h));
		rc = nvme_mi_mi_subsystem_health_status_poll(ep, strstr(cmd, "clear") != NULL, &h);
		printf(" rc=%d nss=%u sw=%u ctemp=%u pdlu=%u ccs=%u", rc, h.nss, h.sw, h.ctemp, h.pdlu, h.ccs);
	} else if (!strcmp(cmd, "cfg_get_freq")) {
		enum nvme_mi_config_smbus_freq f = 0;
		rc = nvme_mi_mi_config_get_smbus_freq(ep, 1, &f);
		printf(" rc=%d freq=%u", rc, (unsigned)f);
	} else if (!strcmp(cmd, "cfg_set_freq")) {
		rc = nvme_mi_mi_config_set_smbus_freq(ep, 1, NVME_MI_CONFIG_SMBUS_FREQ_400kHz);
		printf(" rc=%d", rc);
	} else if (!strcmp(cmd, "cfg_get_mtu")) {
		uint16_t mtu = 0;
		rc = nvme_mi_mi_config_get_mctp_mtu(ep, 1, &mtu);
		printf(" rc=%d mtu=%u", rc, mtu);
	} else if (!strcmp(cmd, "cfg_set_mtu")) {
		rc = nvme_mi_mi_config_set_mctp_mtu(ep, 1, 128);
		printf(" rc=%d", rc);
	} else if (!strcmp(cmd, "cfg_set_hsc")) {
		/* libnvme documents the mask in enum nvme_mi_ccs positions */
		rc = nvme_mi_mi_config_set_health_status_change(ep, NVME_MI_CCS_NSSRO | NVME_MI_CCS_CTEMP);
		printf(" rc=%d", rc);
	} else if (!strcmp(cmd, "id_ctrl")) {
		struct nvme_id_ctrl id;
		memset(&id, 0, sizeof(id));
		rc = nvme_mi_admin_identify_ctrl(ctrl, &id);
		printf(" rc=%d vid=%u ssvid=%u cntlid=%u ver=%u oacs=%u nn=%u wctemp=%u cctemp=%u", rc, id.vid, id.ssvid, id.cntlid,
		       id.ver, id.oacs, id.nn, id.wctemp, id.cctemp);
		str("sn", id.sn, sizeof(id.sn));
		str("mn", id.mn, sizeof(id.mn));
		str("fr", id.fr, sizeof(id.fr));
	} else if (!strcmp(cmd, "id_ns1")) {
		struct nvme_id_ns ns;
		memset(&ns, 0, sizeof(ns));
		rc = nvme_mi_admin_identify_ns(ctrl, 1, &ns);
		printf(" rc=%d nsze=%llu ncap=%llu nlbaf=%u flbas=%u", rc, (unsigned long long)ns.nsze,
		       (unsigned long long)ns.ncap, ns.nlbaf, ns.flbas);
	} else if (!strcmp(cmd, "log_err_8196") || !strcmp(cmd, "log_smart")) {
		size_t len = cmd[4] == 'e' ? 8196 : 512;
		uint8_t *buf = calloc(1, len);
		__u32 result = 0;
		struct nvme_get_log_args args = {
			.args_size = sizeof(args),
			.lid = cmd[4] == 'e' ? NVME_LOG_LID_ERROR : NVME_LOG_LID_SMART,
			.nsid = NVME_NSID_ALL,
			.log = buf,
			.len = (__u32)len,
			.result = &result,
			.csi = NVME_CSI_NVM,
		};
		rc = nvme_mi_admin_get_log(ctrl, &args);
		printf(" rc=%d", rc);
		hex("data", buf, len);
		free(buf);
	} else if (!strcmp(cmd, "get_feat_temp")) {
		__u32 result = 0;
		struct nvme_get_features_args args = {
			.args_size = sizeof(args),
			.fid = NVME_FEAT_FID_TEMP_THRESH,
			.sel = NVME_GET_FEATURES_SEL_CURRENT,
			.result = &result,
		};
		rc = nvme_mi_admin_get_features(ctrl, &args);
		printf(" rc=%d result=%u", rc, result);
	} else if (!strcmp(cmd, "set_feat_temp")) {
		__u32 result = 0;
		struct nvme_set_features_args args = {
			.args_size = sizeof(args),
			.fid = NVME_FEAT_FID_TEMP_THRESH,
			.cdw11 = 350,
			.result = &result,
		};
		rc = nvme_mi_admin_set_features(ctrl, &args);
		printf(" rc=%d result=%u", rc, result);
	} else if (!strcmp(cmd, "fw_download")) {
		uint8_t img[512];
		memset(img, 0x5a, sizeof(img));
		memcpy(img, "NVMEPSFW", 8);
		struct nvme_fw_download_args args = {
			.args_size = sizeof(args),
			.offset = 0,
			.data_len = sizeof(img),
			.data = img,
		};
		rc = nvme_mi_admin_fw_download(ctrl, &args);
		printf(" rc=%d", rc);
	} else if (!strcmp(cmd, "security_recv")) {
		uint8_t buf[256];
		memset(buf, 0, sizeof(buf));
		struct nvme_security_receive_args args = {
			.args_size = sizeof(args),
			.secp = 0,
			.spsp0 = 0,
			.spsp1 = 0,
			.al = sizeof(buf),
			.data_len = sizeof(buf),
			.data = buf,
		};
		rc = nvme_mi_admin_security_recv(ctrl, &args);
		printf(" rc=%d", rc);
		hex("data", buf, 16);
	} else if (!strcmp(cmd, "id_ctrl_partial")) {
		/* Identify Controller bytes 256..767: DOFST 256, DLEN 512 (flags DLV|DOV) */
		uint8_t buf[512];
		memset(buf, 0, sizeof(buf));
		struct nvme_identify_args args = {
			.args_size = sizeof(args),
			.cns = NVME_IDENTIFY_CNS_CTRL,
			.nsid = NVME_NSID_NONE,
			.cntid = NVME_CNTLID_NONE,
			.cns_specific_id = NVME_CNSSPECID_NONE,
			.csi = NVME_CSI_NVM,
			.data = buf,
		};
		rc = nvme_mi_admin_identify_partial(ctrl, &args, 256, sizeof(buf));
		printf(" rc=%d", rc);
		hex("data", buf, sizeof(buf));
	} else if (!strcmp(cmd, "format_ns1")) {
		/* a slow command: the simulator answers More Processing Required first */
		__u32 result = 0;
		struct nvme_format_nvm_args args = {
			.args_size = sizeof(args),
			.nsid = 1,
			.lbaf = 0,
			.result = &result,
		};
		rc = nvme_mi_admin_format_nvm(ctrl, &args);
		printf(" rc=%d", rc);
	} else if (!strcmp(cmd, "ns_detach1_ctrl2")) {
		struct nvme_ctrl_list list;
		memset(&list, 0, sizeof(list));
		list.num = 1;
		list.identifier[0] = 2;
		struct nvme_ns_attach_args args = {
			.args_size = sizeof(args),
			.nsid = 1,
			.sel = NVME_NS_ATTACH_SEL_CTRL_DEATTACH,
			.ctrlist = &list,
		};
		rc = nvme_mi_admin_ns_attach(ctrl, &args);
		printf(" rc=%d", rc);
	} else if (!strcmp(cmd, "bad_opcode_admin")) {
		/* opcode 0xC0 (vendor specific, no data): the simulator answers an NVMe error in CQE DW3; libnvme returns
		 * the status field (DW3 >> 17: SC, SCT, CRD, MORE, DNR) */
		__u32 result = 0;
		rc = nvme_mi_admin_admin_passthru(ctrl, 0xC0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, NULL, 0, NULL, 0, &result);
		printf(" rc=%d", rc);
	} else if (!strcmp(cmd, "status_strings")) {
		/* which MI status values libnvme names (K) and which it calls "Unknown status" (U); no exchange */
		rc = 0;
		printf(" rc=0 known=");
		for (int st = 0; st < 256; st++) {
			const char *name = nvme_mi_status_to_string(st);
			if (name && strcmp(name, "Unknown status"))
				printf("%02x,", st);
		}
	} else {
		printf(" rc=unknown");
	}
	printf("\n");
	fflush(stdout);
	return rc;
}

int main(int argc, char **argv)
{
	if (argc < 2) {
		fprintf(stderr, "usage: %s <command>...\n", argv[0]);
		return 2;
	}
	nvme_root_t root = nvme_mi_create_root(stderr, 7 /* LOG_DEBUG: the reason for every rejection goes to stderr */);
	if (!root)
		return 3;
	/* no quirk probe: every exchange is one the test asked for */
	nvme_mi_set_probe_enabled(root, false);
	nvme_mi_ep_t ep = nvme_mi_open_mctp(root, 1, 0x1D);
	if (!ep) {
		fprintf(stderr, "nvme_mi_open_mctp failed: %s\n", strerror(errno));
		return 4;
	}
	nvme_mi_ep_set_timeout(ep, 5000);
	nvme_mi_ctrl_t ctrl = nvme_mi_init_ctrl(ep, 1);
	for (int i = 1; i < argc; i++)
		run(ep, ctrl, argv[i]);
	nvme_mi_close(ep);
	nvme_mi_free_root(root);
	return 0;
}
