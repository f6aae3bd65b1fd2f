using NvmePS.Engine.Fabrics.Controller;

namespace NvmePS.Engine.Tests.Fabrics.Controller;

/// <summary>The thin in-memory store: pages on first write, and a whole-store pattern that costs no memory.</summary>
public sealed class MemoryStorageTests
{
    [Fact]
    public async Task A_fill_reads_back_as_the_pattern_and_zeroes_written_after_it_stay_zero()
    {
        using var store = new MemoryNamespaceStorage(64L << 30);
        await store.WriteAsync(3 << 20, new byte[] { 9, 9, 9, 9 }, CancellationToken.None);
        Assert.Equal(1L << 20, store.AllocatedBytes);

        store.Fill(0x11223344);
        Assert.Equal(0L, store.AllocatedBytes);
        byte[] read = new byte[6];
        await store.ReadAsync((3 << 20) + 2, read, CancellationToken.None); // unaligned: the pattern keeps its phase
        Assert.Equal("2211" + "44332211", Convert.ToHexString(read));

        // A partial write lands in a page that starts as the pattern.
        await store.WriteAsync((5 << 20) + 4, new byte[] { 0xAA, 0xBB }, CancellationToken.None);
        await store.ReadAsync(5 << 20, read, CancellationToken.None);
        Assert.Equal("44332211" + "AABB", Convert.ToHexString(read));

        // Zeroes over a whole page and over part of one both read as zeroes, not as the pattern.
        await store.WriteZeroesAsync(7 << 20, 1 << 20, deallocate: true, CancellationToken.None);
        await store.WriteZeroesAsync((9 << 20) + 512, 512, deallocate: true, CancellationToken.None);
        await store.ReadAsync((7 << 20) + 100, read, CancellationToken.None);
        Assert.Equal("000000000000", Convert.ToHexString(read));
        await store.ReadAsync((9 << 20) + 510, read, CancellationToken.None);
        Assert.Equal("2211" + "00000000", Convert.ToHexString(read));

        // A fill with 0 is the empty store again.
        store.Fill(0);
        await store.ReadAsync(9 << 20, read, CancellationToken.None);
        Assert.Equal("000000000000", Convert.ToHexString(read));
        Assert.Equal(0L, store.AllocatedBytes);
    }
}
