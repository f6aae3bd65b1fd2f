using System.Management.Automation;
using NvmePS.Engine.Admin;

namespace NvmePS.Commands;

/// <summary>Checks shared by the Admin cmdlets.</summary>
internal static class AdminCmdlets
{
    public const string DisconnectedErrorId = "NvmeControllerDisconnected";

    /// <summary>Writes a non-terminating error and returns false when the controller is no longer connected.</summary>
    public static bool CheckConnected(Cmdlet cmdlet, NvmeAdminConnection controller)
    {
        if (controller.IsConnected)
        {
            return true;
        }

        cmdlet.WriteError(new ErrorRecord(
            new InvalidOperationException($"{controller.Name} is disconnected. Connect again ({(controller switch { NvmeMiController => "Connect-NvmeMiEndpoint, then Get-NvmeMiController", NvmeKernelController => "Get-NvmeDevice: the kernel no longer has it", _ => "Connect-NvmfController" })})."),
            DisconnectedErrorId,
            ErrorCategory.ResourceUnavailable,
            controller));
        return false;
    }

    /// <summary>Parses feature names or numbers; unusable input ends the command.</summary>
    public static byte[] ParseFeatures(NvmeCmdlet cmdlet, IEnumerable<string> names)
    {
        var result = new List<byte>();
        foreach (string n in names)
        {
            if (!NvmeAdminNames.TryParse(n, NvmeAdminNames.Features, out byte fid))
            {
                cmdlet.ThrowTerminatingError(new ErrorRecord(
                    new ArgumentException($"'{n}' is not a feature name ({string.Join(", ", NvmeAdminNames.Features.Keys)}) or a number 0-255."),
                    "InvalidFeatureId", ErrorCategory.InvalidArgument, n));
            }

            result.Add(fid);
        }

        return result.ToArray();
    }
}
