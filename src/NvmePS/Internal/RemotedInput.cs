using System.Collections;
using System.Management.Automation;

namespace NvmePS.Commands;

/// <summary>
/// Objects that hold a live connection (controllers, targets, MI endpoints, simulators) belong to the session that
/// made them. Remoting and Export-Clixml carry only a copy of their properties (a Deserialized.NvmePS.* object), and
/// that copy must fail clearly, naming what it was and where it lives, instead of binding by property name to
/// something of the same name in this session.
/// </summary>
internal static class RemotedInput
{
    private const string DeserializedPrefix = "Deserialized.NvmePS.";

    /// <summary>The NvmePS type a deserialized copy was made from, or null when <paramref name="value"/> is not one.</summary>
    public static string? DeserializedTypeName(object? value) =>
        value is PSObject { BaseObject: PSCustomObject } pso && pso.TypeNames.Count > 0 && pso.TypeNames[0].StartsWith(DeserializedPrefix, StringComparison.Ordinal)
            ? pso.TypeNames[0]["Deserialized.".Length..]
            : null;

    /// <summary>The computer remoting says an object came from (its PSComputerName), or null.</summary>
    public static string? ComputerName(object? value) =>
        value is PSObject pso && pso.Properties["PSComputerName"]?.Value is string name && name.Length > 0 ? name : null;

    /// <summary>True when <paramref name="computerName"/> (a PSComputerName) is not this computer. Loopback names
    /// other than 127.0.0.1 and ::1 count as other computers, as the remoting tests' hosts on 127.0.1.N are.</summary>
    public static bool IsAnotherComputer(string? computerName) =>
        !string.IsNullOrEmpty(computerName)
        && !computerName.Equals("localhost", StringComparison.OrdinalIgnoreCase)
        && computerName != "."
        && computerName != "127.0.0.1"
        && computerName != "::1"
        && !computerName.Equals(Environment.MachineName, StringComparison.OrdinalIgnoreCase)
        && !computerName.Equals(System.Net.Dns.GetHostName(), StringComparison.OrdinalIgnoreCase);

    /// <summary>What to say about a copy of a live object.</summary>
    public static string CopyMessage(string typeName, object value)
    {
        string? from = ComputerName(value);
        string where = from is null ? "the session that made it" : $"the session on {from} that made it";
        string run = from is null
            ? "Run the command in that session."
            : $"Run the command there, for example Invoke-Command -Session $session {{ ... }} with a session to {from}.";
        return $"'{value}' is a copy of an {typeName} object, made by remoting or Export-Clixml, not the object itself: its connection lives in {where}. {run}";
    }
}

/// <summary>
/// On a parameter typed with a live session object: a deserialized copy of one is refused with a message that says
/// what it was and where it lives, instead of PowerShell's "cannot convert Deserialized.NvmePS.X".
/// </summary>
[AttributeUsage(AttributeTargets.Property | AttributeTargets.Field)]
public sealed class LiveObjectAttribute : ArgumentTransformationAttribute
{
    public override object? Transform(EngineIntrinsics engineIntrinsics, object? inputData)
    {
        if (inputData is IList list and not byte[])
        {
            foreach (object? item in list)
            {
                Check(item);
            }
        }
        else
        {
            Check(inputData);
        }

        return inputData;
    }

    private static void Check(object? value)
    {
        if (RemotedInput.DeserializedTypeName(value) is { } typeName)
        {
            throw new ArgumentTransformationMetadataException(RemotedInput.CopyMessage(typeName, value!));
        }
    }
}
