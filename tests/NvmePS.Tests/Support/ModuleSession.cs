using System.Management.Automation;

namespace NvmePS.Tests.Support;

/// <summary>One real runspace with out/NvmePS imported for the cmdlet tests, like one pwsh session. A runspace runs
/// one pipeline at a time, so the tests that share it run one at a time.</summary>
[CollectionDefinition(Name)]
public sealed class ModuleSessionCollection : ICollectionFixture<ModuleSession>
{
    public const string Name = "NvmePS module session";
}

public sealed class ModuleSession : IDisposable
{
    public ModuleSession()
    {
        Host = new ModuleRunspace();
    }

    public ModuleRunspace Host { get; }

    public void Dispose() => Host.Dispose();

    /// <summary>Runs Start-NvmfTarget on a free loopback port and returns the target.</summary>
    public NvmfTarget StartTarget(string? nqn = null, string[]? namespaces = null, string[]? allowedHosts = null)
    {
        var inv = Host.Command("Start-NvmfTarget").Param("Listen", "127.0.0.1:0").Param("SubsystemNqn", nqn ?? NewNqn());
        if (namespaces is not null)
        {
            inv.Param("Namespace", namespaces);
        }

        if (allowedHosts is not null)
        {
            inv.Param("AllowedHostNqn", allowedHosts);
        }

        return Assert.IsType<NvmfTarget>(Assert.Single(inv.Invoke().ThrowIfFailed()));
    }

    /// <summary>Runs Connect-NvmfController against a session target.</summary>
    public NvmfController Connect(NvmfTarget target, Action<Invocation>? configure = null)
    {
        var inv = Host.Command("Connect-NvmfController").Param("TransportAddress", target.Address).Param("ServiceId", target.Port)
            .Param("SubsystemNqn", target.SubsystemNqn);
        configure?.Invoke(inv);
        return Assert.IsType<NvmfController>(Assert.Single(inv.Invoke().ThrowIfFailed()));
    }

    public void Stop(NvmfTarget target) => Host.Command("Stop-NvmfTarget").Param("InputObject", target).Invoke().ThrowIfFailed();

    public void Disconnect(NvmfController c) => Host.Command("Disconnect-NvmfController").Param("InputObject", c).Invoke().ThrowIfFailed();

    /// <summary>A [pscustomobject] with these properties, as a script would pipe one (hashtables do not bind by property name).</summary>
    public static PSObject Record(params (string Name, object? Value)[] properties)
    {
        var o = new PSObject();
        foreach ((string name, object? value) in properties)
        {
            o.Properties.Add(new PSNoteProperty(name, value));
        }

        return o;
    }

    public static string NewNqn() => "nqn.2024-01.io.nvmeps.test:" + Guid.NewGuid().ToString("N")[..12];
}

/// <summary>Asserts on ErrorRecords the way scripts match them.</summary>
public static class ErrorAssert
{
    public static ErrorRecord Single(CommandResult r, string errorId, ErrorCategory category)
    {
        Assert.False(r.UnhandledException, r.TerminatingError?.Exception.ToString());
        ErrorRecord e = Assert.Single(r.AllErrors);
        Assert.StartsWith(errorId + ",", e.FullyQualifiedErrorId + ",");
        Assert.Equal(category, e.CategoryInfo.Category);
        return e;
    }
}
