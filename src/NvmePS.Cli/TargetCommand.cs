using System.CommandLine;
using System.Runtime.InteropServices;
using NvmePS.Engine.Fabrics;
using NvmePS.Engine.Fabrics.Controller;
using NvmePS.Engine.Fabrics.Controller.Tcp;

namespace NvmePS.Cli;

/// <summary>`nvmeps target`: Start-NvmfTarget as a foreground daemon, until Ctrl+C or SIGTERM.</summary>
internal static class TargetCommand
{
    public static Command Create()
    {
        var listen = new Option<string>("--listen") { Description = "address:port to listen on (port 0 picks a free one)", DefaultValueFactory = _ => "127.0.0.1:4420" };
        var nqn = new Option<string>("--subsystem-nqn") { Description = "NQN of the NVM subsystem (default: a new uuid-based NQN)" };
        var ns = new Option<string[]>("--namespace")
        {
            Description = "memory:SIZE, file:PATH or PATH, optionally ,size=SIZE (files) ,bs=512|4096 ,nsid=N ,ro; a comma in a path is written twice (repeat for more namespaces; default memory:64MB, as Start-NvmfTarget)",
            AllowMultipleArgumentsPerToken = false,
        };
        var discovery = new Option<string>("--discovery-listen") { Description = "also serve the discovery controller alone on address:port (8009 by convention)" };
        var hosts = new Option<string[]>("--allowed-host-nqn") { Description = "host NQN allowed to connect (repeatable; none: any host)" };
        var nonLoopback = new Option<bool>("--allow-non-loopback") { Description = "serve on an address that is not loopback" };
        var cmd = new Command("target", "Serve an NVMe/TCP target in the foreground until Ctrl+C or SIGTERM; the discovery controller answers on the same port. "
            + $"Exit codes: {ExitCodes.Success} stopped cleanly, {ExitCodes.Failed} could not start (port in use, file I/O), {ExitCodes.InvalidArguments} invalid arguments.")
        {
            listen, nqn, ns, hosts, discovery, nonLoopback,
        };
        cmd.SetAction(async (result, cancellationToken) =>
        {
            IReadOnlyList<NvmeNamespaceSpec> specs;
            System.Net.IPEndPoint endPoint;
            System.Net.IPEndPoint? discoveryEndPoint = null;
            string subsystem = result.GetValue(nqn) ?? NvmeTargetHost.NewSubsystemNqn();
            try
            {
                endPoint = NvmeEndpoint.Parse(result.GetValue(listen)!, NvmeEndpoint.IoPort);
                if (result.GetValue(discovery) is { } d)
                {
                    discoveryEndPoint = NvmeEndpoint.Parse(d, NvmeEndpoint.DiscoveryPort);
                }

                specs = (result.GetValue(ns) is { Length: > 0 } given ? given : ["memory:64MB"]).Select(s => NvmeNamespaceSpec.Parse(s)).ToList();
                NvmeTargetHost.ValidateNamespaces(specs);
                if (!Nqn.IsWellFormed(subsystem))
                {
                    throw new FormatException($"'{subsystem}' is not a well-formed NQN (nqn.yyyy-mm.reverse.domain:name, at most 223 bytes).");
                }
            }
            catch (Exception e) when (e is FormatException or FileNotFoundException)
            {
                await Console.Error.WriteLineAsync($"nvmeps target: {e.Message}").ConfigureAwait(false);
                return ExitCodes.InvalidArguments;
            }

            string[] allowed = result.GetValue(hosts) ?? Array.Empty<string>();

            // Ctrl+C arrives through the token; SIGTERM is handled here too so `kill` and systemd stop it cleanly.
            using var stop = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
            using var sigterm = PosixSignalRegistration.Create(PosixSignal.SIGTERM, ctx =>
            {
                ctx.Cancel = true;
                stop.Cancel();
            });

            NvmeTargetHost target;
            try
            {
                target = await NvmeTargetHost.StartAsync(endPoint, subsystem, specs, allowed, result.GetValue(nonLoopback)).ConfigureAwait(false);
            }
            catch (Exception e) when (e is ArgumentException or IOException or UnauthorizedAccessException or InvalidOperationException or System.Net.Sockets.SocketException)
            {
                await Console.Error.WriteLineAsync($"nvmeps target: {e.Message}").ConfigureAwait(false);
                return ExitCodes.Failed;
            }

            if (discoveryEndPoint is not null)
            {
                try
                {
                    await target.ListenDiscoveryAsync(discoveryEndPoint, result.GetValue(nonLoopback)).ConfigureAwait(false);
                }
                catch (Exception e) when (e is ArgumentException or IOException or InvalidOperationException or System.Net.Sockets.SocketException)
                {
                    await target.DisposeAsync().ConfigureAwait(false);
                    await Console.Error.WriteLineAsync($"nvmeps target: {e.Message}").ConfigureAwait(false);
                    return ExitCodes.Failed;
                }
            }

            await using (target.ConfigureAwait(false))
            {
                Console.WriteLine($"NVMe/TCP target {target.Subsystem.Nqn} listening on {target.LocalEndPoint} (discovery on the same port)");
                if (target.DiscoveryEndPoint is { } dep)
                {
                    Console.WriteLine($"  discovery controller also on {dep}");
                }

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
            return ExitCodes.Success;
        });
        return cmd;
    }
}

/// <summary>Byte counts as the module prints them (the engine's <see cref="NvmePS.Engine.Admin.NvmeUnits"/>).</summary>
internal static class Format
{
    public static string Bytes(decimal bytes) => NvmePS.Engine.Admin.NvmeUnits.FormatBytes(bytes);
}
