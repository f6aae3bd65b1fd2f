using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using System.Runtime.InteropServices;
using System.Text.RegularExpressions;
using NvmePS.Engine.Fabrics.Host;
using NvmePS.Tests.Support;

namespace NvmePS.Tests.Console;

/// <summary>The nvmeps console front end, run as the process a user starts.</summary>
public sealed partial class NvmepsConsoleTests
{
    private static string NvmepsDll => Path.Combine(ModuleUnderTest.RepoRoot, "src", "NvmePS.Cli", "bin", ModuleUnderTest.Configuration, "net8.0", "nvmeps.dll");

    [Fact]
    public void Demo_shows_discovery_connect_identify_smart_and_a_verified_read_back()
    {
        var (code, output, error) = Run("demo --size 16MB", TimeSpan.FromSeconds(60));
        Assert.True(code == 0, output + error);
        Assert.Contains("nvme subsystem", output);
        Assert.Contains("current discovery subsystem", output);
        Assert.Contains("nqn.2024-01.io.nvmeps:demo", output);
        Assert.Matches(@"ModelNumber\s+: NvmePS Fabrics Target", output);
        Assert.Matches(@"1\s+16 MiB\s+512\s+32768", output);
        Assert.Contains("CriticalWarning   : None", output);
        var hashes = HashLine().Matches(output).Select(m => m.Groups[1].Value).ToList();
        Assert.Equal(2, hashes.Count);
        Assert.Equal(hashes[0], hashes[1]);
        Assert.Contains("Read-back matches: True", output);
        Assert.EndsWith("Demo complete.", output.TrimEnd());

        // Plainly labelled console output, not an imitation of a pwsh transcript.
        Assert.DoesNotContain("PS>", output);
        Assert.Contains("== Discovery log from the discovery controller at 127.0.0.1:", output);
        Assert.Contains("build.ps1 -Demo", output);
    }

    [Fact]
    public async Task Target_serves_until_SIGTERM_and_hosts_can_use_it()
    {
        int port = FreePort();
        string nqn = ModuleSession.NewNqn();
        using var p = Start($"target --listen 127.0.0.1:{port} --subsystem-nqn {nqn} --namespace memory:4MB --namespace memory:1MB");
        string? first = await p.StandardOutput.ReadLineAsync().WaitAsync(TimeSpan.FromSeconds(30));
        Assert.Equal($"NVMe/TCP target {nqn} listening on 127.0.0.1:{port} (discovery on the same port)", first);

        await using (var c = await NvmeHostAssociation.ConnectAsync(new IPEndPoint(IPAddress.Loopback, port), nqn, null, CancellationToken.None))
        {
            Assert.Equal(new uint[] { 1, 2 }, await c.Admin.GetAllActiveNamespaceIdsAsync());
            var data = Enumerable.Range(0, 4096).Select(i => (byte)i).ToArray();
            await c.WriteAsync(2, 8, 8, data, false, CancellationToken.None);
            var back = new byte[4096];
            await c.ReadAsync(2, 8, 8, back, CancellationToken.None);
            Assert.Equal(data, back);
        }

        Assert.Equal(0, Kill(p.Id, 15));
        Assert.True(p.WaitForExit(30_000));
        string rest = await p.StandardOutput.ReadToEndAsync();
        Assert.Equal(0, p.ExitCode);
        Assert.Contains("namespace 1: 8192 blocks of 512 bytes (4 MiB), memory:4194304", rest);
        Assert.Contains("Stopped.", rest);

        // The port is free again.
        using var probe = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
        probe.Bind(new IPEndPoint(IPAddress.Loopback, port));
    }

