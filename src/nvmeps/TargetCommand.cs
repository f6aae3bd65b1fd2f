using System.CommandLine;
using System.Runtime.InteropServices;
using NvmePS.Engine.Fabrics;
using NvmePS.Engine.Fabrics.Controller;
using NvmePS.Shared;

namespace NvmePS.Cli;

/// <summary>`nvmeps target`: Start-NvmfTarget as a foreground daemon, until Ctrl+C or SIGTERM.</summary>
internal static class TargetCommand
{
    public static Command Create()
    {
        var listen = new Option<string>("--listen") { Description = "address:port to listen on (port 0 picks a free one)", DefaultValueFactory = _ => "127.0.0.1:4420" };
        var nqn = new Option<string>("--subsystem-nqn") { Description = "NQN of the NVM subsystem (default: a new uuid-based NQN)" };
        var ns = new Option<string[]>("--namespace") { Description = "memory:SIZE or PATH, optionally ,size=SIZE ,bs=512|4096 ,nsid=N ,ro (repeat for more namespaces)", Required = true, AllowMultipleArgumentsPerToken = false };
        var hosts = new Option<string[]>("--allowed-host-nqn") { Description = "host NQN allowed to connect (repeatable; none: any host)" };
        var nonLoopback = new Option<bool>("--allow-non-loopback") { Description = "serve on an address that is not loopback" };
        var cmd = new Command("target", "Serve an NVMe/TCP target in the foreground until Ctrl+C or SIGTERM; the discovery controller answers on the same port.")
        {
            listen, nqn, ns, hosts, nonLoopback,
        };
        cmd.SetAction(async (result, cancellationToken) =>
        {
            IReadOnlyList<NvmeNamespaceSpec> specs;
            System.Net.IPEndPoint endPoint;
            try
            {
                endPoint = EndpointSpec.Parse(result.GetValue(listen)!, 4420);
                specs = result.GetValue(ns)!.Select(NvmeNamespaceSpec.Parse).ToList();
            }
            catch (FormatException e)
            {
                await Console.Error.WriteLineAsync($"nvmeps target: {e.Message}").ConfigureAwait(false);
                return 2;
            }

            string subsystem = result.GetValue(nqn) ?? Nqn.FromUuid(Guid.NewGuid());
            string[] allowed = result.GetValue(hosts) ?? Array.Empty<string>();

            // Ctrl+C arrives through the token; SIGTERM is handled here too so `kill` and systemd stop it cleanly.
            using var stop = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
            using var sigterm = PosixSignalRegistration.Create(PosixSignal.SIGTERM, ctx =>
            {
                ctx.Cancel = true;
                stop.Cancel();
            });

            TargetHost target;
            try
            {
                target = await TargetHost.StartAsync(endPoint, subsystem, specs, allowed, result.GetValue(nonLoopback)).ConfigureAwait(false);
            }
            catch (Exception e) when (e is ArgumentException or IOException or UnauthorizedAccessException or InvalidOperationException or System.Net.Sockets.SocketException)
            {
                await Console.Error.WriteLineAsync($"nvmeps target: {e.Message}").ConfigureAwait(false);
                return 1;
            }

            await using (target.ConfigureAwait(false))
            {
                Console.WriteLine($"NVMe/TCP target {target.Subsystem.Nqn} listening on {target.LocalEndPoint} (discovery on the same port)");
                foreach (var n in target.Subsystem.Namespaces)
                {
                    Console.WriteLine($"  namespace {n.Nsid}: {n.BlockCount} blocks of {n.BlockSize} bytes ({Format.Bytes(n.BlockCount * n.BlockSize)}), {target.SpecOf(n.Nsid)}");
                }

                Console.WriteLine(allowed.Length == 0 ? "  any host may connect" : $"  allowed hosts: {string.Join(", ", allowed)}");
                Console.WriteLine("Press Ctrl+C to stop.");
                try
                {
                    await Task.Delay(Timeout.Infinite, stop.Token).ConfigureAwait(false);
                }
                catch (OperationCanceledException)
                {
                    // Stop requested.
                }

                Console.WriteLine($"Stopping: {target.Listener.ActiveConnections} connection(s) open, {target.Listener.AcceptedConnections} accepted in all.");
            }

            Console.WriteLine("Stopped.");
            return 0;
        });
        return cmd;
    }
}

internal static class Format
{
    public static string Bytes(decimal bytes)
    {
        string[] names = { "B", "KiB", "MiB", "GiB", "TiB" };
        int i = 0;
        while (bytes >= 1024 && i < names.Length - 1)
        {
            bytes /= 1024;
            i++;
        }

        return $"{bytes.ToString("0.##", System.Globalization.CultureInfo.InvariantCulture)} {names[i]}";
    }
}
