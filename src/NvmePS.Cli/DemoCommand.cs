using System.CommandLine;
using System.Globalization;
using System.Net;
using System.Security.Cryptography;
using NvmePS.Engine.Admin;
using NvmePS.Engine.Fabrics;
using NvmePS.Engine.Fabrics.Controller;
using NvmePS.Engine.Fabrics.Controller.Tcp;
using NvmePS.Engine.Fabrics.Host;

namespace NvmePS.Cli;

/// <summary>
/// `nvmeps demo`: the module's job end to end on a machine with only the .NET runtime. Starts the built-in target
/// on loopback, then discovery, connect, identify, SMART, a write and a read-back, printed as plainly labelled console
/// output of its own (not an imitation of pwsh). tools/demo.ps1 takes the same steps with the cmdlets in real pwsh.
/// </summary>
internal static class DemoCommand
{
    private const string DemoNqn = "nqn.2024-01.io.nvmeps:demo";

    public static Command Create()
    {
        var size = new Option<string>("--size") { Description = "size of the demo's memory namespace", DefaultValueFactory = _ => "64MB" };
        var cmd = new Command("demo", "Start the built-in target and show discovery, connect, identify, SMART, a write and a read-back.") { size };
        cmd.SetAction((result, ct) => RunAsync(result.GetValue(size)!, Console.Out, ct));
        return cmd;
    }

    public static async Task<int> RunAsync(string sizeText, TextWriter o, CancellationToken ct)
    {
        if (!NvmeNamespaceSpec.TryParseSize(sizeText, out long namespaceBytes))
        {
            await o.WriteLineAsync($"nvmeps demo: '{sizeText}' is not a size (for example 64M or 1G).").ConfigureAwait(false);
            return 2;
        }

        await o.WriteLineAsync("nvmeps demo: the engine's own console output, without PowerShell. The same steps with the cmdlets and").ConfigureAwait(false);
        await o.WriteLineAsync("their format views: dotnet tool restore && dotnet pwsh -NoProfile -File ./build.ps1 -Demo").ConfigureAwait(false);
        await o.WriteLineAsync().ConfigureAwait(false);
        var identity = NvmeHostIdentity.Resolve();
        await using var target = await NvmeTargetHost.StartAsync(new IPEndPoint(IPAddress.Loopback, 0), DemoNqn,
            new[] { new NvmeNamespaceSpec(null, namespaceBytes) }, Array.Empty<string>()).ConfigureAwait(false);
        var ep = target.LocalEndPoint;
        Step(o, $"Target started on {ep}: subsystem {DemoNqn}, one memory namespace of {sizeText}");
        Table(o, new[] { "SubsystemNqn", "Listen", "Namespaces", "Size" },
            new[] { new[] { DemoNqn, ep.ToString(), "1", Format.Bytes(namespaceBytes) } });

        Step(o, $"Discovery log from the discovery controller at {ep}");
        var parameters = identity.ApplyTo(new NvmeHostAssociationParameters());
        DiscoveryLog log;
        await using (var discovery = await NvmeHostAssociation.ConnectDiscoveryAsync(ep, parameters, ct).ConfigureAwait(false))
        {
            log = await discovery.GetDiscoveryLogAsync(ct).ConfigureAwait(false);
        }

        Table(o, new[] { "Trtype", "Adrfam", "Subtype", "PortId", "Trsvcid", "Traddr", "SubNqn" },
            log.Entries.Select(e => new[]
            {
                e.Trtype.ToString().ToLowerInvariant(), (byte)e.Adrfam == 2 ? "ipv6" : "ipv4",
                e.Subtype == DiscoverySubsystemType.Nvm ? "nvme subsystem" : "current discovery subsystem",
                e.PortId.ToString(CultureInfo.InvariantCulture), e.Trsvcid, e.Traddr, e.SubNqn,
            }));

        Step(o, $"Host connected to {DemoNqn} with 2 I/O queues");
        await using var c = await NvmeHostAssociation.ConnectAsync(ep, DemoNqn, parameters with { IoQueueCount = 2 }, ct).ConfigureAwait(false);
        Table(o, new[] { "CntlId", "SubsystemNqn", "Address", "Model", "IoQueues", "Connected" },
            new[] { new[] { c.Cntlid.ToString(CultureInfo.InvariantCulture), c.SubsystemNqn, ep.ToString(), c.IdentifyController?.Mn ?? string.Empty, c.IoQueues.Count.ToString(CultureInfo.InvariantCulture), "True" } });

        Step(o, "Identify Controller (CNS 01h)");
        var id = await c.Admin.IdentifyControllerAsync(ct).ConfigureAwait(false);
        List(o, new (string, object)[]
        {
            ("ControllerId", id.Cntlid), ("ModelNumber", id.Mn), ("SerialNumber", id.Sn), ("FirmwareRevision", id.Fr),
            ("Version", $"{id.Ver >> 16}.{(id.Ver >> 8) & 0xFF}.{id.Ver & 0xFF}"), ("SubsystemNqn", id.Subnqn),
            ("MaxDataTransferBytes", id.MaxDataTransferBytes() ?? 0), ("IoCommandCapsuleBytes", id.Ioccsz * 16),
        });

        Step(o, "Identify Namespace 1 (CNS 00h)");
        var ns = await c.Admin.IdentifyNamespaceAsync(1, ct).ConfigureAwait(false);
        Table(o, new[] { "NSID", "Size", "BlockSize", "Blocks", "NGUID" },
            new[] { new[] { "1", Format.Bytes((decimal)ns.Nsze * ns.BlockSize), ns.BlockSize.ToString(CultureInfo.InvariantCulture), ns.Nsze.ToString(CultureInfo.InvariantCulture), Convert.ToHexString(ns.Nguid) } });

        Step(o, "SMART / Health Information log (02h)");
        Smart(o, await c.Admin.GetSmartLogAsync(cancellationToken: ct).ConfigureAwait(false));

        const int blocks = 2048;
        var data = new byte[blocks * ns.BlockSize];
        RandomNumberGenerator.Fill(data);
        Step(o, $"Write of {Format.Bytes(data.Length)} of random bytes at LBA 0");
        await c.WriteAsync(1, 0, blocks, data, fua: false, ct).ConfigureAwait(false);
        Table(o, new[] { "Operation", "NSID", "StartingLba", "Blocks", "Size" }, new[] { new[] { "Write", "1", "0", blocks.ToString(CultureInfo.InvariantCulture), Format.Bytes(data.Length) } });

        Step(o, $"Read-back of {blocks} blocks from LBA 0");
        var back = new byte[data.Length];
        await c.ReadAsync(1, 0, blocks, back, ct).ConfigureAwait(false);
        bool same = back.AsSpan().SequenceEqual(data);
        Table(o, new[] { "Operation", "NSID", "StartingLba", "Blocks", "Size" }, new[] { new[] { "Read", "1", "0", blocks.ToString(CultureInfo.InvariantCulture), Format.Bytes(back.Length) } });
        o.WriteLine($"SHA-256 written   {Convert.ToHexString(SHA256.HashData(data))}");
        o.WriteLine($"SHA-256 read back {Convert.ToHexString(SHA256.HashData(back))}");
        o.WriteLine($"Read-back matches: {same}");
        o.WriteLine();

        Step(o, "SMART Data Units Written after the write");
        var after = await c.Admin.GetSmartLogAsync(cancellationToken: ct).ConfigureAwait(false);
        o.WriteLine($"{after.DataUnitsWritten}   # thousands of 512-byte units: {Format.Bytes(NvmeUnits.DataUnitBytes(NvmeUnits.Saturate(after.DataUnitsWritten)))}");
        o.WriteLine();

        Step(o, "Disconnect, then stop the target");
        await c.DisconnectAsync(ct).ConfigureAwait(false);
        o.WriteLine(same ? "Demo complete." : "Demo FAILED: the data read back differs from the data written.");
        return same ? 0 : 1;
    }

