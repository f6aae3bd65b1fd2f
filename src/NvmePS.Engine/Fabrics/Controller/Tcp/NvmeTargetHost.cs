using System.Collections.Concurrent;
using System.Net;

namespace NvmePS.Engine.Fabrics.Controller.Tcp;

/// <summary>
/// One NVMe/TCP target: the engine's controller (NvmeTarget) with its NVM subsystems and their namespaces, served by
/// an NvmeTcpTarget listener on one address; the discovery controller answers on the same port, and on an optional
/// discovery-only port. The first subsystem is the one it was started with; more can be added while it runs, as
/// nvmet and nvmf_tgt serve several subsystems on one port. Shared by Start-NvmfTarget, Add-NvmfSubsystem and
/// `nvmeps target`, which only wire arguments to it.
/// </summary>
public sealed class NvmeTargetHost : IAsyncDisposable
{
    private readonly NvmeTarget _target;
    private readonly NvmeTcpTarget _tcp;
    private int _stopped;

    private readonly ConcurrentDictionary<(string Nqn, uint Nsid), NvmeNamespaceSpec> _specs = new();
    private IPEndPoint? _discoveryEndPoint;

    private NvmeTargetHost(NvmeTarget target, NvmeTcpTarget tcp, NvmeSubsystem subsystem, IPEndPoint local, IReadOnlyList<NvmeNamespaceSpec> specs)
    {
        _target = target;
        _tcp = tcp;
        Subsystem = subsystem;
        LocalEndPoint = local;
        Specs = specs;
        StartedAt = DateTime.Now;
    }

    /// <summary>The subsystem the target was started with.</summary>
    public NvmeSubsystem Subsystem { get; }

    /// <summary>Every NVM subsystem served, the first one first, then the added ones by NQN.</summary>
    public IReadOnlyList<NvmeSubsystem> Subsystems =>
        [Subsystem, .. _target.Subsystems.Where(s => !ReferenceEquals(s, Subsystem)).OrderBy(s => s.Nqn, StringComparer.Ordinal)];

    /// <summary>The discovery-only port, when one was opened.</summary>
    public IPEndPoint? DiscoveryEndPoint => Volatile.Read(ref _discoveryEndPoint);

    public IPEndPoint LocalEndPoint { get; }

    /// <summary>The namespaces as given, in NSID order of creation.</summary>
    public IReadOnlyList<NvmeNamespaceSpec> Specs { get; }

    public DateTime StartedAt { get; }

    /// <summary>The spec a namespace of the first subsystem was created from.</summary>
    public NvmeNamespaceSpec? SpecOf(uint nsid) => SpecOf(Subsystem, nsid);

    /// <summary>The spec a namespace of <paramref name="subsystem"/> was created from.</summary>
    public NvmeNamespaceSpec? SpecOf(NvmeSubsystem subsystem, uint nsid)
    {
        ArgumentNullException.ThrowIfNull(subsystem);
        return _specs.TryGetValue((subsystem.Nqn, nsid), out var s) ? s : null;
    }

    /// <summary>True when this target serves <paramref name="nqn"/>.</summary>
    public bool Serves(string nqn) => _target.GetSubsystem(nqn) is { IsDiscovery: false };

    /// <summary>Adds an NVM subsystem to the running target, on the same port. Hosts learn of it through the
    /// discovery log (its generation counter changes and connected discovery controllers get the AEN).</summary>
    /// <exception cref="InvalidOperationException">The target already serves <paramref name="subsystemNqn"/>.</exception>
    /// <remarks>DH-HMAC-CHAP keys in <paramref name="hostKeys"/> are in place before any host may connect.</remarks>
    public NvmeSubsystem AddSubsystem(string subsystemNqn, IReadOnlyList<NvmeNamespaceSpec> namespaces, IReadOnlyList<string> allowedHostNqns,
        IReadOnlyDictionary<string, Auth.DhchapHostKey>? hostKeys = null)
    {
        ArgumentNullException.ThrowIfNull(namespaces);
        ArgumentNullException.ThrowIfNull(allowedHostNqns);
        ObjectDisposedException.ThrowIf(!IsRunning, this);
        ValidateNamespaces(namespaces);
        return CreateSubsystem(_target, subsystemNqn, namespaces, allowedHostNqns, _specs, hostKeys);
    }

    /// <summary>Opens a port that serves only the discovery controller (the conventional one is 8009), so hosts that
    /// discover first find every subsystem's I/O port there.</summary>
    public async Task<IPEndPoint> ListenDiscoveryAsync(IPEndPoint listen, bool allowNonLoopback = false)
    {
        ArgumentNullException.ThrowIfNull(listen);
        ObjectDisposedException.ThrowIf(!IsRunning, this);
        if (DiscoveryEndPoint is not null)
        {
            throw new InvalidOperationException($"The target already has a discovery port, {NvmeEndpoint.Format(DiscoveryEndPoint.Address.ToString(), DiscoveryEndPoint.Port)}.");
        }

        var port = await _tcp.ListenAsync(listen, allowNonLoopback, discoveryOnly: true).ConfigureAwait(false);
        var local = new IPEndPoint(IPAddress.Parse(port.Traddr), int.Parse(port.Trsvcid, System.Globalization.CultureInfo.InvariantCulture));
        Volatile.Write(ref _discoveryEndPoint, local);
        return local;
    }

