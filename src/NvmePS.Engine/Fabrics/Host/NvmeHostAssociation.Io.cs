using System.Runtime.CompilerServices;
using NvmePS.Engine.Admin;
using NvmePS.Engine.Fabrics.Tcp;

namespace NvmePS.Engine.Fabrics.Host;

/// <summary>I/O queues: pipelined Read, Write, Flush, Write Zeroes and Dataset Management.</summary>
public sealed partial class NvmeHostAssociation
{
    /// <summary>Runs an I/O command on the least busy I/O queue; the completion is returned whatever its status.</summary>
    public ValueTask<NvmeCommandResult> ExecuteIoAsync(NvmeCommand command, ReadOnlyMemory<byte> dataToController, Memory<byte> dataFromController, CancellationToken cancellationToken) =>
        PickQueue().ExecuteAsync(command, dataToController, dataFromController, cancellationToken);

    private NvmeHostQueue PickQueue()
    {
        var queues = Volatile.Read(ref _ioQueues);
        int n = queues.Length;
        if (n == 0)
        {
            throw new InvalidOperationException("The association has no I/O queues.");
        }

        if (n == 1)
        {
            return queues[0];
        }

        // Round robin between this queue and the next, taking the less busy; a failed queue is passed over while a
        // healthy one remains (its own error is raised when none does).
        int start = (int)((uint)Interlocked.Increment(ref _nextQueue) % (uint)n);
        NvmeHostQueue? best = null;
        for (int i = 0; i < n; i++)
        {
            var q = queues[(start + i) % n];
            if (q.Failure is not null)
            {
                continue;
            }

            if (best is null)
            {
                best = q;
            }
            else
            {
                return q.InFlight < best.InFlight ? q : best;
            }
        }

        return best ?? queues[start];
    }

    /// <summary>Reads <paramref name="blocks"/> logical blocks at <paramref name="slba"/> into <paramref name="destination"/>
    /// (its length is blocks × block size), split into commands of at most <see cref="MaxDataTransferSize"/>.</summary>
    [AsyncMethodBuilder(typeof(PoolingAsyncValueTaskMethodBuilder))]
    public async ValueTask ReadAsync(uint nsid, ulong slba, int blocks, Memory<byte> destination, CancellationToken cancellationToken)
    {
        int blockSize = BlockSizeOf(destination.Length, blocks);
        int perCommand = Math.Max(1, Math.Min(ReadWriteCommand.MaxBlocks, _maxTransfer / blockSize));
        for (int done = 0; done < blocks; done += perCommand)
        {
            int n = Math.Min(perCommand, blocks - done);
            var slice = destination.Slice(done * blockSize, n * blockSize);
            var r = await ExecuteIoAsync(NvmeIoCommands.Read(nsid, slba + (ulong)done, n), default, slice, cancellationToken).ConfigureAwait(false);
            ThrowIfError(r.Completion, NvmeCommandContext.Nvm, "Read");
            if (r.BytesTransferred != slice.Length)
            {
                throw new NvmeProtocolException($"Read of {slice.Length} bytes completed successfully after {r.BytesTransferred} bytes of data.");
            }
        }
    }

    /// <summary>Writes <paramref name="blocks"/> logical blocks from <paramref name="data"/> at <paramref name="slba"/>.
    /// Up to <see cref="IoInCapsuleDataSize"/> bytes go in the capsule; larger writes are sent on R2T.</summary>
    [AsyncMethodBuilder(typeof(PoolingAsyncValueTaskMethodBuilder))]
    public async ValueTask WriteAsync(uint nsid, ulong slba, int blocks, ReadOnlyMemory<byte> data, bool fua, CancellationToken cancellationToken)
    {
        int blockSize = BlockSizeOf(data.Length, blocks);
        int perCommand = Math.Max(1, Math.Min(ReadWriteCommand.MaxBlocks, _maxTransfer / blockSize));
        for (int done = 0; done < blocks; done += perCommand)
        {
            int n = Math.Min(perCommand, blocks - done);
            var r = await ExecuteIoAsync(NvmeIoCommands.Write(nsid, slba + (ulong)done, n, fua), data.Slice(done * blockSize, n * blockSize), default, cancellationToken).ConfigureAwait(false);
            ThrowIfError(r.Completion, NvmeCommandContext.Nvm, "Write");
        }
    }

    /// <summary>Flush (volatile write cache to media).</summary>
    public async Task FlushAsync(uint nsid, CancellationToken cancellationToken)
    {
        var r = await ExecuteIoAsync(NvmeIoCommands.Flush(nsid), default, default, cancellationToken).ConfigureAwait(false);
        ThrowIfError(r.Completion, NvmeCommandContext.Nvm, "Flush");
    }

    /// <summary>Write Zeroes over <paramref name="blocks"/> (1..65536) blocks.</summary>
    public async Task WriteZeroesAsync(uint nsid, ulong slba, int blocks, bool deallocate, CancellationToken cancellationToken)
    {
        var r = await ExecuteIoAsync(NvmeIoCommands.WriteZeroes(nsid, slba, blocks, deallocate), default, default, cancellationToken).ConfigureAwait(false);
        ThrowIfError(r.Completion, NvmeCommandContext.Nvm, "Write Zeroes");
    }

    /// <summary>Dataset Management with 1..256 ranges (deallocate = trim).</summary>
    public async Task DatasetManagementAsync(uint nsid, IReadOnlyList<NvmeDsmRange> ranges, bool deallocate, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(ranges);
        byte[] data = new byte[ranges.Count * NvmeDsmRange.Size];
        for (int i = 0; i < ranges.Count; i++)
        {
            ranges[i].Write(data.AsSpan(i * NvmeDsmRange.Size));
        }

        var r = await ExecuteIoAsync(NvmeIoCommands.DatasetManagement(nsid, ranges.Count, deallocate), data, default, cancellationToken).ConfigureAwait(false);
        ThrowIfError(r.Completion, NvmeCommandContext.Nvm, "Dataset Management");
    }

    private static int BlockSizeOf(int bytes, int blocks)
    {
        if (blocks < 1 || bytes % blocks != 0 || bytes / blocks < 1)
        {
            throw new ArgumentException($"{bytes} bytes is not a whole number of blocks for {blocks} blocks.");
        }

        return bytes / blocks;
    }
}
