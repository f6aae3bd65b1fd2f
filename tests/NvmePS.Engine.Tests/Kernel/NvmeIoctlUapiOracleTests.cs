using System.Buffers.Binary;
using NvmePS.Engine.Kernel;
using NvmePS.Engine.Tests.Mi.Oracle;

namespace NvmePS.Engine.Tests.Kernel;

/// <summary>
/// The C compiler as the oracle for the NVMe passthrough uapi: tests/oracle/kernel/nvme_ioctl_uapi.c prints
/// sizeof/offsetof of nvme_passthru_cmd64 and nvme_passthru_cmd and the ioctl numbers from the installed
/// linux/nvme_ioctl.h; the engine's writer and constants must agree.
/// </summary>
public sealed class NvmeIoctlUapiOracleTests
{
    private static readonly Lazy<Dictionary<string, long>> Layout = new(() => UapiLayoutOracle.Read("kernel/nvme_ioctl_uapi.c", "-Wall", "-Werror"), LazyThreadSafetyMode.ExecutionAndPublication);

    private static void Same(Dictionary<string, long> c, string key, long ours) => Assert.True(c[key] == ours, $"{key}: linux/nvme_ioctl.h says {c[key]}, the engine uses {ours}");

    [UapiOracleFact("linux/nvme_ioctl.h", "The NVMe ioctl uapi oracle")]
    public void Passthru_cmd64_layout_and_ioctl_numbers_match_the_kernel_header()
    {
        var c = Layout.Value;
        Same(c, "sizeof_nvme_passthru_cmd64", NvmePassthruCommand.Size);
        Same(c, "sizeof_nvme_passthru_cmd", NvmePassthruCommand.LegacySize);
        Same(c, "off_nvme_passthru_cmd64_opcode", NvmePassthruCommand.OpcodeOffset);
        Same(c, "off_nvme_passthru_cmd64_flags", NvmePassthruCommand.FlagsOffset);
        Same(c, "off_nvme_passthru_cmd64_nsid", NvmePassthruCommand.NsidOffset);
        Same(c, "off_nvme_passthru_cmd64_cdw2", NvmePassthruCommand.Cdw2Offset);
        Same(c, "off_nvme_passthru_cmd64_cdw3", NvmePassthruCommand.Cdw3Offset);
        Same(c, "off_nvme_passthru_cmd64_metadata", NvmePassthruCommand.MetadataOffset);
        Same(c, "off_nvme_passthru_cmd64_addr", NvmePassthruCommand.AddrOffset);
        Same(c, "off_nvme_passthru_cmd64_metadata_len", NvmePassthruCommand.MetadataLenOffset);
        Same(c, "off_nvme_passthru_cmd64_data_len", NvmePassthruCommand.DataLenOffset);
        Same(c, "off_nvme_passthru_cmd64_cdw10", NvmePassthruCommand.Cdw10Offset);
        Same(c, "off_nvme_passthru_cmd64_cdw15", NvmePassthruCommand.Cdw10Offset + 20);
        Same(c, "off_nvme_passthru_cmd64_timeout_ms", NvmePassthruCommand.TimeoutMsOffset);
        Same(c, "off_nvme_passthru_cmd64_result", NvmePassthruCommand.ResultOffset);
        Same(c, "off_nvme_passthru_cmd_result", NvmePassthruCommand.LegacyResultOffset);
        Same(c, "NVME_IOCTL_ID", NvmePassthruCommand.IoctlId);
        Same(c, "NVME_IOCTL_ADMIN_CMD", NvmePassthruCommand.IoctlAdminCmd);
        Same(c, "NVME_IOCTL_IO_CMD", NvmePassthruCommand.IoctlIoCmd);
        Same(c, "NVME_IOCTL_RESET", NvmePassthruCommand.IoctlReset);
        Same(c, "NVME_IOCTL_RESCAN", NvmePassthruCommand.IoctlRescan);
        Same(c, "NVME_IOCTL_ADMIN64_CMD", NvmePassthruCommand.IoctlAdmin64Cmd);
        Same(c, "NVME_IOCTL_IO64_CMD", NvmePassthruCommand.IoctlIo64Cmd);
    }

    [UapiOracleFact("linux/nvme_ioctl.h", "The NVMe ioctl uapi oracle")]
    public void The_writer_puts_every_field_where_the_compiler_does_in_both_forms()
    {
        var c = Layout.Value;
        var cmd = new NvmeCommand { Opcode = 0x06, Nsid = 0x01020304, Cdw2 = 0x11111111, Cdw3 = 0x22222222, Cdw10 = 0xA0A0A0A0, Cdw11 = 0xB1, Cdw12 = 0xC2, Cdw13 = 0xD3, Cdw14 = 0xE4, Cdw15 = 0xF5F5F5F5 };
        var arg = NvmePassthruCommand.From(cmd, 0x00007F0011223344, 4096, 2500);
        foreach (bool legacy in new[] { false, true })
        {
            string t = legacy ? "nvme_passthru_cmd" : "nvme_passthru_cmd64";
            byte[] b = Enumerable.Repeat((byte)0xCC, NvmePassthruCommand.Size).ToArray();
            arg.WriteTo(b, legacy);
            Assert.Equal(0x06, b[c["off_nvme_passthru_cmd64_opcode"]]);
            Assert.Equal(0, b[c["off_nvme_passthru_cmd64_flags"]]); // the kernel refuses any flag with EINVAL
            Assert.Equal(0x01020304u, BinaryPrimitives.ReadUInt32LittleEndian(b.AsSpan((int)c["off_nvme_passthru_cmd64_nsid"])));
            Assert.Equal(0x11111111u, BinaryPrimitives.ReadUInt32LittleEndian(b.AsSpan((int)c["off_nvme_passthru_cmd64_cdw2"])));
            Assert.Equal(0x22222222u, BinaryPrimitives.ReadUInt32LittleEndian(b.AsSpan((int)c["off_nvme_passthru_cmd64_cdw3"])));
            Assert.Equal(0x00007F0011223344ul, BinaryPrimitives.ReadUInt64LittleEndian(b.AsSpan((int)c["off_nvme_passthru_cmd64_addr"])));
            Assert.Equal(4096u, BinaryPrimitives.ReadUInt32LittleEndian(b.AsSpan((int)c["off_nvme_passthru_cmd64_data_len"])));
            Assert.Equal(0xA0A0A0A0u, BinaryPrimitives.ReadUInt32LittleEndian(b.AsSpan((int)c["off_nvme_passthru_cmd64_cdw10"])));
            Assert.Equal(0xF5F5F5F5u, BinaryPrimitives.ReadUInt32LittleEndian(b.AsSpan((int)c["off_nvme_passthru_cmd64_cdw15"])));
            Assert.Equal(2500u, BinaryPrimitives.ReadUInt32LittleEndian(b.AsSpan((int)c["off_nvme_passthru_cmd64_timeout_ms"])));
            int size = (int)c["sizeof_" + t];
            // Nothing past the structure is touched; the result field starts zeroed.
            Assert.All(b.Skip(size), x => Assert.Equal(0xCC, x));
            Assert.Equal(0ul, NvmePassthruCommand.ReadResult(b, legacy));
        }
    }
}
