using System.Management.Automation;
using NvmePS.Engine.Fabrics.Controller;
using NvmePS.Engine.Fabrics.Controller.Tcp;

namespace NvmePS.Commands;

/// <summary>
/// Turns -Namespace strings into engine specs for Start-NvmfTarget and Add-NvmfSubsystem: the engine's strict parser,
/// with PowerShell drives (TestDrive:, a user's own) accepted as path prefixes and paths resolved against the current
/// location. Every failure is one ErrorRecord whose TargetObject is the spec as the user wrote it.
/// </summary>
internal static class NamespaceSpecs
{
    public const string InvalidSpecErrorId = "InvalidNamespaceSpec";
    public const string FileNotFoundErrorId = "NamespaceFileNotFound";

    public static List<NvmeNamespaceSpec> Resolve(PSCmdlet cmdlet, IReadOnlyList<string> texts)
    {
        var specs = new List<NvmeNamespaceSpec>(texts.Count);
        foreach (string text in texts)
        {
            NvmeNamespaceSpec spec;
            try
            {
                spec = NvmeNamespaceSpec.Parse(text, prefix => IsDrive(cmdlet, prefix));
                if (!spec.IsMemory)
                {
                    spec = spec with { Path = cmdlet.GetUnresolvedProviderPathFromPSPath(spec.Path!) };
                }
            }
            catch (Exception e) when (e is FormatException or System.Management.Automation.DriveNotFoundException or ProviderNotFoundException or NotSupportedException)
            {
                cmdlet.ThrowTerminatingError(new ErrorRecord(new ArgumentException($"Namespace '{text}': {e.Message}", e), InvalidSpecErrorId, ErrorCategory.InvalidArgument, text));
                throw; // not reached
            }

            try
            {
                NvmeTargetHost.ValidateNamespaces([spec]);
            }
            catch (FileNotFoundException e)
            {
                cmdlet.ThrowTerminatingError(new ErrorRecord(e, FileNotFoundErrorId, ErrorCategory.ObjectNotFound, text));
            }
            catch (NvmeNamespaceSpecException e)
            {
                cmdlet.ThrowTerminatingError(new ErrorRecord(new ArgumentException($"Namespace '{text}': {e.Message}", e), InvalidSpecErrorId, ErrorCategory.InvalidArgument, text));
            }

            specs.Add(spec);
        }

        return specs;
    }

    private static bool IsDrive(PSCmdlet cmdlet, string name)
    {
        try
        {
            return cmdlet.SessionState.Drive.Get(name) is not null;
        }
        catch (System.Management.Automation.DriveNotFoundException)
        {
            return false;
        }
    }
}
