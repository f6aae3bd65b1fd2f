/*
 * libnvme-mi-client: Debian's libnvme-mi (libnvme1) as a second, independent NVMe-MI client. The interop tests run
 * it inside the VM against our simulated endpoint over the kernel's AF_MCTP and compare every field with what our
 * own client read.
 *   libnvme-mi-client NETID EID [CTRLID...]
 * CTRLIDs are used only when libnvme cannot read the Controller List: libnvme before 1.6 (Debian bookworm has 1.3)
 * rejects MI responses whose length is not a multiple of 4 with EPROTO, which the NVMe-MI spec allows (a Controller
 * List with an even number of entries; fixed upstream in libnvme PR #675). That case is reported as
 * ctrl_list.error=EPROTO and the given IDs are read one by one instead.
 * Prints key=value lines; exit 0 when every command succeeded, 1 on an MI failure, 3 when only the tunnelled
 * Identify failed (its status is printed).
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <endian.h>
#include <libnvme-mi.h>

static void field(const char *name, const char *s, int len)
{
	printf("%s=", name);
	for (int i = 0; i < len && s[i]; i++)
		putchar(s[i]);
	putchar('\n');
}

int main(int argc, char **argv)
{
	if (argc < 3) {
		fprintf(stderr, "usage: %s NETID EID\n", argv[0]);
		return 2;
	}
	unsigned int net = (unsigned int)strtoul(argv[1], NULL, 0);
	uint8_t eid = (uint8_t)strtoul(argv[2], NULL, 0);
	nvme_root_t root = nvme_mi_create_root(stderr, getenv("LIBNVME_MI_CLIENT_QUIET") ? LOG_WARNING : LOG_DEBUG);
	if (!root)
		return 1;
	/* No quirk probe at open: it runs under libnvme's 1 s default timeout, too short for software emulation, and
	 * its late answer would then be taken for the next command's. We set a longer timeout first. */
	nvme_mi_set_probe_enabled(root, false);
	nvme_mi_ep_t ep = nvme_mi_open_mctp(root, net, eid);
	if (!ep) {
		perror("nvme_mi_open_mctp");
		return 1;
	}
	if (nvme_mi_ep_set_timeout(ep, 10000))
		fprintf(stderr, "nvme_mi_ep_set_timeout: %s\n", strerror(errno));
	int rc;
	struct nvme_mi_read_nvm_ss_info ss;
	if ((rc = nvme_mi_mi_read_mi_data_subsys(ep, &ss))) {
		fprintf(stderr, "read_mi_data_subsys: %d (errno %d %s)\n", rc, errno, strerror(errno));
		return 1;
	}
	printf("subsys.nump=%u\nsubsys.mjr=%u\nsubsys.mnr=%u\n", ss.nump, ss.mjr, ss.mnr);

	for (int p = 0; p <= ss.nump && p < 8; p++) {
		struct nvme_mi_read_port_info pi;
		if ((rc = nvme_mi_mi_read_mi_data_port(ep, (uint8_t)p, &pi))) {
			fprintf(stderr, "read_mi_data_port %d: %d (errno %d %s)\n", p, rc, errno, strerror(errno));
			return 1;
		}
		printf("port%d.portt=%u\nport%d.mmctptus=%u\nport%d.meb=%u\n", p, pi.portt, p,
		       le16toh(pi.mmctptus), p, le32toh(pi.meb));
	}

	struct nvme_ctrl_list list;
	memset(&list, 0, sizeof(list));
	int n;
	if ((rc = nvme_mi_mi_read_mi_data_ctrl_list(ep, 0, &list))) {
		if (rc < 0 && errno == EPROTO && argc > 3) {
			printf("ctrl_list.error=EPROTO\n");
			n = 0;
			for (int a = 3; a < argc && n < 2047; a++)
				list.identifier[n++] = htole16((uint16_t)strtoul(argv[a], NULL, 0));
		} else {
			fprintf(stderr, "read_mi_data_ctrl_list: %d (errno %d %s)\n", rc, errno, strerror(errno));
			return 1;
		}
	} else {
		n = le16toh(list.num);
		printf("ctrl_list.num=%d\nctrl_list.ids=", n);
		for (int i = 0; i < n && i < 2047; i++)
			printf("%s%u", i ? "," : "", le16toh(list.identifier[i]));
		printf("\n");
	}

	for (int i = 0; i < n && i < 8; i++) {
		uint16_t id = le16toh(list.identifier[i]);
		struct nvme_mi_read_ctrl_info ci;
		if ((rc = nvme_mi_mi_read_mi_data_ctrl(ep, id, &ci))) {
			fprintf(stderr, "read_mi_data_ctrl %u: %d (errno %d %s)\n", id, rc, errno, strerror(errno));
			return 1;
		}
		printf("ctrl%u.portid=%u\nctrl%u.prii=%u\nctrl%u.pri=%u\nctrl%u.vid=%u\nctrl%u.did=%u\nctrl%u.ssvid=%u\nctrl%u.ssid=%u\n",
		       id, ci.portid, id, ci.prii, id, le16toh(ci.pri), id, le16toh(ci.vid), id, le16toh(ci.did),
		       id, le16toh(ci.ssvid), id, le16toh(ci.ssid));
	}

	struct nvme_mi_nvm_ss_health_status hs;
	if ((rc = nvme_mi_mi_subsystem_health_status_poll(ep, false, &hs))) {
		fprintf(stderr, "subsystem_health_status_poll: %d (errno %d %s)\n", rc, errno, strerror(errno));
		return 1;
	}
	printf("health.nss=%u\nhealth.sw=%u\nhealth.ctemp=%u\nhealth.pdlu=%u\nhealth.ccs=%u\n", hs.nss, hs.sw, hs.ctemp,
	       hs.pdlu, le16toh(hs.ccs));

	int status = 0;
	if (n > 0) {
		nvme_mi_ctrl_t ctrl = nvme_mi_init_ctrl(ep, le16toh(list.identifier[0]));
		struct nvme_id_ctrl idc;
		memset(&idc, 0, sizeof(idc));
		rc = nvme_mi_admin_identify_ctrl(ctrl, &idc);
		if (rc) {
			printf("identify.status=%d\n", rc);
			status = 3;
		} else {
			printf("identify.vid=%u\n", le16toh(idc.vid));
			field("identify.sn", idc.sn, sizeof(idc.sn));
			field("identify.mn", idc.mn, sizeof(idc.mn));
			field("identify.fr", idc.fr, sizeof(idc.fr));
			printf("identify.cntlid=%u\n", le16toh(idc.cntlid));
		}
	}
	nvme_mi_close(ep);
	nvme_mi_free_root(root);
	return status;
}
