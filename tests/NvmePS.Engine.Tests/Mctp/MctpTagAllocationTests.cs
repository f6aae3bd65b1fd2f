using NvmePS.Engine.Mctp;

namespace NvmePS.Engine.Tests.Mctp;

/// <summary>Review O-2: the tag-allocation fallback order of <see cref="AfMctpTransport"/>, driven through its ioctl
/// seam with the errno a kernel without SIOCMCTPALLOCTAG2 returns (this host has no AF_MCTP).</summary>
public sealed class MctpTagAllocationTests
{
    private sealed class OldKernel
    {
        public List<(nuint Request, byte[] Argument)> Calls { get; } = [];

        public int Ioctl(nuint request, Span<byte> argument)
        {
            Calls.Add((request, argument.ToArray()));
            if (request == MctpIoctl.SiocMctpAllocTag2)
            {
                return MctpNative.ENOTTY; // pre-6.10 kernels: unknown ioctl
            }

            argument[1] = 0x0B; // tag 3 with MCTP_TAG_PREALLOC
            return 0;
        }
    }

    [Theory]
    [InlineData(SockaddrMctp.NetAny)]
    [InlineData(SockaddrMctp.InitialDefaultNet)] // Linux 6.1 in the interop VM: every address is on net 1
    public void Without_v2_the_default_network_uses_the_v1_ioctl(uint network)
    {
        var kernel = new OldKernel();
        var (tag, mode) = AfMctpTransport.AllocateTag(new MctpEndpointAddress(network, 0x1D), kernel.Ioctl);
        Assert.Equal(MctpTagMode.Preallocated, mode);
        Assert.Equal(0x0B, tag);
        Assert.Equal([(nuint)MctpIoctl.SiocMctpAllocTag2, (nuint)MctpIoctl.SiocMctpAllocTag], kernel.Calls.Select(c => c.Request));
        Assert.Equal(0x1D, kernel.Calls[1].Argument[0]); // peer_addr
    }

    [Fact]
    public void Without_v2_another_network_never_uses_the_default_network_ioctl()
    {
        var kernel = new OldKernel();
        var (tag, mode) = AfMctpTransport.AllocateTag(new MctpEndpointAddress(2, 0x1D), kernel.Ioctl);
        Assert.Equal(MctpTagMode.KernelOwned, mode);
        Assert.Equal(SockaddrMctp.TagOwner, tag);
        Assert.Equal([(nuint)MctpIoctl.SiocMctpAllocTag2], kernel.Calls.Select(c => c.Request));
        Assert.Equal(2u, BitConverter.ToUInt32(kernel.Calls[0].Argument, 0)); // net in the v2 request
    }
}
