using System.Buffers.Binary;
using System.Collections.Concurrent;
using System.Globalization;
using System.Text.Json;

namespace NvmePS.Engine.Tests.Fabrics.Oracle;

/// <summary>A PDU as an independent minimal walker sees it in the recorded byte stream: only the 8-byte common header
/// (PDU-TYPE, FLAGS, HLEN, PDO, PLEN), read with no engine code, stepping PLEN bytes at a time.</summary>
internal readonly record struct WalkedPdu(int Stream, bool FromHost, byte Type, byte Flags, byte Hlen, byte Pdo, uint Plen, byte[] Bytes);

/// <summary>What tshark decoded for one PDU (the nvme-tcp layer's common-header fields).</summary>
internal readonly record struct TsharkPdu(int Frame, int Stream, bool FromHost, JsonElement Layer)
{
    public int Type => Int("nvme-tcp.type");

    public int Flags => Int("nvme-tcp.flags");

    public int Hlen => Int("nvme-tcp.hlen");

    public int Pdo => Int("nvme-tcp.pdo");

    public long Plen => Long("nvme-tcp.plen");

    public string? Get(string key) => OracleSupport.Find(Layer, key).FirstOrDefault();

    public int Int(string key) => (int)Long(key);

    public long Long(string key) => OracleSupport.ParseNumber(Get(key) ?? throw new KeyNotFoundException($"{key} not in frame {Frame}: {Layer}"));
}

internal static class OracleSupport
{
    private static readonly ConcurrentDictionary<string, Lazy<Task<OracleScenario>>> s_scenarios = new();

    /// <summary>Runs each scenario once per test run (several tests look at the same capture).</summary>
    public static Task<OracleScenario> ScenarioAsync(bool hd, bool dd, bool noFc, byte hpda = 0, byte cpda = 0) =>
        s_scenarios.GetOrAdd($"{hd}/{dd}/{noFc}/{hpda}/{cpda}", _ => new Lazy<Task<OracleScenario>>(() => OracleScenario.RunAsync(hd, dd, noFc, hpda, cpda))).Value;

    /// <summary>Walks each recorded direction of each stream PDU by PDU.</summary>
    public static List<WalkedPdu> Walk(IReadOnlyList<RecordedChunk> chunks)
    {
        var result = new List<WalkedPdu>();
        foreach (var g in chunks.GroupBy(c => (c.Stream, c.FromHost)))
        {
            byte[] all = g.SelectMany(c => c.Bytes).ToArray();
            int at = 0;
            while (at + 8 <= all.Length)
            {
                uint plen = BinaryPrimitives.ReadUInt32LittleEndian(all.AsSpan(at + 4));
                Assert.True(plen >= 8 && at + plen <= all.Length, $"stream {g.Key.Stream} {(g.Key.FromHost ? "host" : "controller")}: PLEN {plen} at byte {at} runs past the recorded {all.Length} bytes");
                result.Add(new WalkedPdu(g.Key.Stream, g.Key.FromHost, all[at], all[at + 1], all[at + 2], all[at + 3], plen, all[at..(at + (int)plen)]));
                at += (int)plen;
            }

            Assert.Equal(all.Length, at);
        }

        return result;
    }

    /// <summary>tshark's nvme-tcp layers, one per PDU, with the stream (from the synthetic host port) and direction.</summary>
    public static List<TsharkPdu> TsharkPdus(IEnumerable<DecodedFrame> frames)
    {
        var result = new List<TsharkPdu>();
        foreach (var f in frames)
        {
            var tcp = f.Layers.GetProperty("tcp");
            int src = int.Parse(tcp.GetProperty("tcp.srcport").GetString()!, CultureInfo.InvariantCulture);
            int dst = int.Parse(tcp.GetProperty("tcp.dstport").GetString()!, CultureInfo.InvariantCulture);
            bool fromHost = dst == PcapWriter.ControllerPort;
            int stream = (fromHost ? src : dst) - PcapWriter.HostPortBase;
            foreach (var l in f.NvmeTcp)
            {
                if (l.ValueKind == JsonValueKind.Object)
                {
                    result.Add(new TsharkPdu(f.Frame, stream, fromHost, l));
                }
            }
        }

        return result;
    }

    /// <summary>All values of <paramref name="key"/> anywhere below <paramref name="e"/>, in document order.</summary>
    public static IEnumerable<string> Find(JsonElement e, string key)
    {
        switch (e.ValueKind)
        {
            case JsonValueKind.Object:
                foreach (var p in e.EnumerateObject())
                {
                    if (p.Name == key)
                    {
                        if (p.Value.ValueKind == JsonValueKind.Array)
                        {
                            foreach (var v in p.Value.EnumerateArray())
                            {
                                yield return v.ValueKind == JsonValueKind.String ? v.GetString()! : v.ToString();
                            }
                        }
                        else
                        {
                            yield return p.Value.ValueKind == JsonValueKind.String ? p.Value.GetString()! : p.Value.ToString();
                        }
                    }

                    foreach (var v in Find(p.Value, key))
                    {
                        yield return v;
                    }
                }

                break;
            case JsonValueKind.Array:
                foreach (var a in e.EnumerateArray())
                {
                    foreach (var v in Find(a, key))
                    {
                        yield return v;
                    }
                }

                break;
        }
    }

    /// <summary>Every key below <paramref name="e"/> (for "is there any expert info / malformed marker").</summary>
    public static IEnumerable<(string Key, JsonElement Value)> Keys(JsonElement e)
    {
        if (e.ValueKind == JsonValueKind.Object)
        {
            foreach (var p in e.EnumerateObject())
            {
                yield return (p.Name, p.Value);
                foreach (var k in Keys(p.Value))
                {
                    yield return k;
                }
            }
        }
        else if (e.ValueKind == JsonValueKind.Array)
        {
            foreach (var a in e.EnumerateArray())
            {
                foreach (var k in Keys(a))
                {
                    yield return k;
                }
            }
        }
    }

    public static long ParseNumber(string s)
    {
        s = s.Trim();
        if (s.StartsWith("0x", StringComparison.OrdinalIgnoreCase))
        {
            return long.Parse(s[2..], NumberStyles.HexNumber, CultureInfo.InvariantCulture);
        }

        // Some fields (nvme.fabrics.cmd.opc) print bare hex.
        return long.TryParse(s, NumberStyles.Integer, CultureInfo.InvariantCulture, out long v) ? v : long.Parse(s, NumberStyles.HexNumber, CultureInfo.InvariantCulture);
    }

    /// <summary>Rows of `tshark -T fields` for frames matching <paramref name="filter"/>; each cell keeps all occurrences ("a,b").</summary>
    public static List<string[]> Fields(string pcap, string filter, params string[] fields)
    {
        var args = new List<string> { "-Y", filter, "-T", "fields", "-E", "separator=|", "-E", "occurrence=a", "-E", "aggregator=," };
        foreach (var f in fields)
        {
            args.Add("-e");
            args.Add(f);
        }

        return Tshark.Run(pcap, [.. args]).Split('\n', StringSplitOptions.RemoveEmptyEntries).Select(l => l.Split('|')).ToList();
    }
}
