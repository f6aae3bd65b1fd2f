using System.Globalization;
using System.Management.Automation;
using NvmePS.Engine.Admin;

namespace NvmePS.Commands;

/// <summary>When a firmware image committed by Update-NvmeFirmware starts running.</summary>
public enum NvmeFirmwareActivation
{
    /// <summary>Store the image in the slot only (CA 000b).</summary>
    None,

    /// <summary>At the next Controller Level Reset (CA 001b).</summary>
    AtReset,

    /// <summary>At once, without a reset (CA 011b), when the controller supports it (FRMW bit 4).</summary>
    Now,
}

/// <summary>Update-NvmeFirmware: Firmware Image Download in pieces no larger than the transport carries, with progress,
/// then Firmware Commit into a slot. Writes the Firmware Slot log afterwards.</summary>
[Cmdlet(VerbsData.Update, "NvmeFirmware", SupportsShouldProcess = true, ConfirmImpact = ConfirmImpact.High, DefaultParameterSetName = PathSet)]
[OutputType(typeof(NvmeFirmwareSlots))]
public sealed class UpdateNvmeFirmwareCommand : NvmeCmdlet
{
    private const string PathSet = "Path";
    private const string ImageSet = "Image";

    [Parameter(Mandatory = true, Position = 0, ValueFromPipeline = true)]
    [ValidateNotNull]
    [LiveObject]
    public NvmeAdminConnection Controller { get; set; } = null!;

    /// <summary>The firmware image file.</summary>
    [Parameter(Mandatory = true, Position = 1, ParameterSetName = PathSet)]
    [ValidateNotNullOrEmpty]
    public string Path { get; set; } = string.Empty;

    /// <summary>The firmware image as bytes.</summary>
    [Parameter(Mandatory = true, ParameterSetName = ImageSet)]
    [ValidateNotNull]
    public byte[] Image { get; set; } = Array.Empty<byte>();

    /// <summary>The slot (1-7); 0, the default, lets the controller choose.</summary>
    [Parameter]
    [ValidateRange(0, 7)]
    public byte Slot { get; set; }

    /// <summary>When the new image starts running: None, AtReset (the default) or Now.</summary>
    [Parameter]
    public NvmeFirmwareActivation Activate { get; set; } = NvmeFirmwareActivation.AtReset;

    /// <summary>Update without the extra confirmation prompt.</summary>
    [Parameter]
    public SwitchParameter Force { get; set; }

    /// <summary>Seconds to wait for each command (the default is 120: a commit may take a while).</summary>
    [Parameter]
    [ValidateRange(1, 3600)]
    public int TimeoutSec { get; set; } = 120;

    protected override void ProcessRecord()
    {
        if (!AdminCmdlets.CheckConnected(this, Controller))
        {
            return;
        }

        byte[] image = Image;
        string source = "the image given";
        if (ParameterSetName == PathSet)
        {
            string full = GetUnresolvedProviderPathFromPSPath(Path);
            try
            {
                image = File.ReadAllBytes(full);
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException)
            {
                WriteNvmeError(e, Path);
                return;
            }

            source = full;
        }

        if (image.Length == 0 || (image.Length & 3) != 0)
        {
            ThrowInputError("NvmeInvalidArgument", string.Format(CultureInfo.InvariantCulture,
                "A firmware image is a whole number of dwords; {0} has {1} bytes.", source, image.Length), ErrorCategory.InvalidArgument, source);
        }

        using var cts = LinkedTimeout(TimeoutSec);
        try
        {
            var identity = Wait(Controller.Admin.IdentifyControllerAsync(cts.Token));
            string where = NamespaceCmdlets.Describe(identity);
            string what = string.Format(CultureInfo.InvariantCulture, "Download {0} ({1} bytes) to {2} and commit it to {3}, activated {4}", source, image.Length, where,
                Slot == 0 ? "a slot the controller picks" : "slot " + Slot.ToString(CultureInfo.InvariantCulture),
                Activate switch { NvmeFirmwareActivation.None => "never (stored only)", NvmeFirmwareActivation.Now => "now", _ => "at the next reset" });
            if (!ShouldProcessDestructive(what, "Update firmware", Force))
            {
                return;
            }

            var progress = new ProgressRecord(1, "Firmware Image Download", what);
            int chunk = Controller.Admin.ChunkLimit;
            for (int done = 0; done < image.Length; done += chunk)
            {
                progress.PercentComplete = (int)(100L * done / image.Length);
                WriteProgress(progress);
                int n = Math.Min(chunk, image.Length - done);
                Wait(Controller.Admin.FirmwareImageDownloadAsync(image.AsMemory(done, n), done, cancellationToken: cts.Token));
            }

            progress.RecordType = ProgressRecordType.Completed;
            WriteProgress(progress);
            var action = Activate switch
            {
                NvmeFirmwareActivation.None => NvmeFirmwareCommitAction.Replace,
                NvmeFirmwareActivation.Now => NvmeFirmwareCommitAction.ReplaceAndActivateImmediately,
                _ => NvmeFirmwareCommitAction.ReplaceAndActivate,
            };
            Wait(Controller.Admin.FirmwareCommitAsync(Slot, action, cancellationToken: cts.Token));
            WriteObject(NvmeFirmwareSlots.From(Wait(Controller.Admin.GetFirmwareSlotLogAsync(cts.Token)), Controller.Name));
        }
        catch (Exception e) when (IsReportable(e))
        {
            WriteNvmeError(e, Controller);
        }
    }
}
