using System.Management.Automation;
using NvmePS.Engine;
using NvmePS.Engine.Admin;
using NvmePS.Engine.Fabrics.Host;

namespace NvmePS.Commands;

/// <summary>Progress records for Read-NvmeBlock and Write-NvmeBlock; the chunking itself is the engine's
/// <see cref="NvmeBlockTransferScheduler"/>, waited on from the pipeline thread.</summary>
internal static class BlockTransfer
{
    public const int ChunkBytes = NvmeBlockTransferScheduler.DefaultChunkBytes;

    /// <summary>Identify Namespace for a block transfer, with the refusals a user can act on: a discovery controller (no
    /// namespaces), an inactive namespace, and a range too large to address at all. Returns null after writing the error.</summary>
    public static NvmeIdentifyNamespace? CheckedNamespace(NvmeCmdlet cmdlet, NvmfController controller, uint nsid, ulong slba, long? blocks,
        CancellationToken ct, Func<Task<NvmeIdentifyNamespace>, NvmeIdentifyNamespace> wait)
    {
        if (controller.IsDiscovery)
        {
            cmdlet.WriteError(new ErrorRecord(new InvalidOperationException($"{controller.Name} is a discovery controller, which has no namespaces; connect to a subsystem NQN from its discovery log."),
                "NvmeDiscoveryControllerHasNoNamespaces", ErrorCategory.InvalidOperation, controller));
            return null;
        }

        var ns = wait(controller.Admin.IdentifyNamespaceAsync(nsid, ct));
        if (ns.BlockSize == 0)
        {
            cmdlet.WriteError(new ErrorRecord(new InvalidOperationException($"Namespace {nsid} is not active on {controller.Name}."), "NamespaceNotActive", ErrorCategory.ObjectNotFound, controller));
            return null;
        }

        // Only a range no command could address is refused here (it overflowed as a bare OverflowException); a range
        // past NSZE goes to the controller, whose LBA Out of Range status (and Error log entry) is the real answer.
        if (blocks is long n && ((ulong)n > ulong.MaxValue - slba || n > long.MaxValue / ns.BlockSize))
        {
            cmdlet.WriteError(new ErrorRecord(new ArgumentOutOfRangeException(nameof(blocks),
                $"LBAs {slba} to {(decimal)slba + n - 1} are beyond namespace {nsid} of {controller.Name}, which has {ns.Nsze} blocks (LBA 0 to {ns.Nsze - 1})."),
                "NvmeLbaOutOfRange", ErrorCategory.InvalidArgument, n));
            return null;
        }

        return ns;
    }

    /// <summary>Chunked, pipelined transfer: see the engine's <see cref="NvmeBlockTransferScheduler"/>.</summary>
    public static void Run(long blocks, int blockSize, Func<long, int, Task> chunk, Action<Task> wait, Action<long, int> completed) =>
        NvmeBlockTransferScheduler.Run(blocks, blockSize, chunk, wait, completed);

    /// <summary>
    /// -TimeoutSec for block transfers: it bounds the time without progress (no chunk completed), not the whole
    /// transfer, so a whole-namespace copy is never cut off while data still moves. <see cref="Progressed"/> restarts
    /// the clock; Ctrl+C cancels the same token.
    /// </summary>
    public sealed class StallTimeout : IDisposable
    {
        private readonly CancellationTokenSource _cts;
        private readonly TimeSpan _limit;

        public StallTimeout(CancellationToken stop, int timeoutSec)
        {
            _cts = CancellationTokenSource.CreateLinkedTokenSource(stop);
            _limit = TimeSpan.FromSeconds(timeoutSec);
            _cts.CancelAfter(_limit);
        }

        public CancellationToken Token => _cts.Token;

        public void Progressed()
        {
            if (!_cts.IsCancellationRequested)
            {
                _cts.CancelAfter(_limit);
            }
        }

        public void Dispose() => _cts.Dispose();
    }

