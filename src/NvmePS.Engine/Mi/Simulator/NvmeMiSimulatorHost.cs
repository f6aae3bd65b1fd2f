using NvmePS.Engine.Mctp;

namespace NvmePS.Engine.Mi.Simulator;

/// <summary>Where the simulated endpoint is served.</summary>
public enum SimulatorTransportKind
{
    /// <summary>In this process only (tests, the embedded demo).</summary>
    InProcess,
    /// <summary>A libmctp demux-daemon-compatible socket other processes can connect to.</summary>
    Demux,
    /// <summary>Kernel AF_MCTP, bound to message type 4 (needs a kernel with MCTP and a configured EID).</summary>
    AfMctp,
    /// <summary>As a client of an existing demux daemon (e.g. OpenBMC's mctp-demux-daemon), answering at the daemon's
    /// own EID (<see cref="SimulatorHostOptions.DaemonEid"/>).</summary>
    DemuxClient,
}

/// <summary>Settings for <see cref="NvmeMiSimulatorHost"/>.</summary>
public sealed record SimulatorHostOptions
{
    public SimulatorTransportKind Transport { get; init; } = SimulatorTransportKind.InProcess;

    /// <summary>The simulated endpoint's EID (in-process and demux); AF_MCTP uses the kernel's address.</summary>
    public byte Eid { get; init; } = 0x1D;

    /// <summary>MCTP network id for in-process addressing and for the AF_MCTP bind (0 = any).</summary>
    public uint Network { get; init; } = 1;

    /// <summary>Demux socket name (abstract unless it contains '/').</summary>
    public string DemuxSocketName { get; init; } = MctpDemuxProtocol.DefaultSocketName;

    /// <summary>EID of the demux daemon itself (the requester side).</summary>
    public byte DaemonEid { get; init; } = 8;

    /// <summary>Local EID the AF_MCTP responder binds (0xFF: any local EID of the network).</summary>
    public byte AfMctpLocalEid { get; init; } = SockaddrMctp.AddrAny;

    public SimulatorOptions Simulator { get; init; } = new();
}

/// <summary>
/// Hosts the simulated NVMe-MI endpoint: <c>StartAsync</c> with a transport choice, <c>ConnectAsync</c> for a client
/// endpoint that reaches it, <c>StopAsync</c> to end. The console front end serves it in the foreground with this.
/// </summary>
public sealed class NvmeMiSimulatorHost : IAsyncDisposable
{
    private readonly TimeProvider _time;
    private InProcessMctpTransport? _inProcess;
    private MctpDemuxDaemon? _daemon;
    private AfMctpResponderHost? _afMctp;
    private MctpDemuxResponderClient? _demuxClient;

    private NvmeMiSimulatorHost(SimulatorHostOptions options, TimeProvider time)
    {
        Options = options;
        _time = time;
        Subsystem = new SimulatedSubsystem(options.Simulator, time);
        Responder = new NvmeMiResponder(Subsystem, time);
    }

    public SimulatorHostOptions Options { get; }

    public SimulatedSubsystem Subsystem { get; }

    public NvmeMiResponder Responder { get; }

    /// <summary>The address a client uses to reach the endpoint.</summary>
    public MctpEndpointAddress EndpointAddress => Options.Transport switch
    {
        SimulatorTransportKind.Demux => new(0, Options.Eid),
        SimulatorTransportKind.DemuxClient => new(0, Options.DaemonEid),
        SimulatorTransportKind.AfMctp when Options.AfMctpLocalEid != SockaddrMctp.AddrAny => new(Options.Network, Options.AfMctpLocalEid),
        _ => new(Options.Network, Options.Eid),
    };

    /// <summary>The in-process network (for <see cref="SimulatorTransportKind.InProcess"/>).</summary>
    public InProcessMctpTransport? InProcessTransport => _inProcess;

    public bool IsRunning { get; private set; }

    /// <summary>Starts serving on the chosen transport.</summary>
    public static async Task<NvmeMiSimulatorHost> StartAsync(SimulatorHostOptions? options = null, TimeProvider? timeProvider = null, CancellationToken cancellationToken = default)
    {
        cancellationToken.ThrowIfCancellationRequested();
        options ??= new SimulatorHostOptions();
        var host = new NvmeMiSimulatorHost(options, timeProvider ?? TimeProvider.System);
        switch (options.Transport)
        {
            case SimulatorTransportKind.InProcess:
                host._inProcess = new InProcessMctpTransport(host._time, options.DaemonEid);
                host._inProcess.Register(new MctpEndpointAddress(options.Network, options.Eid), host.Responder);
                host.Responder.UnsolicitedSender = host._inProcess.SenderFor(new MctpEndpointAddress(options.Network, options.Eid));
                break;
            case SimulatorTransportKind.Demux:
                host._daemon = MctpDemuxDaemon.Start(options.DemuxSocketName, options.DaemonEid);
                host._daemon.AttachEndpoint(options.Eid, host.Responder);
                host.Responder.UnsolicitedSender = host._daemon.SenderFor(options.Eid);
                break;
            case SimulatorTransportKind.AfMctp:
                host._afMctp = AfMctpResponderHost.Start(host.Responder, MctpMessageTypes.NvmeManagement, options.Network, options.AfMctpLocalEid);
                host.Responder.UnsolicitedSender = host._afMctp.Sender;
                break;
            case SimulatorTransportKind.DemuxClient:
                host._demuxClient = await MctpDemuxResponderClient.ConnectAsync(host.Responder, options.DemuxSocketName, cancellationToken: cancellationToken).ConfigureAwait(false);
                break;
            default:
                throw new ArgumentOutOfRangeException(nameof(options), "Unknown simulator transport.");
        }

        host.IsRunning = true;
        return host;
    }

