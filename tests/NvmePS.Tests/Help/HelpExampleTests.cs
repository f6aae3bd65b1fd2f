using System.Text.RegularExpressions;
using NvmePS.Engine.Tests.DBus;
using NvmePS.Tests.Support;

namespace NvmePS.Tests.Help;

/// <summary>
/// Every example of every cmdlet's help page, run as written in a fresh runspace. The runspace is first given the
/// world the examples assume: a target serving nqn.2024-01.io.example:disk1 on 127.0.0.1:4420 with its discovery
/// controller also on 8009 ($t), a controller connected to it ($c), simulated NVMe-MI drives at network 1 EIDs 29 and
/// 9 ($sim, $ep) published by an mctpd on a private bus, and a scratch current directory. An example that must find
/// something missing (it starts its own target on 4420, say) says so in <see cref="Stages"/>; one that cannot work on
/// this machine (kernel AF_MCTP) must fail with the error a user would see here, named in the table.
/// </summary>
[Collection(HelpExampleCollection.Name)]
public sealed partial class HelpExampleTests : IClassFixture<HelpExampleTests.World>
{
    private const string Disk1 = "nqn.2024-01.io.example:disk1";
    private const string UuidNqn = "nqn.2014-08.org.nvmexpress:uuid:6c1e0f0e-5d9b-4bb1-9a43-2f0e0b3f2a11";
    private readonly World _world;

    public HelpExampleTests(World world) => _world = world;

    /// <summary>What an example needs changed from the default world, and what it must do instead of succeeding.</summary>
    private sealed record Stage(bool Target = true, bool Simulators = true, string? ExpectedErrorId = null, int StopAfterSec = 0, string? Why = null);

    private static readonly Dictionary<string, Stage> Stages = new(StringComparer.Ordinal)
    {
        // They start the target on 4420 themselves.
        ["Start-NvmfTarget#1"] = new(Target: false),
        ["Stop-NvmfTarget#1"] = new(Target: false),

        // They start the simulator at the default address (network 1, EID 29) themselves.
        ["Connect-NvmeMiEndpoint#2"] = new(Simulators: false),
        ["Get-NvmeMiConfiguration#2"] = new(Simulators: false),
        ["Get-NvmeMiSubsystem#2"] = new(Simulators: false),
        ["Get-NvmeMiVpd#2"] = new(Simulators: false),
        ["Start-NvmeMiSimulator#1"] = new(Simulators: false),

        // Watching runs until Ctrl+C (or a long -TimeoutSec): stopped after a few polls, as a user would.
        ["Watch-NvmeMiHealth#1"] = new(StopAfterSec: 3),
        ["Watch-NvmeMiHealth#2"] = new(StopAfterSec: 3),

        // What this machine cannot do: the host kernel has no AF_MCTP (the VM tier runs it for real), and the
        // example's bus socket does not exist here.
        ["Connect-NvmeMiEndpoint#1"] = new(ExpectedErrorId: "NvmeMctpUnavailable", Why: "no AF_MCTP in this kernel"),
        ["Find-NvmeMiEndpoint#3"] = new(ExpectedErrorId: "MctpdNoBus", Why: "no bus at /run/test/bus.sock"),
    };

    public static TheoryData<string> Examples()
    {
        var data = new TheoryData<string>();
        foreach (var example in ReadExamples())
        {
            data.Add(example.Id);
        }

        return data;
    }

    [Fact]
    public void Every_page_has_examples_and_every_stage_names_a_real_example()
    {
        var ids = ReadExamples().Select(e => e.Id).ToHashSet(StringComparer.Ordinal);
        Assert.True(ids.Count >= 2 * Directory.GetFiles(ModuleUnderTest.HelpDir, "*-*.md").Length, "every page has at least two examples");
        Assert.DoesNotContain(Stages.Keys, k => !ids.Contains(k));
    }

