using NvmePS.Engine.Admin;

namespace NvmePS.Engine.Tests.Admin;

public class AdminNamesTests
{
    [Theory]
    [InlineData("Smart", 0x02)]
    [InlineData(" smart ", 0x02)]
    [InlineData("Error", 0x01)]
    [InlineData("Discovery", 0x70)]
    [InlineData("SanitizeStatus", 0x81)]
    [InlineData("0x70", 0x70)]
    [InlineData("0XfF", 0xFF)]
    [InlineData("2", 0x02)]
    [InlineData("255", 0xFF)]
    public void Log_pages_parse_by_name_or_number(string text, int lid)
    {
        Assert.True(NvmeAdminNames.TryParse(text, NvmeAdminNames.LogPages, out byte value));
        Assert.Equal((byte)lid, value);
    }

    [Theory]
    [InlineData("")]
    [InlineData(null)]
    [InlineData("256")]
    [InlineData("-1")]
    [InlineData("0x")]
    [InlineData("0x100")]
    [InlineData("Smartish")]
    [InlineData("+2")]
    public void Unusable_identifiers_do_not_parse(string? text) =>
        Assert.False(NvmeAdminNames.TryParse(text, NvmeAdminNames.LogPages, out _));

    [Fact]
    public void Names_round_trip_and_unknown_values_print_as_hex()
    {
        foreach (var (name, fid) in NvmeAdminNames.Features)
        {
            Assert.Equal(name, NvmeAdminNames.NameOf(fid, NvmeAdminNames.Features));
        }

        Assert.Equal("KeepAliveTimer", NvmeAdminNames.NameOf(0x0F, NvmeAdminNames.Features));
        Assert.Equal("0xC0", NvmeAdminNames.NameOf(0xC0, NvmeAdminNames.Features));
        Assert.Equal(NvmeFeatureId.HostIdentifier, NvmeAdminNames.Features["hostidentifier"]);
    }

    [Theory]
    [InlineData(NvmeFeatureId.Arbitration, 0x04030201u, "AB=1 LPW=2 MPW=3 HPW=4")]
    [InlineData(NvmeFeatureId.PowerManagement, 0x43u, "PS=3 WH=2")]
    [InlineData(NvmeFeatureId.TemperatureThreshold, 0x0010_0157u, "TMPTH=343 K (70 °C) TMPSEL=0 THSEL=Under")]
    [InlineData(NvmeFeatureId.TemperatureThreshold, 0x0003_0160u, "TMPTH=352 K (79 °C) TMPSEL=3 THSEL=Over")]
    [InlineData(NvmeFeatureId.VolatileWriteCache, 1u, "WCE=1")]
    [InlineData(NvmeFeatureId.VolatileWriteCache, 0u, "WCE=0")]
    [InlineData(NvmeFeatureId.NumberOfQueues, 0x0003_0007u, "I/O submission queues=8 I/O completion queues=4")]
    [InlineData(NvmeFeatureId.KeepAliveTimer, 30000u, "KATO=30000 ms")]
    [InlineData(NvmeFeatureId.HostMemoryBuffer, 1u, "")]
    public void Feature_values_decode_into_fields(byte fid, uint dw0, string expected) =>
        Assert.Equal(expected, NvmeAdminNames.DescribeFeature(fid, dw0));

    [Fact]
    public void Supported_capabilities_decode_the_three_bits()
    {
        Assert.Equal("Saveable=True NamespaceSpecific=False Changeable=True", NvmeAdminNames.DescribeCapabilities(0b101));
        Assert.Equal("Saveable=False NamespaceSpecific=True Changeable=False", NvmeAdminNames.DescribeFeature(NvmeFeatureId.KeepAliveTimer, NvmeFeatureSelect.SupportedCapabilities, 0b010));
        Assert.Equal("KATO=5 ms", NvmeAdminNames.DescribeFeature(NvmeFeatureId.KeepAliveTimer, NvmeFeatureSelect.Current, 5));
    }
}
