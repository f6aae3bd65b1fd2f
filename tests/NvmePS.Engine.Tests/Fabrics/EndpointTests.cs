using System.Net;
using NvmePS.Engine.Fabrics;

namespace NvmePS.Engine.Tests.Fabrics;

public class EndpointTests
{
    [Theory]
    [InlineData("127.0.0.1:4420", "127.0.0.1", 4420)]
    [InlineData("127.0.0.1", "127.0.0.1", 8009)]
    [InlineData(" 127.0.0.2:0 ", "127.0.0.2", 0)]
    [InlineData("[::1]:4420", "::1", 4420)]
    [InlineData("[::1]", "::1", 8009)]
    [InlineData("::1", "::1", 8009)]
    [InlineData("fe80::1:2", "fe80::1:2", 8009)]
    public void Parses_with_a_default_port(string text, string address, int port)
    {
        IPEndPoint ep = NvmeEndpoint.Parse(text, 8009);
        Assert.Equal(IPAddress.Parse(address), ep.Address);
        Assert.Equal(port, ep.Port);
    }

    [Theory]
    [InlineData("")]
    [InlineData("   ")]
    [InlineData("localhost:4420")]
    [InlineData("127.0.0.1:65536")]
    [InlineData("127.0.0.1:-1")]
    [InlineData("127.0.0.1:44a")]
    [InlineData("[::1]:99999")]
    [InlineData("300.0.0.1")]
    public void Rejects_what_is_not_an_address(string text)
    {
        Assert.False(NvmeEndpoint.TryParse(text, 4420, out var ep));
        Assert.Null(ep);
        var e = Assert.Throws<FormatException>(() => NvmeEndpoint.Parse(text, 4420));
        Assert.Contains("is not an IP address", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Rejects_an_out_of_range_default_port() =>
        Assert.False(NvmeEndpoint.TryParse("127.0.0.1", 70000, out _));

    [Fact]
    public void Default_port_is_8009_for_discovery_and_4420_otherwise()
    {
        Assert.Equal(8009, NvmeEndpoint.DefaultPortFor("nqn.2014-08.org.nvmexpress.discovery"));
        Assert.Equal(4420, NvmeEndpoint.DefaultPortFor("nqn.2024-01.io.example:disk"));
        Assert.Equal(4420, NvmeEndpoint.DefaultPortFor("NQN.2014-08.ORG.NVMEXPRESS.DISCOVERY"));
    }
}
