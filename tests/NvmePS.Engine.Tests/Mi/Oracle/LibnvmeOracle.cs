using System.Buffers.Binary;
using System.Diagnostics;
using System.Net.Sockets;
using System.Text;
using NvmePS.Engine.Mctp;
using NvmePS.Engine.Mi;
using NvmePS.Engine.Mi.Simulator;

namespace NvmePS.Engine.Tests.Mi.Oracle;

/// <summary>
/// Runs Debian's libnvme-mi (1.3) as an independent encoder/decoder: tests/oracle/libnvme-mi/mi_oracle.c is built
/// with cc at run time (into a temporary directory, never committed), interposes libnvme-mi's AF_MCTP socket calls
/// and carries its MCTP messages over a unix socket to this process, where NvmePS's simulator answers them. Each
/// libnvme call is recorded (request bytes libnvme built, response bytes our simulator sent) together with
/// libnvme's decoding of the response, printed by the oracle as "name rc=.. key=value ...".
/// Needs: cc (gcc), libnvme-dev (headers, libnvme-mi.so) and libnvme1.
/// </summary>
internal static class LibnvmeOracle
{
    public const byte Eid = 0x1D;
    public const uint Network = 1;

    private static readonly Lazy<(string? Binary, string? Reason)> Build = new(BuildOracle, LazyThreadSafetyMode.ExecutionAndPublication);

    /// <summary>Why the oracle cannot run here (cc or libnvme-dev missing, or the build failed), or null.</summary>
    public static string? UnavailableReason
    {
        get
        {
            if (FindOnPath("cc") is null)
            {
                return "libnvme-mi oracle needs a C compiler: cc not found (install gcc).";
            }

            if (!File.Exists("/usr/include/libnvme-mi.h") && !File.Exists("/usr/include/nvme/mi.h"))
            {
                return "libnvme-mi oracle needs libnvme-dev: /usr/include/libnvme-mi.h not found (apt-get install libnvme-dev).";
            }

            return null;
        }
    }

    public static string BinaryPath
    {
        get
        {
            var (binary, reason) = Build.Value;
            return binary ?? throw new InvalidOperationException(reason);
        }
    }

    public static string RepositoryRoot()
    {
        var dir = new DirectoryInfo(AppContext.BaseDirectory);
        while (dir is not null && !File.Exists(Path.Combine(dir.FullName, "NvmePS.sln")))
        {
            dir = dir.Parent;
        }

        return dir?.FullName ?? throw new InvalidOperationException("Cannot find the repository root (NvmePS.sln) above " + AppContext.BaseDirectory);
    }

    private static string? FindOnPath(string name)
    {
        foreach (string dir in (Environment.GetEnvironmentVariable("PATH") ?? "/usr/bin:/bin").Split(':'))
        {
            string p = Path.Combine(dir, name);
            if (File.Exists(p))
            {
                return p;
            }
        }

        return null;
    }

    private static (string?, string?) BuildOracle()
    {
        string? reason = UnavailableReason;
        if (reason is not null)
        {
            return (null, reason);
        }

        string source = Path.Combine(RepositoryRoot(), "tests", "oracle", "libnvme-mi", "mi_oracle.c");
        string dir = Path.Combine(Path.GetTempPath(), $"nvmeps-mi-oracle-{Environment.ProcessId}");
        Directory.CreateDirectory(dir);
        string binary = Path.Combine(dir, "mi_oracle");
        var psi = new ProcessStartInfo("cc", ["-O0", "-Wall", "-rdynamic", "-o", binary, source, "-lnvme-mi", "-ldl"])
        {
            RedirectStandardError = true,
            RedirectStandardOutput = true,
        };
        using var p = Process.Start(psi)!;
        string err = p.StandardError.ReadToEnd();
        p.StandardOutput.ReadToEnd();
        if (!p.WaitForExit(120_000) || p.ExitCode != 0)
        {
            return (null, $"building the libnvme-mi oracle failed: {err}");
        }

        return (binary, null);
    }

    /// <summary>Runs the oracle for <paramref name="commands"/> against a fresh simulator; returns what it did.</summary>
    public static async Task<OracleRun> RunAsync(SimulatorOptions? simulator = null, params string[] commands)
    {
        var subsystem = new SimulatedSubsystem(simulator ?? new SimulatorOptions());
        var responder = new NvmeMiResponder(subsystem);
        return await RunAsync(responder, commands).ConfigureAwait(false);
    }

