/* Prints the layout of the NVMe passthrough ioctl argument and the ioctl numbers as the installed
 * linux/nvme_ioctl.h defines them, one key=value per line, for NvmeIoctlUapiOracleTests. */
#include <stddef.h>
#include <stdio.h>
#include <sys/ioctl.h>
#include <linux/nvme_ioctl.h>

#define SZ(t) printf("sizeof_" #t "=%zu\n", sizeof(struct t))
#define OFF(t, f) printf("off_" #t "_" #f "=%zu\n", offsetof(struct t, f))
#define NUM(n) printf(#n "=%lu\n", (unsigned long)(n))

int main(void)
{
    SZ(nvme_passthru_cmd64);
    SZ(nvme_passthru_cmd);
    OFF(nvme_passthru_cmd64, opcode);
    OFF(nvme_passthru_cmd64, flags);
    OFF(nvme_passthru_cmd64, nsid);
    OFF(nvme_passthru_cmd64, cdw2);
    OFF(nvme_passthru_cmd64, cdw3);
    OFF(nvme_passthru_cmd64, metadata);
    OFF(nvme_passthru_cmd64, addr);
    OFF(nvme_passthru_cmd64, metadata_len);
    OFF(nvme_passthru_cmd64, data_len);
    OFF(nvme_passthru_cmd64, cdw10);
    OFF(nvme_passthru_cmd64, cdw15);
    OFF(nvme_passthru_cmd64, timeout_ms);
    OFF(nvme_passthru_cmd64, result);
    OFF(nvme_passthru_cmd, result);
    NUM(NVME_IOCTL_ID);
    NUM(NVME_IOCTL_ADMIN_CMD);
    NUM(NVME_IOCTL_IO_CMD);
    NUM(NVME_IOCTL_RESET);
    NUM(NVME_IOCTL_RESCAN);
    NUM(NVME_IOCTL_ADMIN64_CMD);
    NUM(NVME_IOCTL_IO64_CMD);
    return 0;
}
