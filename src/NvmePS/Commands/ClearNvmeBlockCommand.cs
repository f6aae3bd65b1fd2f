using System.Globalization;
using System.Management.Automation;
using NvmePS.Engine;
using NvmePS.Engine.Admin;

namespace NvmePS.Commands;

/// <summary>Clear-NvmeBlock: zeroes a range of logical blocks with Write Zeroes (NVM Command Set §3.3.7), optionally
/// deallocating them (DEAC), without sending any data.</summary>
[Cmdlet(VerbsCommon.Clear, "NvmeBlock", SupportsShouldProcess = true, ConfirmImpact = ConfirmImpact.High)]
[OutputType(typeof(NvmeBlockTransfer))]
public sealed class ClearNvmeBlockCommand : NvmeCmdlet
{
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

    /// <summary>DEAC: the controller may also deallocate the blocks (thin provisioning); they still read as zeroes.</summary>
    [Parameter]
    public SwitchParameter Deallocate { get; set; }

    /// <summary>Clears without asking, as -Confirm:$false does.</summary>
    [Parameter]
    public SwitchParameter Force { get; set; }

    /// <summary>Seconds without progress (no command completed) before the clear fails.</summary>
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

            // A range that runs past the end would have its first commands succeed before one fails: refuse it whole.
            if ((decimal)StartingLba + BlockCount > ns.Nsze)
            {
                WriteError(new ErrorRecord(new ArgumentOutOfRangeException(nameof(BlockCount),
                    $"LBAs {StartingLba} to {(decimal)StartingLba + BlockCount - 1} are beyond namespace {NamespaceId} of {Controller.Name}, which has {ns.Nsze} blocks (LBA 0 to {ns.Nsze - 1}); nothing was cleared."),
                    "NvmeLbaOutOfRange", ErrorCategory.InvalidArgument, BlockCount));
                return;
            }

            int blockSize = ns.BlockSize;
            string what = string.Format(CultureInfo.InvariantCulture, "Zero {0} blocks ({1}) at LBA {2} of namespace {3} of {4}{5}; their data is lost",
                BlockCount, NvmeUnits.FormatBytes((decimal)BlockCount * blockSize), StartingLba, NamespaceId, Controller.SubsystemNqn, Deallocate ? ", deallocating them" : string.Empty);
            // -Force skips the confirmation a High-impact command asks for; -WhatIf still only says what would happen.
            if ((!Force || WhatIfRequested) && !ShouldProcess(Controller.Name, what))
            {
                return;
            }

            stall.Progressed();
            string activity = $"Zeroing {BlockCount} blocks of namespace {NamespaceId}";
            bool showProgress = BlockCount > ReadWriteCommand.MaxBlocks;
            while (done < BlockCount)
            {
                int count = (int)Math.Min(ReadWriteCommand.MaxBlocks, BlockCount - done);
                Wait(Controller.Host.WriteZeroesAsync(NamespaceId, (ulong)(StartingLba + done), count, Deallocate, ct));
                done += count;
                stall.Progressed();
                if (showProgress)
                {
                    WriteProgress(BlockTransfer.Progress(3, activity, done, BlockCount, blockSize));
                }
            }

            WriteObject(new NvmeBlockTransfer
            {
                ControllerName = Controller.Name,
                Operation = Deallocate ? "Deallocate" : "WriteZeroes",
                NamespaceId = NamespaceId,
                StartingLba = (ulong)StartingLba,
                BlockCount = BlockCount,
                BlockSize = blockSize,
                Bytes = BlockCount * blockSize,
            });
        }
        catch (NvmeTimeoutException e) when (!StopToken.IsCancellationRequested && stall.Token.IsCancellationRequested)
        {
            WriteNvmeError(BlockTransfer.Stalled(e, TimeoutSec, done, BlockCount), Controller);
        }
        catch (Exception e) when (IsReportable(e))
        {
            WriteNvmeError(e, Controller);
        }
    }

    private bool WhatIfRequested => MyInvocation.BoundParameters.TryGetValue("WhatIf", out object? w) && w is SwitchParameter { IsPresent: true };
}