    /// <summary>Runs the oracle for <paramref name="commands"/>; <paramref name="responder"/> answers its requests.</summary>
    public static async Task<OracleRun> RunAsync(IMctpResponder responder, params string[] commands)
    {
        string binary = BinaryPath;
        string sockPath = Path.Combine(Path.GetTempPath(), $"nvmeps-oracle-{Environment.ProcessId}-{Guid.NewGuid():N}.sock");
        using var listener = new Socket(AddressFamily.Unix, SocketType.Stream, ProtocolType.Unspecified);
        listener.Bind(new UnixDomainSocketEndPoint(sockPath));
        listener.Listen(1);
        var run = new OracleRun();
        var psi = new ProcessStartInfo(binary)
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
        };
        foreach (string c in commands)
        {
            psi.ArgumentList.Add(c);
        }

        psi.Environment["NVMEPS_ORACLE_SOCK"] = sockPath;
        using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(60));
        using var proc = Process.Start(psi)!;
        var stdout = proc.StandardOutput.ReadToEndAsync(cts.Token);
        var stderr = proc.StandardError.ReadToEndAsync(cts.Token);
        try
        {
            using var conn = await listener.AcceptAsync(cts.Token).ConfigureAwait(false);
            await ServeAsync(conn, responder, run, cts.Token).ConfigureAwait(false);
        }
        catch (OperationCanceledException)
        {
            proc.Kill(true);
            throw;
        }
        finally
        {
            File.Delete(sockPath);
        }

        await proc.WaitForExitAsync(cts.Token).ConfigureAwait(false);
        run.Stdout = await stdout.ConfigureAwait(false);
        run.Stderr = await stderr.ConfigureAwait(false);
        run.ExitCode = proc.ExitCode;
        foreach (string line in run.Stdout.Split('\n', StringSplitOptions.RemoveEmptyEntries))
        {
            string[] parts = line.Split(' ', StringSplitOptions.RemoveEmptyEntries);
            var fields = new Dictionary<string, string>(StringComparer.Ordinal);
            foreach (string kv in parts.Skip(1))
            {
                int eq = kv.IndexOf('=', StringComparison.Ordinal);
                if (eq > 0)
                {
                    fields[kv[..eq]] = kv[(eq + 1)..];
                }
            }

            run.Results[parts[0]] = fields;
        }

        return run;
    }

    private static async Task ServeAsync(Socket conn, IMctpResponder responder, OracleRun run, CancellationToken ct)
    {
        string current = "(none)";
        byte[] lenBuf = new byte[4];
        var sendLock = new SemaphoreSlim(1, 1);
        while (true)
        {
            if (!await ReadExactlyAsync(conn, lenBuf, ct).ConfigureAwait(false))
            {
                return;
            }

            int len = (int)BinaryPrimitives.ReadUInt32LittleEndian(lenBuf);
            if (len is < 1 or > 65536)
            {
                throw new InvalidOperationException($"oracle frame length {len}");
            }

            byte[] frame = new byte[len];
            if (!await ReadExactlyAsync(conn, frame, ct).ConfigureAwait(false))
            {
                return;
            }

            if (frame[0] == 1)
            {
                current = Encoding.ASCII.GetString(frame, 1, len - 1);
                run.Exchanges[current] = [];
                continue;
            }

            var exchange = new OracleExchange(
                BinaryPrimitives.ReadUInt32LittleEndian(frame.AsSpan(1)),
                frame[5],
                frame[6],
                frame.AsSpan(7).ToArray());
            if (!run.Exchanges.TryGetValue(current, out var list))
            {
                run.Exchanges[current] = list = [];
            }

            list.Add(exchange);
            await responder.HandleAsync(new MctpEndpointAddress(exchange.Network, 8), exchange.Request, async (resp, token) =>
            {
                exchange.Responses.Add(resp.ToArray());
                byte[] outFrame = new byte[4 + resp.Length];
                BinaryPrimitives.WriteUInt32LittleEndian(outFrame, (uint)resp.Length);
                resp.CopyTo(outFrame.AsMemory(4));
                await sendLock.WaitAsync(token).ConfigureAwait(false);
                try
                {
                    await conn.SendAsync(outFrame, SocketFlags.None, token).ConfigureAwait(false);
                }
                finally
                {
                    sendLock.Release();
                }
            }, ct).ConfigureAwait(false);
        }
    }

    private static async Task<bool> ReadExactlyAsync(Socket s, byte[] buffer, CancellationToken ct)
    {
        int done = 0;
        while (done < buffer.Length)
        {
            int n = await s.ReceiveAsync(buffer.AsMemory(done), SocketFlags.None, ct).ConfigureAwait(false);
            if (n == 0)
            {
                return false;
            }

            done += n;
        }

        return true;
    }
}