    /// <summary>A client endpoint reaching this simulator over its transport.</summary>
    public async Task<NvmeMiEndpoint> ConnectAsync(NvmeMiEndpointOptions? options = null, CancellationToken cancellationToken = default)
    {
        IMctpTransport transport = Options.Transport switch
        {
            SimulatorTransportKind.InProcess => new NonOwningTransport(_inProcess!),
            SimulatorTransportKind.Demux or SimulatorTransportKind.DemuxClient => await MctpDemuxTransport.ConnectAsync(Options.DemuxSocketName, cancellationToken: cancellationToken).ConfigureAwait(false),
            _ => new AfMctpTransport(),
        };
        return new NvmeMiEndpoint(transport, EndpointAddress, options, _time, ownsTransport: true);
    }

    /// <summary>Serves in the foreground until <paramref name="cancellationToken"/> fires (Ctrl+C in the console front
    /// end), reporting the endpoint and a periodic health line through <paramref name="log"/>.</summary>
    public static async Task RunUntilCancelledAsync(SimulatorHostOptions options, Action<string>? log = null, TimeSpan? statusInterval = null, CancellationToken cancellationToken = default)
    {
        await using var host = await StartAsync(options, null, cancellationToken).ConfigureAwait(false);
        log?.Invoke($"Serving {host.Describe()}. Press Ctrl+C to stop.");
        TimeSpan interval = statusInterval ?? TimeSpan.FromSeconds(30);
        try
        {
            while (!cancellationToken.IsCancellationRequested)
            {
                await Task.Delay(interval, cancellationToken).ConfigureAwait(false);
                log?.Invoke(host.StatusLine());
            }
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
        {
        }

        log?.Invoke("Simulator stopped.");
    }

    /// <summary>A one-line summary of the simulated subsystem's state.</summary>
    public string StatusLine()
    {
        lock (Subsystem.Gate)
        {
            var smart = Subsystem.ComputeSmart();
            return $"{smart.TemperatureKelvin - 273} °C, {smart.PercentageUsed}% used, critical warning 0x{smart.CriticalWarning:X2}, " +
                   $"firmware {Subsystem.ActiveFirmwareRevision}, {Subsystem.Namespaces.Count} namespace(s), " +
                   $"{Responder.HandledRequests} request(s) answered, {Responder.DroppedMessages} dropped";
        }
    }

    /// <summary>One line for status output.</summary>
    public string Describe() => Options.Transport switch
    {
        SimulatorTransportKind.InProcess => $"simulated NVMe-MI endpoint in-process at {EndpointAddress}",
        SimulatorTransportKind.Demux => $"simulated NVMe-MI endpoint EID {Options.Eid} behind demux socket '{Options.DemuxSocketName}' (daemon EID {Options.DaemonEid})",
        SimulatorTransportKind.DemuxClient => $"simulated NVMe-MI endpoint as a client of the demux daemon at '{Options.DemuxSocketName}', answering at its EID {Options.DaemonEid}",
        _ => $"simulated NVMe-MI endpoint on AF_MCTP (message type 4, network {(Options.Network == 0 ? "any" : Options.Network)}, " +
             $"local EID {(Options.AfMctpLocalEid == SockaddrMctp.AddrAny ? "any" : Options.AfMctpLocalEid)})",
    };

    public async Task StopAsync()
    {
        IsRunning = false;
        Responder.StopAsyncEvents();
        if (_daemon is not null)
        {
            await _daemon.DisposeAsync().ConfigureAwait(false);
            _daemon = null;
        }

        if (_afMctp is not null)
        {
            await _afMctp.DisposeAsync().ConfigureAwait(false);
            _afMctp = null;
        }

        if (_demuxClient is not null)
        {
            await _demuxClient.DisposeAsync().ConfigureAwait(false);
            _demuxClient = null;
        }

        if (_inProcess is not null)
        {
            await _inProcess.DisposeAsync().ConfigureAwait(false);
            _inProcess = null;
        }
    }

    public async ValueTask DisposeAsync()
    {
        await StopAsync().ConfigureAwait(false);
        Subsystem.Dispose();
    }

    /// <summary>Lets clients share the host's in-process network without closing it.</summary>
    private sealed class NonOwningTransport(IMctpTransport inner) : IMctpTransport, IMctpEventSource
    {
        public string Name => inner.Name;

        public ValueTask<IMctpListener> ListenAsync(MctpEndpointAddress peer, byte messageType, CancellationToken cancellationToken) =>
            inner is IMctpEventSource events ? events.ListenAsync(peer, messageType, cancellationToken)
                : throw new NotSupportedException($"{inner.Name} cannot deliver an endpoint's own messages.");

        public ValueTask<IMctpExchange> OpenExchangeAsync(MctpEndpointAddress peer, byte messageType, CancellationToken cancellationToken) =>
            inner.OpenExchangeAsync(peer, messageType, cancellationToken);

        public ValueTask DisposeAsync() => ValueTask.CompletedTask;
    }
}