    [Fact]
    public async Task Mi_simulator_serves_a_demux_socket_until_SIGTERM()
    {
        string socket = $"nvmeps-console-{Guid.NewGuid():N}";
        using var p = Start($"mi-simulator --socket {socket} --eid 42 --status-interval 1");
        string? first = await p.StandardOutput.ReadLineAsync().WaitAsync(TimeSpan.FromSeconds(30));
        Assert.Equal($"Serving simulated NVMe-MI endpoint EID 42 behind demux socket '{socket}' (daemon EID 8). Press Ctrl+C to stop.", first);

        await using (var transport = await NvmePS.Engine.Mctp.MctpDemuxTransport.ConnectAsync(socket))
        await using (var ep = new NvmePS.Engine.Mi.NvmeMiEndpoint(transport, new NvmePS.Engine.Mctp.MctpEndpointAddress(0, 42)))
        {
            Assert.Equal(2, (await ep.ReadSubsystemInformationAsync()).PortCount);
            var id = await new NvmePS.Engine.Admin.NvmeAdminClient(ep.GetAdminTransport(1)).IdentifyControllerAsync();
            Assert.Equal(1, id.Cntlid);
        }

        // The status line counts what this process answered: the two requests above.
        string? status;
        do
        {
            status = await p.StandardOutput.ReadLineAsync().WaitAsync(TimeSpan.FromSeconds(30));
        }
        while (status is not null && !status.Contains("2 request(s) answered", StringComparison.Ordinal));
        Assert.NotNull(status);

        Assert.Equal(0, Kill(p.Id, 15));
        Assert.True(p.WaitForExit(30_000));
        Assert.Equal(0, p.ExitCode);
        Assert.EndsWith("Simulator stopped.", (await p.StandardOutput.ReadToEndAsync()).TrimEnd());
        await Assert.ThrowsAsync<NvmePS.Engine.NvmeConnectionException>(() => NvmePS.Engine.Mctp.MctpDemuxTransport.ConnectAsync(socket));
    }

    [Fact]
    public async Task Killing_the_target_fails_every_outstanding_command_and_keeps_what_was_acknowledged_durable()
    {
        int port = FreePort();
        string nqn = ModuleSession.NewNqn();
        string dir = Directory.CreateTempSubdirectory("nvmeps-kill").FullName;
        string file = Path.Combine(dir, "ns.img");
        using var p = Start($"target --listen 127.0.0.1:{port} --subsystem-nqn {nqn} --namespace {file},size=16M");
        try
        {
            Assert.StartsWith($"NVMe/TCP target {nqn} listening", await p.StandardOutput.ReadLineAsync().WaitAsync(TimeSpan.FromSeconds(30)));
            var parameters = new NvmeHostAssociationParameters { IoQueueCount = 1, IoQueueSize = 64, KeepAliveTimeout = TimeSpan.FromSeconds(5) };
            await using var a = await NvmeHostAssociation.ConnectAsync(new IPEndPoint(IPAddress.Loopback, port), nqn, parameters, CancellationToken.None);
            static byte[] Block(int i) => Enumerable.Range(0, 4096).Select(j => (byte)(i * 31 + j)).ToArray();

            // Durable by the host's definition: FUA writes (LBAs 0..127), then plain writes made durable by a Flush (128..255).
            for (int i = 0; i < 16; i++)
            {
                await a.WriteAsync(1, (ulong)(i * 8), 8, Block(i), fua: true, CancellationToken.None);
            }

            for (int i = 16; i < 32; i++)
            {
                await a.WriteAsync(1, (ulong)(i * 8), 8, Block(i), fua: false, CancellationToken.None);
            }

            await a.FlushAsync(1, CancellationToken.None);

            // Then 48 writes in flight when the process dies (SIGKILL: no shutdown, no flush).
            var inflight = Enumerable.Range(32, 48).Select(i => a.WriteAsync(1, (ulong)(i * 8), 8, Block(i), fua: false, CancellationToken.None).AsTask()).ToList();
            Assert.Equal(0, Kill(p.Id, 9));
            Assert.True(p.WaitForExit(30_000));

            // Every outstanding command ends, with an engine error if it did not complete first; none hangs.
            int failed = 0;
            foreach (var t in inflight)
            {
                try
                {
                    await t.WaitAsync(TimeSpan.FromSeconds(60));
                }
                catch (NvmePS.Engine.NvmeException)
                {
                    failed++;
                }
            }

            // A new command fails too (the association knows its controller is gone), and says why.
            await Assert.ThrowsAnyAsync<NvmePS.Engine.NvmeException>(() => a.WriteAsync(1, 0, 8, Block(0), fua: true, CancellationToken.None).AsTask().WaitAsync(TimeSpan.FromSeconds(60)));
            Assert.NotNull(a.Failure);

            byte[] media = await File.ReadAllBytesAsync(file);
            for (int i = 0; i < 32; i++)
            {
                Assert.True(media.AsSpan(i * 4096, 4096).SequenceEqual(Block(i)), $"acknowledged durable block {i} is not on the file");
            }

            Assert.True(failed > 0 || inflight.All(t => t.IsCompletedSuccessfully));
        }
        finally
        {
            if (!p.HasExited)
            {
                p.Kill(entireProcessTree: true);
            }

            Directory.Delete(dir, recursive: true);
        }
    }