/// <summary>One request libnvme sent (with the MCTP type byte first, as on the wire) and the responses it got.</summary>
internal sealed record OracleExchange(uint Network, byte Eid, byte Tag, byte[] Request)
{
    public List<byte[]> Responses { get; } = [];
}

internal sealed class OracleRun
{
    public Dictionary<string, List<OracleExchange>> Exchanges { get; } = new(StringComparer.Ordinal);

    public Dictionary<string, Dictionary<string, string>> Results { get; } = new(StringComparer.Ordinal);

    public string Stdout { get; set; } = string.Empty;

    public string Stderr { get; set; } = string.Empty;

    public int ExitCode { get; set; }

    public Dictionary<string, string> Result(string command) =>
        Results.TryGetValue(command, out var r) ? r : throw new Xunit.Sdk.XunitException($"oracle printed nothing for {command}; stdout:\n{Stdout}\nstderr:\n{Stderr}");

    public long Number(string command, string key) => long.Parse(Result(command)[key], System.Globalization.CultureInfo.InvariantCulture);

    public byte[] Hex(string command, string key) => Convert.FromHexString(Result(command)[key]);
}

/// <summary>
/// A transport that answers this engine's requests with the responses libnvme got, exchange by exchange in order,
/// and records the requests this engine built — so both decoders see the same bytes and both encoders are compared.
/// </summary>
internal sealed class ReplayTransport(IReadOnlyList<OracleExchange> exchanges) : IMctpTransport
{
    private readonly IReadOnlyList<OracleExchange> _exchanges = exchanges;
    private int _next;

    public List<byte[]> Sent { get; } = [];

    public string Name => "libnvme-replay";

    public ValueTask<IMctpExchange> OpenExchangeAsync(MctpEndpointAddress peer, byte messageType, CancellationToken cancellationToken) =>
        ValueTask.FromResult<IMctpExchange>(new Exchange(this));

    public ValueTask DisposeAsync() => ValueTask.CompletedTask;

    private sealed class Exchange(ReplayTransport owner) : IMctpExchange
    {
        private OracleExchange? _current;
        private int _response;

        public bool HoldsTag => true;

        public ValueTask SendAsync(ReadOnlyMemory<byte> message, CancellationToken cancellationToken)
        {
            owner.Sent.Add(message.ToArray());
            _current = owner._next < owner._exchanges.Count ? owner._exchanges[owner._next] : null;
            owner._next++;
            _response = 0;
            return ValueTask.CompletedTask;
        }

        public ValueTask<int> ReceiveAsync(Memory<byte> buffer, TimeSpan timeout, CancellationToken cancellationToken)
        {
            if (_current is null || _response >= _current.Responses.Count)
            {
                throw new NvmeTimeoutException("replay: libnvme's session had no further response here");
            }

            byte[] r = _current.Responses[_response++];
            r.CopyTo(buffer);
            return ValueTask.FromResult(r.Length);
        }

        public ValueTask DisposeAsync() => ValueTask.CompletedTask;
    }
}

/// <summary>A [Fact] that skips (with the reason) when cc or libnvme-dev is missing.</summary>
[AttributeUsage(AttributeTargets.Method)]
internal sealed class LibnvmeOracleFactAttribute : FactAttribute
{
    public LibnvmeOracleFactAttribute()
    {
        string? reason = LibnvmeOracle.UnavailableReason;
        if (reason is not null)
        {
            Skip = reason;
        }
    }
}