    private static NvmeSubsystem CreateSubsystem(NvmeTarget target, string nqn, IReadOnlyList<NvmeNamespaceSpec> namespaces, IReadOnlyList<string> allowedHostNqns,
        ConcurrentDictionary<(string Nqn, uint Nsid), NvmeNamespaceSpec> specs, IReadOnlyDictionary<string, Auth.DhchapHostKey>? hostKeys)
    {
        if (hostKeys?.Keys.FirstOrDefault(h => !allowedHostNqns.Contains(h, StringComparer.Ordinal)) is { } stray)
        {
            throw new ArgumentException($"{stray} has a DH-HMAC-CHAP key but is not an allowed host.");
        }

        // No host may connect (or see it in the discovery log) until its namespaces are all in place: hosts are
        // allowed last.
        var subsystem = target.AddSubsystem(nqn, allowAnyHost: false);
        try
        {
            foreach (var ns in namespaces)
            {
                specs[(nqn, subsystem.AddNamespace(ns).Nsid)] = ns;
            }

            foreach (string host in allowedHostNqns)
            {
                subsystem.AllowHost(host, hostKeys?.GetValueOrDefault(host));
            }

            if (allowedHostNqns.Count == 0)
            {
                subsystem.AllowAnyHost = true;
            }

            return subsystem;
        }
        catch
        {
            target.RemoveSubsystem(nqn);
            foreach (var key in specs.Keys.Where(k => k.Nqn == nqn))
            {
                specs.TryRemove(key, out _);
            }

            throw;
        }
    }

    public bool IsRunning => Volatile.Read(ref _stopped) == 0;

    public NvmeTcpTarget Listener => _tcp;

    /// <summary>A fresh uuid-based subsystem NQN for a target started without one.</summary>
    public static string NewSubsystemNqn() => Nqn.FromUuid(Guid.NewGuid());

    /// <summary>Checks what can be checked before anything starts: a file namespace without ",size=" must already
    /// exist (with a size the engine creates or extends the file), must not be a directory, and must hold at least
    /// <see cref="NvmeNamespaceSpec.MinSize"/> bytes (a character device such as /dev/null holds none).</summary>
    /// <exception cref="FileNotFoundException">A file namespace without a size names a missing file.</exception>
    /// <exception cref="NvmeNamespaceSpecException">A file namespace names a directory or too small a file.</exception>
    public static void ValidateNamespaces(IEnumerable<NvmeNamespaceSpec> namespaces)
    {
        ArgumentNullException.ThrowIfNull(namespaces);
        foreach (var spec in namespaces.Where(s => !s.IsMemory))
        {
            if (Directory.Exists(spec.Path))
            {
                throw new NvmeNamespaceSpecException(spec.ToString(), $"'{spec.Path}' is a directory; a namespace is backed by a file or a block device.");
            }

            if (spec.Size is not null)
            {
                continue;
            }

            if (!File.Exists(spec.Path))
            {
                throw new FileNotFoundException($"Namespace file '{spec.Path}' does not exist; create it first or give a size ('{spec.Path},size=1G').", spec.Path);
            }

            long length;
            try
            {
                using var handle = File.OpenHandle(spec.Path!, FileMode.Open, FileAccess.Read, FileShare.ReadWrite);
                length = RandomAccess.GetLength(handle);
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException)
            {
                throw new NvmeNamespaceSpecException(spec.ToString(), $"'{spec.Path}' cannot be opened: {e.Message}", e);
            }

            if (length < NvmeNamespaceSpec.MinSize || length % spec.BlockSize != 0)
            {
                throw new NvmeNamespaceSpecException(spec.ToString(),
                    $"'{spec.Path}' holds {length} bytes; a namespace needs at least {NvmeNamespaceSpec.MinSize} and a multiple of the block size {spec.BlockSize} (give ',size=' to extend a file).");
            }
        }
    }

    /// <summary>True when a listener on <paramref name="listen"/> would share this target's port. The listener sets
    /// SO_REUSEADDR, which on Linux also lets a second socket bind the same port, so front ends refuse that
    /// themselves rather than split one port's connections between two targets. Port 0 never conflicts.</summary>
    public bool SharesPortWith(IPEndPoint listen)
    {
        ArgumentNullException.ThrowIfNull(listen);
        return listen.Port != 0 && IsRunning && (Shares(LocalEndPoint, listen) || (DiscoveryEndPoint is { } d && Shares(d, listen)));

        static bool Shares(IPEndPoint mine, IPEndPoint other) => mine.Port == other.Port
            && (mine.Address.Equals(other.Address) || other.Address.Equals(IPAddress.Any) || other.Address.Equals(IPAddress.IPv6Any)
                || mine.Address.Equals(IPAddress.Any) || mine.Address.Equals(IPAddress.IPv6Any));
    }

    public static async Task<NvmeTargetHost> StartAsync(IPEndPoint listen, string subsystemNqn, IReadOnlyList<NvmeNamespaceSpec> namespaces,
        IReadOnlyList<string> allowedHostNqns, bool allowNonLoopback = false, NvmeTargetOptions? options = null, IReadOnlyDictionary<string, Auth.DhchapHostKey>? hostKeys = null)
    {
        ValidateNamespaces(namespaces);
        var target = new NvmeTarget(options);
        NvmeTcpTarget? tcp = null;
        try
        {
            var specs = new ConcurrentDictionary<(string Nqn, uint Nsid), NvmeNamespaceSpec>();
            var subsystem = CreateSubsystem(target, subsystemNqn, namespaces, allowedHostNqns, specs, hostKeys);
            tcp = new NvmeTcpTarget(target);
            await tcp.ListenAsync(listen, allowNonLoopback).ConfigureAwait(false);
            var host = new NvmeTargetHost(target, tcp, subsystem, tcp.LocalEndPoints[0], namespaces);
            foreach (var pair in specs)
            {
                host._specs[pair.Key] = pair.Value;
            }

            return host;
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