    private static void Step(TextWriter o, string what)
    {
        o.WriteLine($"== {what}");
        o.WriteLine();
    }

    private static void Smart(TextWriter o, NvmeSmartLog s) => List(o, new (string, object)[]
    {
        ("CriticalWarning", s.CriticalWarning),
        ("Temperature", s.CompositeTemperature == 0 ? "not reported" : $"{s.CompositeTemperature - 273} °C"),
        ("AvailableSpare", $"{s.AvailableSpare}% (threshold {s.AvailableSpareThreshold}%)"),
        ("PercentageUsed", $"{s.PercentageUsed}%"),
        ("DataUnitsRead", s.DataUnitsRead), ("DataUnitsWritten", s.DataUnitsWritten),
        ("HostReadCommands", s.HostReadCommands), ("HostWriteCommands", s.HostWriteCommands),
        ("PowerOnHours", s.PowerOnHours), ("UnsafeShutdowns", s.UnsafeShutdowns), ("MediaErrors", s.MediaErrors),
    });

    private static void List(TextWriter o, IEnumerable<(string Name, object Value)> rows)
    {
        var list = rows.ToList();
        int w = list.Max(r => r.Name.Length);
        foreach (var (name, value) in list)
        {
            o.WriteLine($"{name.PadRight(w)} : {Convert.ToString(value, CultureInfo.InvariantCulture)}");
        }

        o.WriteLine();
    }

    private static void Table(TextWriter o, string[] headers, IEnumerable<string[]> rows)
    {
        var all = rows.ToList();
        int[] widths = headers.Select((h, i) => Math.Max(h.Length, all.Count == 0 ? 0 : all.Max(r => r[i].Length))).ToArray();
        o.WriteLine(string.Join(" ", headers.Select((h, i) => h.PadRight(widths[i]))).TrimEnd());
        o.WriteLine(string.Join(" ", widths.Select(w => new string('-', w))));
        foreach (var r in all)
        {
            o.WriteLine(string.Join(" ", r.Select((v, i) => v.PadRight(widths[i]))).TrimEnd());
        }

        o.WriteLine();
    }
}
