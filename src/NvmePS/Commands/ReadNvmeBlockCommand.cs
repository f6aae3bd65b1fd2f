using System.Management.Automation;
using NvmePS.Engine;

namespace NvmePS.Commands;

/// <summary>Read-NvmeBlock: reads a range of logical blocks into a byte array or a file.</summary>
[Cmdlet(VerbsCommunications.Read, "NvmeBlock")]
[OutputType(typeof(NvmeBlockTransfer))]
public sealed class ReadNvmeBlockCommand : NvmeCmdlet
{
    /// <summary>Most bytes returned in memory; larger reads need -Path.</summary>
    public const long MaxInMemoryBytes = 256L << 20;

    [Parameter(Mandatory = true, Position = 0, ValueFromPipeline = true)]
    [ValidateNotNull]
    [LiveObject]
    public NvmfController Controller { get; set; } = null!;

    [Parameter]
    [ValidateRange(1u, 0xFFFFFFFEu)]
    public uint NamespaceId { get; set; } = 1;

    [Parameter(Mandatory = true, Position = 1)]
    [Alias("Lba", "Slba")]
    [ValidateRange(0L, long.MaxValue)]
    public long StartingLba { get; set; }

    [Parameter(Mandatory = true, Position = 2)]
    [ValidateRange(1L, long.MaxValue)]
    public long BlockCount { get; set; }

    /// <summary>Writes the blocks to this file (created or overwritten) instead of returning them.</summary>
    [Parameter]
    [ValidateNotNullOrEmpty]
    public string Path { get; set; } = string.Empty;

    /// <summary>Seconds without progress (no chunk completed) before the read fails; not a limit on the whole read.</summary>
    [Parameter]
    [ValidateRange(1, 86400)]
    public int TimeoutSec { get; set; } = 60;

    protected override void ProcessRecord()
    {
        if (!AdminCmdlets.CheckConnected(this, Controller))
        {
            return;
        }

        using var stall = new BlockTransfer.StallTimeout(StopToken, TimeoutSec);
        CancellationToken ct = stall.Token;
        long done = 0;
        try
        {
            if (BlockTransfer.CheckedNamespace(this, Controller, NamespaceId, (ulong)StartingLba, BlockCount, ct, Wait) is not { } ns)
            {
                return;
            }

            int blockSize = ns.BlockSize;

            long bytes = checked(BlockCount * blockSize);
            string path = Path.Length > 0 ? GetUnresolvedProviderPathFromPSPath(Path) : string.Empty;
            if (path.Length > 0 && Directory.Exists(path))
            {
                // Found before any block is read: otherwise the whole read is done, then the rename onto it fails.
                ThrowInputError("PathIsDirectory", $"-Path '{Path}' is a directory; name the file to read into.", ErrorCategory.InvalidArgument, Path);
            }

            if (path.Length == 0 && bytes > MaxInMemoryBytes)
            {
                ThrowInputError("UsePathForLargeReads", $"{bytes} bytes is more than {MaxInMemoryBytes} bytes to hold in memory; read into a file with -Path.", ErrorCategory.InvalidArgument, BlockCount);
            }

            using var output = path.Length > 0 ? new BlockTransfer.ReadDestination(path) : null;
            byte[] data = output is null ? new byte[bytes] : Array.Empty<byte>();
            var chunks = new Dictionary<long, byte[]>();
            string activity = $"Reading {BlockCount} blocks from namespace {NamespaceId}";
            bool showProgress = bytes > BlockTransfer.ChunkBytes;
            BlockTransfer.Run(
                BlockCount,
                blockSize,
                (first, count) =>
                {
                    Memory<byte> target = output is null
                        ? data.AsMemory(checked((int)(first * blockSize)), count * blockSize)
                        : (chunks[first] = new byte[count * blockSize]);
                    return Controller.Host.ReadAsync(NamespaceId, (ulong)StartingLba + (ulong)first, count, target, ct).AsTask();
                },
                Wait,
                (first, count) =>
                {
                    stall.Progressed();
                    done = first + count;
                    if (output is not null)
                    {
                        output.Write(chunks[first]);
                        chunks.Remove(first);
                    }

                    if (showProgress)
                    {
                        WriteProgress(BlockTransfer.Progress(1, activity, first + count, BlockCount, blockSize));
                    }
                });

            output?.Commit();
            WriteObject(new NvmeBlockTransfer
            {
                ControllerName = Controller.Name,
                Operation = "Read",
                NamespaceId = NamespaceId,
                StartingLba = (ulong)StartingLba,
                BlockCount = BlockCount,
                BlockSize = blockSize,
                Bytes = bytes,
                Path = path,
                Data = data,
            });
        }
        catch (NvmeTimeoutException e) when (!StopToken.IsCancellationRequested && stall.Token.IsCancellationRequested)
        {
            WriteNvmeError(BlockTransfer.Stalled(e, TimeoutSec, done, BlockCount), Controller);
        }
        catch (BlockTransfer.PathFileException e)
        {
            WriteNvmeError(e, e.Path);
        }
        catch (Exception e) when (IsReportable(e))
        {
            WriteNvmeError(e, Controller);
        }
    }
}