    [Fact]
    public void Target_rejects_bad_arguments_with_a_message()
    {
        var (code, _, error) = Run("target --listen nowhere --namespace memory:1MB", TimeSpan.FromSeconds(30));
        Assert.Equal(2, code);
        Assert.Contains("'nowhere' is not an IP address", error);
        // Every kind of bad input is exit code 2, before anything starts; a failure to start is 1.
        (code, _, error) = Run("target --listen 127.0.0.1:0 --namespace /nonexistent/ns.img", TimeSpan.FromSeconds(30));
        Assert.Equal(2, code);
        Assert.Contains("/nonexistent/ns.img", error);
        (code, _, error) = Run("target --listen 127.0.0.1:0 --namespace memroy:1G", TimeSpan.FromSeconds(30));
        Assert.Equal(2, code);
        Assert.Contains("'memroy:' in 'memroy:1G' is not a namespace type", error);
        Assert.DoesNotContain("Could not find file", error);
        (code, _, error) = Run("target --listen 127.0.0.1:0 --subsystem-nqn not-an-nqn", TimeSpan.FromSeconds(30));
        Assert.Equal(2, code);
        Assert.Contains("'not-an-nqn' is not a well-formed NQN", error);
        (code, _, error) = Run("target --listen 127.0.0.1:0 --no-such-option", TimeSpan.FromSeconds(30));
        Assert.Equal(2, code);
        Assert.Contains("--no-such-option", error);
        using var holder = new TcpListener(IPAddress.Loopback, 0);
        holder.Start();
        (code, _, error) = Run($"target --listen 127.0.0.1:{((IPEndPoint)holder.LocalEndpoint).Port}", TimeSpan.FromSeconds(30));
        Assert.Equal(1, code);
        Assert.Contains("already in use", error);
    }

    [Fact]
    public async Task Target_defaults_to_a_64_MiB_memory_namespace_like_the_cmdlet_and_can_serve_a_discovery_port()
    {
        int port = FreePort(), discoveryPort = FreePort();
        string nqn = ModuleSession.NewNqn();
        using var p = Start($"target --listen 127.0.0.1:{port} --subsystem-nqn {nqn} --discovery-listen 127.0.0.1:{discoveryPort}");
        Assert.Equal($"NVMe/TCP target {nqn} listening on 127.0.0.1:{port} (discovery on the same port)", await p.StandardOutput.ReadLineAsync().WaitAsync(TimeSpan.FromSeconds(30)));
        Assert.Equal($"  discovery controller also on 127.0.0.1:{discoveryPort}", await p.StandardOutput.ReadLineAsync().WaitAsync(TimeSpan.FromSeconds(30)));
        Assert.Equal("  namespace 1: 131072 blocks of 512 bytes (64 MiB), memory:67108864", await p.StandardOutput.ReadLineAsync().WaitAsync(TimeSpan.FromSeconds(30)));
        await using (var d = await NvmeHostAssociation.ConnectDiscoveryAsync(new IPEndPoint(IPAddress.Loopback, discoveryPort), new NvmeHostAssociationParameters(), CancellationToken.None))
        {
            var log = await d.GetDiscoveryLogAsync(CancellationToken.None);
            Assert.Contains(log.Entries, e => e.SubNqn == nqn && e.Trsvcid == port.ToString(System.Globalization.CultureInfo.InvariantCulture));
        }

        Assert.Equal(0, Kill(p.Id, 15));
        Assert.True(p.WaitForExit(30_000));
        Assert.Equal(0, p.ExitCode);
    }

    private static Process Start(string args)
    {
        var psi = new ProcessStartInfo("dotnet", $"\"{NvmepsDll}\" {args}")
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        return Process.Start(psi)!;
    }

    private static (int Code, string Output, string Error) Run(string args, TimeSpan timeout)
    {
        using var p = Start(args);
        var output = p.StandardOutput.ReadToEndAsync();
        var error = p.StandardError.ReadToEndAsync();
        if (!p.WaitForExit((int)timeout.TotalMilliseconds))
        {
            p.Kill(entireProcessTree: true);
            throw new TimeoutException($"nvmeps {args} did not finish in {timeout}.");
        }

        return (p.ExitCode, output.Result, error.Result);
    }

    private static int FreePort()
    {
        using var l = new TcpListener(IPAddress.Loopback, 0);
        l.Start();
        return ((IPEndPoint)l.LocalEndpoint).Port;
    }

    [LibraryImport("libc", EntryPoint = "kill", SetLastError = true)]
    private static partial int Kill(int pid, int signal);

    [GeneratedRegex(@"SHA-256 (?:written|read back)\s+([0-9A-F]{64})")]
    private static partial Regex HashLine();
}
