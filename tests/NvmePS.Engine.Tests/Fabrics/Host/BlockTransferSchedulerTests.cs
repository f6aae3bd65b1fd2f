using NvmePS.Engine.Fabrics.Host;

namespace NvmePS.Engine.Tests.Fabrics.Host;

public class BlockTransferSchedulerTests
{
    [Theory]
    [InlineData(512, 2048)]
    [InlineData(4096, 256)]
    [InlineData(2 << 20, 1)]
    public void Chunks_are_about_a_megabyte(int blockSize, int blocks) =>
        Assert.Equal(blocks, NvmeBlockTransferScheduler.BlocksPerChunk(blockSize));

    [Fact]
    public void Covers_the_range_in_order_with_a_bounded_window()
    {
        var started = new List<(long First, int Count)>();
        var completed = new List<(long First, int Count)>();
        var pending = new Dictionary<Task, TaskCompletionSource>();
        int maxOutstanding = 0;
        NvmeBlockTransferScheduler.Run(
            blocks: 10_000,
            blockSize: 512,
            chunk: (first, count) =>
            {
                started.Add((first, count));
                maxOutstanding = Math.Max(maxOutstanding, started.Count - completed.Count);
                var tcs = new TaskCompletionSource();
                pending[tcs.Task] = tcs;
                return tcs.Task;
            },
            wait: t =>
            {
                pending[t].SetResult();
                t.GetAwaiter().GetResult();
            },
            completed: (first, count) => completed.Add((first, count)));

        Assert.Equal(started, completed);
        Assert.Equal(new (long, int)[] { (0, 2048), (2048, 2048), (4096, 2048), (6144, 2048), (8192, 1808) }, completed);
        Assert.Equal(NvmeBlockTransferScheduler.DefaultChunksInFlight, maxOutstanding);
    }

    [Fact]
    public void A_failed_chunk_stops_the_transfer_and_surfaces_its_error()
    {
        int calls = 0;
        var e = Assert.Throws<IOException>(() => NvmeBlockTransferScheduler.Run(
            blocks: 100, blockSize: 512,
            chunk: (first, count) => { calls++; return first == 0 ? Task.FromException(new IOException("boom")) : Task.CompletedTask; },
            wait: t => t.GetAwaiter().GetResult(),
            completed: (_, _) => Assert.Fail("no chunk completes before the failed first one"),
            chunkBytes: 512 * 10, chunksInFlight: 2));
        Assert.Equal("boom", e.Message);
        Assert.Equal(2, calls);
    }

    [Fact]
    public void Zero_blocks_do_nothing_and_bad_arguments_throw()
    {
        NvmeBlockTransferScheduler.Run(0, 512, (_, _) => throw new InvalidOperationException(), _ => { }, (_, _) => { });
        Assert.Throws<ArgumentOutOfRangeException>(() => NvmeBlockTransferScheduler.Run(1, 0, (_, _) => Task.CompletedTask, _ => { }, (_, _) => { }));
        Assert.Throws<ArgumentOutOfRangeException>(() => NvmeBlockTransferScheduler.Run(1, 512, (_, _) => Task.CompletedTask, _ => { }, (_, _) => { }, chunksInFlight: 0));
    }
}
