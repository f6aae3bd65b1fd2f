using System.Text;

namespace NvmePS.Engine.Tests.Fabrics;

public class Crc32CTests
{
    [Fact]
    public void Check_value_of_123456789()
    {
        Assert.Equal(0xE3069283u, Crc32C.Compute(Encoding.ASCII.GetBytes("123456789")));
        Assert.Equal(0xE3069283u, Crc32C.UpdatePortable(Crc32C.Seed, Encoding.ASCII.GetBytes("123456789")) ^ Crc32C.Seed);
    }

    [Fact]
    public void Every_length_0_to_300_at_odd_alignments_equals_the_bitwise_reference()
    {
        byte[] buf = new byte[300 + 8];
        new Random(11).NextBytes(buf);
        for (int align = 0; align < 8; align++)
        {
            for (int len = 0; len <= 300; len++)
            {
                var span = buf.AsSpan(align, len);
                uint expected = ReferenceCrc32C.Compute(span);
                Assert.Equal(expected, Crc32C.Compute(span));
                Assert.Equal(expected, Crc32C.UpdatePortable(Crc32C.Seed, span) ^ Crc32C.Seed);
            }
        }
    }

    [Theory]
    [InlineData(767)]
    [InlineData(768)]
    [InlineData(769)]
    [InlineData(4096)]
    [InlineData(12287)]
    [InlineData(12288)]
    [InlineData(12288 + 768 + 13)]
    [InlineData(131072 + 3)]
    public void Lane_boundaries_equal_the_bitwise_reference(int len)
    {
        byte[] buf = new byte[len + 3];
        new Random(len).NextBytes(buf);
        var span = buf.AsSpan(3, len);
        Assert.Equal(ReferenceCrc32C.Compute(span), Crc32C.Compute(span));
        // Split updates land on different lane boundaries and must agree.
        uint reg = Crc32C.Update(Crc32C.Seed, span[..(len / 3)]);
        reg = Crc32C.Update(reg, span[(len / 3)..]);
        Assert.Equal(ReferenceCrc32C.Compute(span), reg ^ Crc32C.Seed);
    }
}