    /// <summary>The error for a transfer that stopped moving, saying how far it got.</summary>
    public static NvmeTimeoutException Stalled(NvmeTimeoutException e, int timeoutSec, long done, long total) =>
        new($"No progress for {timeoutSec} s (-TimeoutSec bounds the time without progress): {done} of {total} blocks were transferred.", e);

    /// <summary>
    /// A -Path destination for Read-NvmeBlock. A new or regular file is written under a hidden temporary name in the
    /// same directory and renamed over the destination only when every block has arrived, so a failed or stopped
    /// read never leaves a partial file posing as a whole one (and never destroys the file it would have replaced).
    /// A device node (anything under /dev) or a symbolic link is written in place, as dd would: renaming over it would
    /// replace the device node or the link itself.
    /// </summary>
    public sealed class ReadDestination : IDisposable
    {
        private readonly string? _tempPath;
        private bool _committed;

        public ReadDestination(string path)
        {
            Path = path;
            var info = new FileInfo(path);
            bool replaceable = !info.Exists || (info.LinkTarget is null && !IsUnderDev(info));
            try
            {
                if (replaceable)
                {
                    _tempPath = System.IO.Path.Combine(System.IO.Path.GetDirectoryName(System.IO.Path.GetFullPath(path))!,
                        $".{System.IO.Path.GetFileName(path)}.{Guid.NewGuid():N}.partial");
                    Stream = new FileStream(_tempPath, FileMode.CreateNew, FileAccess.Write, FileShare.None);
                }
                else
                {
                    Stream = new FileStream(path, FileMode.Create, FileAccess.Write, FileShare.ReadWrite);
                }
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException)
            {
                throw new PathFileException(path, e);
            }
        }

        public string Path { get; }

        private FileStream Stream { get; }

        public void Write(ReadOnlySpan<byte> blocks)
        {
            try
            {
                Stream.Write(blocks);
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException)
            {
                throw new PathFileException(Path, e);
            }
        }

        public void Commit()
        {
            try
            {
                Stream.Flush(flushToDisk: true);
                Stream.Dispose();
                if (_tempPath is not null)
                {
                    File.Move(_tempPath, Path, overwrite: true);
                }
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException)
            {
                throw new PathFileException(Path, e);
            }

            _committed = true;
        }

        public void Dispose()
        {
            try
            {
                Stream.Dispose();
            }
            catch (IOException)
            {
                // What is still buffered fails as the write before it did, and that error is already reported.
            }

            if (!_committed && _tempPath is not null)
            {
                try
                {
                    File.Delete(_tempPath);
                }
                catch (IOException)
                {
                    // Best effort: the name is hidden and says what it is.
                }
            }
        }

        /// <summary>Device nodes live in /dev; .NET reports no file type, so that is where they are told apart.</summary>
        private static bool IsUnderDev(FileInfo info) => info.FullName.StartsWith("/dev/", StringComparison.Ordinal);
    }

    /// <summary>The -Path file failed (no space, no directory, no permission): the file's fault, not the
    /// controller's, so it is reported against the path, and ErrorMapping never calls it a connection error.</summary>
    public sealed class PathFileException(string path, Exception inner)
        : Exception(inner is DirectoryNotFoundException
            ? $"-Path '{path}': the directory {System.IO.Path.GetDirectoryName(System.IO.Path.GetFullPath(path))} does not exist."
            : $"-Path '{path}': {inner.Message}", inner)
    {
        public string Path { get; } = path;
    }

    public static ProgressRecord Progress(int id, string activity, long done, long total, int blockSize)
    {
        int percent = total == 0 ? 100 : (int)(done * 100 / total);
        return new ProgressRecord(id, activity, $"{done} of {total} blocks ({NvmeUnits.FormatBytes(done * (decimal)blockSize)} of {NvmeUnits.FormatBytes(total * (decimal)blockSize)})")
        {
            PercentComplete = percent,
            RecordType = done >= total ? ProgressRecordType.Completed : ProgressRecordType.Processing,
        };
    }
}
