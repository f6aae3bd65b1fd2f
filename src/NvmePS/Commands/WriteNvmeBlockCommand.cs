using System.Globalization;
using System.Management.Automation;
using NvmePS.Engine;
using NvmePS.Engine.Admin;

namespace NvmePS.Commands;

/// <summary>Write-NvmeBlock: writes a byte array or a file to a range of logical blocks.</summary>
[Cmdlet(VerbsCommunications.Write, "NvmeBlock", DefaultParameterSetName = DataSet, SupportsShouldProcess = true, ConfirmImpact = ConfirmImpact.Medium)]
[OutputType(typeof(NvmeBlockTransfer))]
public sealed class WriteNvmeBlockCommand : NvmeCmdlet
{
    private const string DataSet = "InputData";
    private const string PathSet = "Path";

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

    /// <summary>The bytes to write; a whole number of blocks.</summary>
    [Parameter(Mandatory = true, Position = 2, ParameterSetName = DataSet)]
    [ValidateNotNullOrEmpty]
    public byte[] InputData { get; set; } = Array.Empty<byte>();

    /// <summary>A file to write; its length must be a whole number of blocks.</summary>
    [Parameter(Mandatory = true, ParameterSetName = PathSet)]
    [ValidateNotNullOrEmpty]
    public string Path { get; set; } = string.Empty;

    /// <summary>FUA: each write reaches non-volatile media before it completes.</summary>
    [Parameter]
    public SwitchParameter ForceUnitAccess { get; set; }

    /// <summary>Seconds without progress (no chunk completed) before the write fails; not a limit on the whole write.</summary>
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
        long done = 0, total = 0;
        string path = ParameterSetName == PathSet ? GetUnresolvedProviderPathFromPSPath(Path) : string.Empty;
        if (path.Length > 0 && Directory.Exists(path))
        {
            ThrowInputError("PathIsDirectory", $"-Path '{Path}' is a directory; name the file to write from.", ErrorCategory.InvalidArgument, Path);
        }

        try
        {
            long bytes = path.Length > 0 ? new FileInfo(path).Length : InputData.Length;
            if (BlockTransfer.CheckedNamespace(this, Controller, NamespaceId, (ulong)StartingLba, null, ct, Wait) is not { } ns)
            {
                return;
            }

            int blockSize = ns.BlockSize;
            if (bytes == 0 || bytes % blockSize != 0)
            {
                ThrowInputError("DataNotBlockAligned", $"{bytes} bytes is not a whole number of {blockSize}-byte blocks.", ErrorCategory.InvalidArgument, bytes);
            }

            long blocks = bytes / blockSize;
            total = blocks;

            string what = string.Format(CultureInfo.InvariantCulture, "Write {0} blocks ({1}) at LBA {2} of namespace {3}", blocks, NvmeUnits.FormatBytes(bytes), StartingLba, NamespaceId);
            if (!ShouldProcess(Controller.Name, what))
            {
                return;
            }

            // The time a -Confirm prompt stood open is not time without progress.
            stall.Progressed();

            using FileStream? file = path.Length > 0 ? new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.Read) : null;
            string activity = $"Writing {blocks} blocks to namespace {NamespaceId}";
            bool showProgress = bytes > BlockTransfer.ChunkBytes;
            BlockTransfer.Run(
                blocks,
                blockSize,
                (first, count) =>
                {
                    ReadOnlyMemory<byte> source;
                    if (file is null)
                    {
                        source = InputData.AsMemory(checked((int)(first * blockSize)), count * blockSize);
                    }
                    else
                    {
                        // Chunks are started in file order on this thread, so sequential reads line up.
                        var buffer = new byte[count * blockSize];
                        file.ReadExactly(buffer);
                        source = buffer;
                    }

                    return Controller.Host.WriteAsync(NamespaceId, (ulong)StartingLba + (ulong)first, count, source, ForceUnitAccess, ct).AsTask();
                },
                Wait,
                (first, count) =>
                {
                    stall.Progressed();
                    done = first + count;
                    if (showProgress)
                    {
                        WriteProgress(BlockTransfer.Progress(2, activity, first + count, blocks, blockSize));
                    }
                });

            WriteObject(new NvmeBlockTransfer
            {
                ControllerName = Controller.Name,
                Operation = "Write",
                NamespaceId = NamespaceId,
                StartingLba = (ulong)StartingLba,
                BlockCount = blocks,
                BlockSize = blockSize,
                Bytes = bytes,
                Path = path,
            });
        }
        catch (NvmeTimeoutException e) when (!StopToken.IsCancellationRequested && stall.Token.IsCancellationRequested)
        {
            WriteNvmeError(BlockTransfer.Stalled(e, TimeoutSec, done, total), Controller);
        }
        catch (Exception e) when (IsReportable(e))
        {
            WriteNvmeError(e, Controller);
        }
    }
}
