using System.Net;

namespace NvmePS.Engine.Fabrics.Controller;

/// <summary>
/// One NVMe/TCP target: the engine's controller (NvmeTarget) with one NVM subsystem and its namespaces, served by
/// an NvmeTcpTarget listener on one address; the discovery controller answers on the same port. Shared by
/// Start-NvmfTarget and `nvmeps target`, which only wire arguments to it.
/// </summary>
public sealed class NvmeTargetHost : IAsyncDisposable
{
    private readonly NvmeTarget _target;
    private readonly NvmeTcpTarget _tcp;
    private int _stopped;

    private readonly Dictionary<uint, NvmeNamespaceSpec> _specByNsid;

    private NvmeTargetHost(NvmeTarget target, NvmeTcpTarget tcp, NvmeSubsystem subsystem, IPEndPoint local, IReadOnlyList<NvmeNamespaceSpec> specs, Dictionary<uint, NvmeNamespaceSpec> specByNsid)
    {
        _target = target;
        _tcp = tcp;
        Subsystem = subsystem;
        LocalEndPoint = local;
        Specs = specs;
        _specByNsid = specByNsid;
        StartedAt = DateTime.Now;
    }

    public NvmeSubsystem Subsystem { get; }

    public IPEndPoint LocalEndPoint { get; }

    /// <summary>The namespaces as given, in NSID order of creation.</summary>
    public IReadOnlyList<NvmeNamespaceSpec> Specs { get; }

    public DateTime StartedAt { get; }

    /// <summary>The spec a namespace was created from.</summary>
    public NvmeNamespaceSpec? SpecOf(uint nsid) => _specByNsid.TryGetValue(nsid, out var s) ? s : null;

    public bool IsRunning => Volatile.Read(ref _stopped) == 0;

    public NvmeTcpTarget Listener => _tcp;

    /// <summary>A fresh uuid-based subsystem NQN for a target started without one.</summary>
    public static string NewSubsystemNqn() => Nqn.FromUuid(Guid.NewGuid());

    /// <summary>Checks what can be checked before anything starts: a file namespace without ",size=" must already
    /// exist (with a size the engine creates or extends the file).</summary>
    /// <exception cref="FileNotFoundException">A file namespace without a size names a missing file.</exception>
    public static void ValidateNamespaces(IEnumerable<NvmeNamespaceSpec> namespaces)
    {
        ArgumentNullException.ThrowIfNull(namespaces);
        foreach (var spec in namespaces.Where(s => !s.IsMemory && s.Size is null && !File.Exists(s.Path)))
        {
            throw new FileNotFoundException($"Namespace file '{spec.Path}' does not exist; create it first or give a size ('{spec.Path},size=1G').", spec.Path);
        }
    }

    /// <summary>True when a listener on <paramref name="listen"/> would share this target's port. The listener sets
    /// SO_REUSEADDR, which on Linux also lets a second socket bind the same port, so front ends refuse that
    /// themselves rather than split one port's connections between two targets. Port 0 never conflicts.</summary>
    public bool SharesPortWith(IPEndPoint listen)
    {
        ArgumentNullException.ThrowIfNull(listen);
        return listen.Port != 0 && IsRunning && LocalEndPoint.Port == listen.Port
            && (LocalEndPoint.Address.Equals(listen.Address) || listen.Address.Equals(IPAddress.Any) || listen.Address.Equals(IPAddress.IPv6Any));
    }

    public static async Task<NvmeTargetHost> StartAsync(IPEndPoint listen, string subsystemNqn, IReadOnlyList<NvmeNamespaceSpec> namespaces,
        IReadOnlyList<string> allowedHostNqns, bool allowNonLoopback = false, NvmeTargetOptions? options = null)
    {
        var target = new NvmeTarget(options);
        NvmeTcpTarget? tcp = null;
        try
        {
            var subsystem = target.AddSubsystem(subsystemNqn, allowAnyHost: allowedHostNqns.Count == 0);
            foreach (string host in allowedHostNqns)
            {
                subsystem.AllowHost(host);
            }

            var specByNsid = new Dictionary<uint, NvmeNamespaceSpec>();
            foreach (var ns in namespaces)
            {
                specByNsid[subsystem.AddNamespace(ns).Nsid] = ns;
            }

            tcp = new NvmeTcpTarget(target);
            await tcp.ListenAsync(listen, allowNonLoopback).ConfigureAwait(false);
            return new NvmeTargetHost(target, tcp, subsystem, tcp.LocalEndPoints[0], namespaces, specByNsid);
        }
        catch
        {
            if (tcp is not null)
            {
                await tcp.DisposeAsync().ConfigureAwait(false);
            }

            target.Dispose();
            throw;
        }
    }

    /// <summary>Stops listening, closes every connection and releases the namespaces' storage.</summary>
    public async ValueTask DisposeAsync()
    {
        if (Interlocked.Exchange(ref _stopped, 1) != 0)
        {
            return;
        }

        await _tcp.DisposeAsync().ConfigureAwait(false);
        _target.Dispose();
    }
}
