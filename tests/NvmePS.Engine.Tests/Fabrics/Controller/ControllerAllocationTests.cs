using NvmePS.Engine;
using NvmePS.Engine.Admin;
using NvmePS.Engine.Fabrics;

namespace NvmePS.Engine.Tests.Fabrics.Controller;

/// <summary>The controller core's I/O path allocates nothing per command (the memory store completes synchronously,
/// so everything runs on this thread and the per-thread allocation counter sees all of it).</summary>
public class ControllerAllocationTests
{
    [Fact]
    public async Task Read_and_write_on_the_core_path_do_not_allocate()
    {
        using var target = Core.Target(out var sub);
        sub.AddMemoryNamespace(8 << 20, 512);
        var admin = Core.Admin(target);
        var io = Core.Io(target, admin);
        var buffer = new byte[4096];
        var read = NvmeIoCommands.Read(1, 0, 8);
        read.Psdt = 1;
        var write = NvmeIoCommands.Write(1, 0, 8);
        write.Psdt = 1;

        // Warm up (pages allocated, JIT done).
        for (int i = 0; i < 64; i++)
        {
            await io.ProcessAsync(write, buffer, default);
            await io.ProcessAsync(read, default, buffer);
        }

        // The best of three rounds: a tier-up or on-stack replacement of this method, which the runtime may do on this
        // thread in the middle of a round when the machine is busy, allocates once; a per-command allocation shows in every round.
        long allocated = long.MaxValue;
        for (int round = 0; round < 3 && allocated != 0; round++)
        {
            long before = GC.GetAllocatedBytesForCurrentThread();
            for (int i = 0; i < 1000; i++)
            {
                write.Cid = (ushort)i;
                var w = io.ProcessAsync(write, buffer, default);
                Assert.True(w.IsCompletedSuccessfully);
                read.Cid = (ushort)i;
                var r = io.ProcessAsync(read, default, buffer);
                Assert.True(r.IsCompletedSuccessfully);
                Assert.True((await r).Completion.IsSuccess); // already complete: no suspension
            }

            allocated = Math.Min(allocated, GC.GetAllocatedBytesForCurrentThread() - before);
        }

        Assert.Equal(0, allocated);
    }
}