    [Theory]
    [MemberData(nameof(Examples))]
    public void Help_example_runs_as_written(string id)
    {
        var example = ReadExamples().Single(e => e.Id == id);
        var stage = Stages.GetValueOrDefault(id) ?? new Stage();
        string scratch = Directory.CreateTempSubdirectory("nvmeps-example").FullName;
        using var rs = new ModuleRunspace();
        try
        {
            rs.CurrentDirectory = scratch;
            rs.ConfirmHandler = _ => ConfirmAnswer.Yes;
            SetUp(rs, stage);

            CommandResult r;
            if (stage.StopAfterSec > 0)
            {
                var running = rs.ScriptInvocation(example.Script).Start();
                Assert.False(running.WaitUntil(x => x.AllErrors.Count > 0, TimeSpan.FromSeconds(stage.StopAfterSec)), $"{id} failed while running");
                running.Stop();
                r = running.Wait(TimeSpan.FromSeconds(30));
            }
            else
            {
                r = rs.Script(example.Script);
            }

            if (stage.ExpectedErrorId is { } expected)
            {
                var e = Assert.Single(r.AllErrors);
                Assert.StartsWith(expected + ",", e.FullyQualifiedErrorId, StringComparison.Ordinal);
                return;
            }

            Assert.True(r.AllErrors.Count == 0, $"{id}:\n{example.Script}\nfailed: {string.Join("\n", r.AllErrors.Select(e => $"{e.FullyQualifiedErrorId}: {e.Exception.Message}"))}");
        }
        finally
        {
            rs.Dispose();
            Directory.Delete(scratch, recursive: true);
        }
    }

    private void SetUp(ModuleRunspace rs, Stage stage)
    {
        rs.Script("param($bus) $PSDefaultParameterValues['Find-NvmeMiEndpoint:BusAddress'] = $bus; $PSDefaultParameterValues['Repair-NvmeMiEndpoint:BusAddress'] = $bus",
            _world.Bus.Address).ThrowIfFailed();
        if (stage.Target)
        {
            rs.Script($@"
                $global:t = Start-NvmfTarget -Listen 127.0.0.1:4420 -DiscoveryListen 127.0.0.1:8009 -SubsystemNqn {Disk1} -Namespace memory:64M
                $null = $t | Add-NvmfSubsystem -SubsystemNqn {UuidNqn} -Namespace memory:16M
                $global:c = Connect-NvmfController -TransportAddress 127.0.0.1 -ServiceId 4420 -SubsystemNqn {Disk1}").ThrowIfFailed();
        }

        if (stage.Simulators)
        {
            rs.Script(@"
                $global:sim = Start-NvmeMiSimulator -Network 1 -Eid 29
                $null = Start-NvmeMiSimulator -Network 1 -Eid 9
                $global:ep = Connect-NvmeMiEndpoint -Network 1 -Eid 29").ThrowIfFailed();
        }
    }

    private sealed record HelpExample(string Id, string Script);

    private static List<HelpExample> ReadExamples()
    {
        var list = new List<HelpExample>();
        foreach (string page in Directory.GetFiles(ModuleUnderTest.HelpDir, "*-*.md").Order(StringComparer.Ordinal))
        {
            string cmdlet = Path.GetFileNameWithoutExtension(page);
            string text = File.ReadAllText(page);
            int n = 0;
            foreach (Match m in ExampleBlock().Matches(text))
            {
                n++;
                var lines = m.Groups["code"].Value.Split('\n').Where(l => l.StartsWith("PS> ", StringComparison.Ordinal)).Select(l => l[4..]);
                list.Add(new HelpExample($"{cmdlet}#{n}", string.Join("\n", lines)));
            }
        }

        return list;
    }

    [GeneratedRegex(@"^### Example \d+[^\n]*\n```powershell\n(?<code>.*?)\n```", RegexOptions.Multiline | RegexOptions.Singleline)]
    private static partial Regex ExampleBlock();

    /// <summary>The private bus and mctpd that Find-NvmeMiEndpoint and Repair-NvmeMiEndpoint reach in the examples.</summary>
    public sealed class World : IDisposable
    {
        private readonly FakeMctpd _mctpd;

        public World()
        {
            Bus = PrivateBus.Start();
            _mctpd = new FakeMctpd();
            _mctpd.AddNetwork(1, 8);
            _mctpd.AddEndpoint(1, 8, new byte[] { 0 }, Guid.NewGuid());
            _mctpd.AddEndpoint(1, 29, new byte[] { 0, 4 }, Guid.Parse("0b2e3a47-5f1c-4d8e-9a6b-7c0d1e2f3a4b"));
            _mctpd.AddEndpoint(1, 9, new byte[] { 0, 4 }, connectivity: "Degraded");
            _mctpd.StartAsync(Bus.Address).GetAwaiter().GetResult();
        }

        internal PrivateBus Bus { get; }

        public void Dispose()
        {
            _mctpd.Dispose();
            Bus.Dispose();
        }
    }
}

/// <summary>The help examples use fixed ports (4420, 8009) and the default simulator address, so they run alone.</summary>
[CollectionDefinition(Name, DisableParallelization = true)]
public sealed class HelpExampleCollection
{
    public const string Name = "Help examples";
}
