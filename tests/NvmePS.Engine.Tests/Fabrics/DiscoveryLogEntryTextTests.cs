using NvmePS.Engine.Fabrics;

namespace NvmePS.Engine.Tests.Fabrics;

/// <summary>The words nvme-cli prints for discovery log fields (libnvme nvme_*_str tables are the oracle).</summary>
public class DiscoveryLogEntryTextTests
{
    [Theory]
    [InlineData(3, "tcp")]
    [InlineData(1, "rdma")]
    [InlineData(2, "fc")]
    [InlineData(0xFE, "loop")]
    [InlineData(9, "unknown (9)")]
    public void Trtype(byte value, string text) => Assert.Equal(text, DiscoveryLogEntryText.Trtype((TransportType)value));

    [Theory]
    [InlineData(1, "ipv4")]
    [InlineData(2, "ipv6")]
    [InlineData(3, "ib")]
    [InlineData(4, "fc")]
    [InlineData(0xFE, "loop")]
    [InlineData(0, "unknown (0)")]
    public void Adrfam(byte value, string text) => Assert.Equal(text, DiscoveryLogEntryText.Adrfam((AddressFamily)value));

    [Theory]
    [InlineData(1, "discovery subsystem referral")]
    [InlineData(2, "nvme subsystem")]
    [InlineData(3, "current discovery subsystem")]
    [InlineData(7, "unknown (7)")]
    public void Subtype(byte value, string text) => Assert.Equal(text, DiscoveryLogEntryText.Subtype((DiscoverySubsystemType)value));

    [Theory]
    [InlineData(0x00, "not specified")]
    [InlineData(0x01, "required")]
    [InlineData(0x02, "not required")]
    [InlineData(0x03, "not specified")]
    [InlineData(0x06, "not required, sq flow control disable supported")]
    [InlineData(0x04, "not specified, sq flow control disable supported")]
    public void Treq(byte value, string text) => Assert.Equal(text, DiscoveryLogEntryText.Treq(value));

    [Theory]
    [InlineData(0, "none")]
    [InlineData(1, "tls1.2")]
    [InlineData(2, "tls1.3")]
    [InlineData(5, "unknown (5)")]
    public void Sectype(byte value, string text) => Assert.Equal(text, DiscoveryLogEntryText.Sectype((TcpSecurityType)value));
}
