using NvmePS.Engine.Mctp;
using NvmePS.Engine.Mi;
using NvmePS.Engine.Mi.Simulator;
using NvmePS.Interop.Tests.Infrastructure;

namespace NvmePS.Interop.Tests.Mi;

/// <summary>
/// Our NVMe-MI client (AfMctpTransport) and our simulated endpoint, with the real kernel MCTP stack between them:
/// "lo" = the simulator bound on AF_MCTP (type 4) behind a local EID on lo; "tun" = the simulator in userspace
/// behind a TUN device with MTU 68, so the kernel fragments requests and reassembles responses;
/// "oracle" = the same simulator over the in-process transport (no kernel), the reference for comparisons.
/// </summary>
internal sealed class MiRig : IAsyncDisposable
{
    public const byte LoEid = 0x1D;
    public const byte TunLocalEid = 0x20;
    public const byte TunRemoteEid = 0x21;

    private NvmeMiSimulatorHost? _host;

    public required NvmeMiEndpoint Endpoint { get; init; }
    public required SimulatedSubsystem Subsystem { get; init; }
    public required string Path { get; init; }
    public MctpTunEndpoint? Tun { get; private init; }

    public string Describe => Path switch
    {
        "lo" => $"our MI client -> Linux AF_MCTP (lo, EID 0x{LoEid:X2}) -> our simulator bound on AF_MCTP",
        "tun" => $"our MI client -> Linux AF_MCTP (route EID 0x{TunRemoteEid:X2} via TUN, MTU 68) -> our simulator in userspace behind the TUN",
        _ => "our MI client -> in-process transport -> our simulator",
    };

    public static async Task<MiRig> StartAsync(string path, SimulatorOptions? sim = null, TimeSpan? timeout = null)
    {
        sim ??= new SimulatorOptions();
        var epOptions = new NvmeMiEndpointOptions { Timeout = timeout ?? TimeSpan.FromSeconds(10) };
        switch (path)
        {
            case "lo":
                {
                    MctpNetlink.AddAddress("lo", LoEid);
                    var host = await NvmeMiSimulatorHost.StartAsync(new SimulatorHostOptions
                    {
                        Transport = SimulatorTransportKind.AfMctp,
                        Eid = LoEid,
                        Network = 1,
                        Simulator = sim,
                    });
                    host.Subsystem.TemperatureOverrideKelvin = 310;
                    var ep = await host.ConnectAsync(epOptions);
                    return new MiRig { Endpoint = ep, Subsystem = host.Subsystem, Path = path, _host = host };
                }

            case "tun":
                {
                    var subsystem = new SimulatedSubsystem(sim);
                    subsystem.TemperatureOverrideKelvin = 310;
                    var responder = new NvmeMiResponder(subsystem);
                    var tun = await MctpTunEndpoint.CreateAsync(
                        "mctpmi0", TunLocalEid, TunRemoteEid, 68,
                        (src, msg, respond, ct) => responder.HandleAsync(new MctpEndpointAddress(1, src), msg, respond, ct));
                    var ep = new NvmeMiEndpoint(new AfMctpTransport(), new MctpEndpointAddress(1, TunRemoteEid), epOptions, ownsTransport: true);
                    return new MiRig { Endpoint = ep, Subsystem = subsystem, Path = path, Tun = tun };
                }

            default:
                {
                    var host = await NvmeMiSimulatorHost.StartAsync(new SimulatorHostOptions { Transport = SimulatorTransportKind.InProcess, Simulator = sim });
                    host.Subsystem.TemperatureOverrideKelvin = 310;
                    var ep = await host.ConnectAsync(epOptions);
                    return new MiRig { Endpoint = ep, Subsystem = host.Subsystem, Path = path, _host = host };
                }
        }
    }

    public async ValueTask DisposeAsync()
    {
        await Endpoint.DisposeAsync();
        if (_host is not null)
        {
            await _host.DisposeAsync();
        }

        if (Tun is not null)
        {
            await Tun.DisposeAsync();
        }

        if (Path == "lo")
        {
            try
            {
                MctpNetlink.RemoveAddress("lo", LoEid);
            }
            catch (IOException)
            {
            }
        }
    }
}
