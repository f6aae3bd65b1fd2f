using System.Net;
using NvmePS.Engine.Fabrics;
using NvmePS.Engine.Fabrics.Controller;

namespace NvmePS.Shared;

/// <summary>Parses "address:port" listen/connect endpoints: "127.0.0.1:4420", "[::1]:4420", or an address alone.</summary>
public static class EndpointSpec
{
    public static IPEndPoint Parse(string text, int defaultPort)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(text);
        if (IPEndPoint.TryParse(text, out IPEndPoint? ep) && (text.Contains("]:", StringComparison.Ordinal) || (text.Count(c => c == ':') == 1)))
        {
            return ep;
        }

        if (IPAddress.TryParse(text.Trim('[', ']'), out IPAddress? address))
        {
            return new IPEndPoint(address, defaultPort);
        }

        throw new FormatException($"'{text}' is not an IP address or address:port.");
    }
}

/// <summary>The host identity nvme-cli uses: /etc/nvme/hostnqn and /etc/nvme/hostid when present, else a
/// uuid-based NQN (nqn.2014-08.org.nvmexpress:uuid:&lt;uuid&gt;) generated once per process.</summary>
public static class HostIdentity
{
    private static readonly Guid ProcessHostId = Guid.NewGuid();

    public static (string HostNqn, Guid HostId) Resolve(string? hostNqn, Guid? hostId, string configDirectory = "/etc/nvme")
    {
        Guid id = hostId ?? ReadHostId(configDirectory) ?? ProcessHostId;
        string nqn = hostNqn ?? ReadLine(Path.Combine(configDirectory, "hostnqn")) ?? Nqn.FromUuid(id);
        return (nqn, id);
    }

    private static Guid? ReadHostId(string dir) => Guid.TryParse(ReadLine(Path.Combine(dir, "hostid")), out Guid g) ? g : null;

    private static string? ReadLine(string path)
    {
        try
        {
            // Small files; a huge or unreadable file is ignored rather than trusted.
            var info = new FileInfo(path);
            if (!info.Exists || info.Length > 4096)
            {
                return null;
            }

            string s = File.ReadAllText(path).Trim();
            return s.Length == 0 ? null : s;
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            return null;
        }
    }
}

/// <summary>
/// One NVMe/TCP target: the engine's controller (NvmeTarget) with one NVM subsystem and its namespaces, served by
/// an NvmeTcpTarget listener on one address; the discovery controller answers on the same port. Shared by
/// Start-NvmfTarget and `nvmeps target`, which only wire arguments to it.
/// </summary>
public sealed class TargetHost : IAsyncDisposable
{
    private readonly NvmeTarget _target;
    private readonly NvmeTcpTarget _tcp;
    private int _stopped;

    private readonly Dictionary<uint, NvmeNamespaceSpec> _specByNsid;

    private TargetHost(NvmeTarget target, NvmeTcpTarget tcp, NvmeSubsystem subsystem, IPEndPoint local, IReadOnlyList<NvmeNamespaceSpec> specs, Dictionary<uint, NvmeNamespaceSpec> specByNsid)
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

    public static async Task<TargetHost> StartAsync(IPEndPoint listen, string subsystemNqn, IReadOnlyList<NvmeNamespaceSpec> namespaces,
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
            return new TargetHost(target, tcp, subsystem, tcp.LocalEndPoints[0], namespaces, specByNsid);
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
