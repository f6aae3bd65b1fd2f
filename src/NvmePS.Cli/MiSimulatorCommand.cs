using System.CommandLine;
using System.Runtime.InteropServices;
using NvmePS.Engine.Mi.Simulator;

namespace NvmePS.Cli;

/// <summary>`nvmeps mi-simulator`: the engine's simulated NVMe-MI endpoint served in the foreground until Ctrl+C or SIGTERM.</summary>
internal static class MiSimulatorCommand
{
    public static Command Create()
    {
        var socket = new Option<string?>("--socket") { Description = "serve behind a libmctp demux-daemon-compatible unix socket of this name (abstract unless it contains '/'); default transport" };
        var eid = new Option<byte>("--eid") { Description = "EID of the simulated endpoint behind the demux socket", DefaultValueFactory = _ => 0x1D };
        var afMctp = new Option<bool>("--af-mctp") { Description = "serve on kernel AF_MCTP instead, bound to message type 4 (needs a kernel with MCTP and a local EID)" };
        var net = new Option<uint>("--net") { Description = "MCTP network id for the AF_MCTP bind (0: any)", DefaultValueFactory = _ => 1 };
        var localEid = new Option<byte>("--local-eid") { Description = "local EID the AF_MCTP responder binds (255: any)", DefaultValueFactory = _ => 0xFF };
        var status = new Option<int>("--status-interval") { Description = "seconds between status lines", DefaultValueFactory = _ => 30 };
        var cmd = new Command("mi-simulator", "Serve the simulated NVMe-MI endpoint (two ports, two controllers, SMART that changes over time) until Ctrl+C or SIGTERM.")
        {
            socket, eid, afMctp, net, localEid, status,
        };
        cmd.SetAction(async (result, cancellationToken) =>
        {
            if (result.GetValue(afMctp) && result.GetValue(socket) is not null)
            {
                await Console.Error.WriteLineAsync("nvmeps mi-simulator: --socket and --af-mctp exclude each other.").ConfigureAwait(false);
                return 2;
            }

            int seconds = result.GetValue(status);
            if (seconds <= 0)
            {
                await Console.Error.WriteLineAsync("nvmeps mi-simulator: --status-interval must be a positive number of seconds.").ConfigureAwait(false);
                return 2;
            }

            var options = new SimulatorHostOptions
            {
                Transport = result.GetValue(afMctp) ? SimulatorTransportKind.AfMctp : SimulatorTransportKind.Demux,
                DemuxSocketName = result.GetValue(socket) ?? new SimulatorHostOptions().DemuxSocketName,
                Eid = result.GetValue(eid),
                Network = result.GetValue(net),
                AfMctpLocalEid = result.GetValue(localEid),
            };

            using var stop = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
            using var sigterm = PosixSignalRegistration.Create(PosixSignal.SIGTERM, ctx =>
            {
                ctx.Cancel = true;
                stop.Cancel();
            });

            try
            {
                await NvmeMiSimulatorHost.RunUntilCancelledAsync(options, Console.WriteLine, TimeSpan.FromSeconds(seconds), stop.Token).ConfigureAwait(false);
                return 0;
            }
            catch (Exception e) when (e is NvmePS.Engine.NvmeException or IOException or System.Net.Sockets.SocketException or InvalidOperationException)
            {
                await Console.Error.WriteLineAsync($"nvmeps mi-simulator: {e.Message}").ConfigureAwait(false);
                return 1;
            }
        });
        return cmd;
    }
}
