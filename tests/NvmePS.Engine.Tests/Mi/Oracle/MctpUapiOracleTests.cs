using NvmePS.Engine.Mctp;

namespace NvmePS.Engine.Tests.Mi.Oracle;

/// <summary>
/// The C compiler as the oracle for the AF_MCTP uapi: tests/oracle/libnvme-mi/mctp_uapi.c prints sizeof/offsetof
/// of sockaddr_mctp, sockaddr_mctp_ext and mctp_ioc_tag_ctl(2) and the ioctl numbers from the installed
/// linux/mctp.h; this engine's struct writers and constants must agree. (SIOCMCTPALLOCTAG2 is compared only when
/// the installed header has it.)
/// </summary>
public sealed class MctpUapiOracleTests
{
    private static readonly Lazy<Dictionary<string, long>> Layout = new(() => UapiLayoutOracle.Read("libnvme-mi/mctp_uapi.c", "-Wall"), LazyThreadSafetyMode.ExecutionAndPublication);

    /// <summary>The compiler's value (expected) against this engine's constant (actual).</summary>
    private static void Same(Dictionary<string, long> c, string key, long ours) => Assert.True(c[key] == ours, $"{key}: linux/mctp.h says {c[key]}, the engine uses {ours}");

    [UapiOracleFact("linux/mctp.h", "The MCTP uapi oracle")]
    public void Sockaddr_mctp_layout_matches_the_kernel_header()
    {
        var c = Layout.Value;
        Same(c, "AF_MCTP", SockaddrMctp.AfMctp);
        Same(c, "AF_MCTP", MctpNative.AfMctp);
        Same(c, "sizeof_sockaddr_mctp", SockaddrMctp.Size);
        Same(c, "off_smctp_family", SockaddrMctp.FamilyOffset);
        Same(c, "off_smctp_network", SockaddrMctp.NetworkOffset);
        Same(c, "off_smctp_addr", SockaddrMctp.AddrOffset);
        Same(c, "off_smctp_type", SockaddrMctp.TypeOffset);
        Same(c, "off_smctp_tag", SockaddrMctp.TagOffset);
        Same(c, "MCTP_NET_ANY", SockaddrMctp.NetAny);
        Same(c, "MCTP_ADDR_ANY", SockaddrMctp.AddrAny);
        Same(c, "MCTP_TAG_MASK", SockaddrMctp.TagMask);
        Same(c, "MCTP_TAG_OWNER", SockaddrMctp.TagOwner);
        Same(c, "MCTP_TAG_PREALLOC", SockaddrMctp.TagPrealloc);

        // The writer puts every field where the compiler does.
        byte[] b = new byte[SockaddrMctp.Size];
        new SockaddrMctp(0x01020304, 0x1D, 0x84, 0x18).WriteTo(b);
        Assert.Equal(45, b[c["off_smctp_family"]] | (b[c["off_smctp_family"] + 1] << 8));
        Assert.Equal(0x04, b[c["off_smctp_network"]]);
        Assert.Equal(0x01, b[c["off_smctp_network"] + 3]);
        Assert.Equal(0x1D, b[c["off_smctp_addr"]]);
        Assert.Equal(0x84, b[c["off_smctp_type"]]);
        Assert.Equal(0x18, b[c["off_smctp_tag"]]);
    }

    [UapiOracleFact("linux/mctp.h", "The MCTP uapi oracle")]
    public void Sockaddr_mctp_ext_and_socket_option_match_the_kernel_header()
    {
        var c = Layout.Value;
        Same(c, "sizeof_sockaddr_mctp_ext", SockaddrMctpExt.Size);
        Same(c, "off_smctp_ifindex", SockaddrMctpExt.IfIndexOffset);
        Same(c, "off_smctp_halen", SockaddrMctpExt.HalenOffset);
        Same(c, "off_smctp_haddr", SockaddrMctpExt.HaddrOffset);
        Same(c, "MAX_ADDR_LEN", SockaddrMctpExt.MaxAddrLen);
        Same(c, "SOL_MCTP", MctpIoctl.SolMctp);
        Same(c, "MCTP_OPT_ADDR_EXT", MctpIoctl.OptAddrExt);
    }

    [UapiOracleFact("linux/mctp.h", "The MCTP uapi oracle")]
    public void Tag_ioctls_match_the_kernel_header()
    {
        var c = Layout.Value;
        Same(c, "SIOCPROTOPRIVATE", MctpIoctl.SiocProtoPrivate);
        Same(c, "SIOCMCTPALLOCTAG", MctpIoctl.SiocMctpAllocTag);
        Same(c, "SIOCMCTPDROPTAG", MctpIoctl.SiocMctpDropTag);
        Same(c, "sizeof_mctp_ioc_tag_ctl", MctpIocTagCtl.Size);
        byte[] b = new byte[MctpIocTagCtl.Size];
        new MctpIocTagCtl(0x1D, 0x1A, 0x0102).WriteTo(b);
        Assert.Equal(0x1D, b[c["off_ctl_peer_addr"]]);
        Assert.Equal(0x1A, b[c["off_ctl_tag"]]);
        Assert.Equal(0x02, b[c["off_ctl_flags"]]);
        if (c.ContainsKey("SIOCMCTPALLOCTAG2"))
        {
            Same(c, "SIOCMCTPALLOCTAG2", MctpIoctl.SiocMctpAllocTag2);
            Same(c, "SIOCMCTPDROPTAG2", MctpIoctl.SiocMctpDropTag2);
            Same(c, "sizeof_mctp_ioc_tag_ctl2", MctpIocTagCtl2.Size);
            byte[] b2 = new byte[MctpIocTagCtl2.Size];
            new MctpIocTagCtl2(0x01020304, 0x1D, 0x08, 0x0506, 0x1B).WriteTo(b2);
            Assert.Equal(0x04, b2[c["off_ctl2_net"]]);
            Assert.Equal(0x1D, b2[c["off_ctl2_peer_addr"]]);
            Assert.Equal(0x08, b2[c["off_ctl2_local_addr"]]);
            Assert.Equal(0x06, b2[c["off_ctl2_flags"]]);
            Assert.Equal(0x1B, b2[c["off_ctl2_tag"]]);
        }
    }
}
