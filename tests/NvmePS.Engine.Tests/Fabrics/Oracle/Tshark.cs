using System.Diagnostics;
using System.Text.Json;

namespace NvmePS.Engine.Tests.Fabrics.Oracle;

/// <summary>Runs Wireshark's tshark (packet-nvme-tcp.c, packet-nvme.c) over a capture: an independent decoder of our PDUs.</summary>
internal static class Tshark
{
    public const string MissingReason =
        "tshark is not installed: the NVMe/TCP wire-format oracle tests need it (apt-get install -y tshark; .ci/run must install it)";

    private static readonly Lazy<string?> s_path = new(Find);

    /// <summary>Full path of tshark, or null.</summary>
    public static string? Path => s_path.Value;

    public static bool Available => Path is not null;

    private static string? Find()
    {
        foreach (var dir in (Environment.GetEnvironmentVariable("PATH") ?? "/usr/bin").Split(':', StringSplitOptions.RemoveEmptyEntries).Append("/usr/bin"))
        {
            string p = System.IO.Path.Combine(dir, "tshark");
            if (File.Exists(p))
            {
                return p;
            }
        }

        return null;
    }

    /// <summary>Runs tshark with digest checking on and the controller port decoded as nvme-tcp.</summary>
    public static string Run(string pcap, params string[] extra)
    {
        var psi = new ProcessStartInfo(Path ?? throw new InvalidOperationException(MissingReason))
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        foreach (var a in new[]
                 {
                     "-n", "-r", pcap, "-d", $"tcp.port=={PcapWriter.ControllerPort},nvme-tcp",
                     "-o", "nvme-tcp.check_hdgst:TRUE", "-o", "nvme-tcp.check_ddgst:TRUE",
                     "-o", "tcp.desegment_tcp_streams:TRUE",
                 }.Concat(extra))
        {
            psi.ArgumentList.Add(a);
        }

        // tshark refuses nothing as root but warns on stderr; keep its config out of the user's home.
        psi.Environment["WIRESHARK_CONFIG_DIR"] = System.IO.Path.GetTempPath();
        using var p = Process.Start(psi)!;
        var stdout = p.StandardOutput.ReadToEndAsync();
        var stderr = p.StandardError.ReadToEndAsync();
        if (!p.WaitForExit(60_000))
        {
            p.Kill(true);
            throw new TimeoutException("tshark did not finish within 60 s.");
        }

        p.WaitForExit();
        if (p.ExitCode != 0)
        {
            throw new InvalidOperationException($"tshark exited {p.ExitCode}: {stderr.Result}");
        }

        return stdout.Result;
    }

    /// <summary>Every decoded NVMe/TCP PDU in capture order, as (frame, stream, the nvme-tcp layer and the nvme layer(s) tshark
    /// attached to the same frame), from tshark's JSON.</summary>
    public static List<DecodedFrame> Decode(string pcap) => s_decoded.GetOrAdd(pcap, p => new Lazy<List<DecodedFrame>>(() => DecodeNow(p))).Value;

    private static readonly System.Collections.Concurrent.ConcurrentDictionary<string, Lazy<List<DecodedFrame>>> s_decoded = new();

    private static List<DecodedFrame> DecodeNow(string pcap)
    {
        string json = Run(pcap, "-T", "json", "--no-duplicate-keys");
        using var doc = JsonDocument.Parse(json);
        var frames = new List<DecodedFrame>();
        foreach (var pkt in doc.RootElement.EnumerateArray())
        {
            var layers = pkt.GetProperty("_source").GetProperty("layers");
            int frame = int.Parse(layers.GetProperty("frame").GetProperty("frame.number").GetString()!, System.Globalization.CultureInfo.InvariantCulture);
            int stream = int.Parse(layers.GetProperty("tcp").GetProperty("tcp.stream").GetString()!, System.Globalization.CultureInfo.InvariantCulture);
            frames.Add(new DecodedFrame(frame, stream, layers.Clone()));
        }

        return frames;
    }
}

/// <summary>One frame of tshark's JSON output.</summary>
internal sealed record DecodedFrame(int Frame, int Stream, JsonElement Layers)
{
    /// <summary>The nvme-tcp layers of this frame (a frame that completes several PDUs has several).</summary>
    public IEnumerable<JsonElement> NvmeTcp => Many("nvme-tcp");

    public IEnumerable<JsonElement> Nvme => Many("nvme");

    private IEnumerable<JsonElement> Many(string name)
    {
        if (!Layers.TryGetProperty(name, out var l))
        {
            yield break;
        }

        if (l.ValueKind == JsonValueKind.Array)
        {
            foreach (var e in l.EnumerateArray())
            {
                yield return e;
            }
        }
        else
        {
            yield return l;
        }
    }
}

/// <summary>[Fact] that is skipped, with the reason, only when tshark is not installed.</summary>
public sealed class TsharkFactAttribute : FactAttribute
{
    public TsharkFactAttribute()
    {
        if (!Tshark.Available)
        {
            Skip = Tshark.MissingReason;
        }
    }
}

/// <summary>[Theory] that is skipped, with the reason, only when tshark is not installed.</summary>
public sealed class TsharkTheoryAttribute : TheoryAttribute
{
    public TsharkTheoryAttribute()
    {
        if (!Tshark.Available)
        {
            Skip = Tshark.MissingReason;
        }
    }
}
