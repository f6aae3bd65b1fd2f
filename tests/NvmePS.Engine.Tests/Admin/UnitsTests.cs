using NvmePS.Engine.Admin;

namespace NvmePS.Engine.Tests.Admin;

public class UnitsTests
{
    [Theory]
    [InlineData("0", "0 B")]
    [InlineData("512", "512 B")]
    [InlineData("1023", "1023 B")]
    [InlineData("1024", "1 KiB")]
    [InlineData("1536", "1.5 KiB")]
    [InlineData("67108864", "64 MiB")]
    [InlineData("1073741824", "1 GiB")]
    [InlineData("1125899906842624", "1 PiB")]
    [InlineData("2305843009213693952", "2 EiB")]
    [InlineData("2361183241434822606848", "2048 EiB")]
    public void Bytes_format_in_binary_units(string bytes, string text) =>
        Assert.Equal(text, NvmeUnits.FormatBytes(decimal.Parse(bytes, System.Globalization.CultureInfo.InvariantCulture)));

    [Fact]
    public void Data_units_are_512000_bytes_and_saturate()
    {
        Assert.Equal(512000m, NvmeUnits.DataUnitBytes(1));
        Assert.Equal(3 * 512000m, NvmeUnits.DataUnitBytes(3));
        Assert.Equal(decimal.MaxValue, NvmeUnits.DataUnitBytes(decimal.MaxValue / 1000));
        Assert.Equal(12345m, NvmeUnits.Saturate((UInt128)12345));
        Assert.Equal(decimal.MaxValue, NvmeUnits.Saturate(UInt128.MaxValue));
    }

    [Fact]
    public void Kelvin_zero_means_not_reported()
    {
        Assert.Null(NvmeUnits.Celsius(0));
        Assert.Equal(27, NvmeUnits.Celsius(300));
        Assert.Equal(-273, NvmeUnits.Celsius(0) ?? -273);
    }
}
