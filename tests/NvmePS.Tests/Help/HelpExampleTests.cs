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
    private sealed record Stage(bool Target = true, bool Simulators = true, string? ExpectedErrorId = null, int StopAfterSec = 0, string? Why = null, Func<bool>? MachineLacks = null);

    // What the kernel examples need; the VM tier (KernelHelpExamplesInVmTests) runs them against a real kernel.
    private static bool NoNvme0() => !Directory.Exists("/sys/class/nvme/nvme0");

    private static bool NoFabricsHost() => !File.Exists("/dev/nvme-fabrics");

    private static bool NoNvmet() => !Directory.Exists("/sys/kernel/config/nvmet");

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

        // The kernel's NVMe: no local drive, no nvme-tcp host, no nvmet on this machine (the VM tier has all three).
        ["Get-NvmeDevice#2"] = new(ExpectedErrorId: "NvmeKernelFabricsUnavailable", Why: "no /dev/nvme-fabrics", MachineLacks: NoFabricsHost),
        ["Get-NvmeDevice#3"] = new(ExpectedErrorId: "NvmeKernelDeviceNotFound", Why: "no nvme0", MachineLacks: NoNvme0),
        ["Send-NvmeCommand#2"] = new(ExpectedErrorId: "NvmeKernelDeviceNotFound", Why: "no nvme0", MachineLacks: NoNvme0),
        ["Send-NvmeCommand#3"] = new(ExpectedErrorId: "NvmeKernelDeviceNotFound", Why: "no nvme0", MachineLacks: NoNvme0),
        ["Connect-NvmfController#3"] = new(ExpectedErrorId: "NvmeKernelFabricsUnavailable", Why: "no /dev/nvme-fabrics", MachineLacks: NoFabricsHost),
        ["Connect-NvmfController#4"] = new(ExpectedErrorId: "NvmeKernelFabricsUnavailable", Why: "no /dev/nvme-fabrics", MachineLacks: NoFabricsHost),
        ["Disconnect-NvmfController#3"] = new(ExpectedErrorId: "NvmeKernelFabricsUnavailable", Why: "no /dev/nvme-fabrics", MachineLacks: NoFabricsHost),
        ["Get-NvmfTarget#3"] = new(ExpectedErrorId: "NvmetConfigfsNotMounted", Why: "no configfs", MachineLacks: NoNvmet),
        ["Start-NvmfTarget#4"] = new(ExpectedErrorId: "NvmetConfigfsNotMounted", Why: "no configfs", MachineLacks: NoNvmet),
        ["Stop-NvmfTarget#4"] = new(ExpectedErrorId: "NvmetConfigfsNotMounted", Why: "no configfs", MachineLacks: NoNvmet),
    };

    /// <summary>The examples that drive the kernel (the ones with a MachineLacks stage), for the VM tier.</summary>
    public static IReadOnlyList<string> KernelExampleIds => Stages.Where(kv => kv.Value.MachineLacks is not null).Select(kv => kv.Key).Order(StringComparer.Ordinal).ToList();

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

        // The VM tier (KernelHelpExamplesInVmTests) runs every example that uses -Kernel or Get-NvmeDevice: each kernel
        // example here must be one of those, or it would run nowhere for real.
        var examples = ReadExamples().ToDictionary(e => e.Id, e => e.Script, StringComparer.Ordinal);
        Assert.All(KernelExampleIds, id => Assert.True(
            examples[id].Contains("-Kernel", StringComparison.Ordinal) || examples[id].Contains("Get-NvmeDevice", StringComparison.Ordinal), id));
    }

    [Theory]
    [MemberData(nameof(Examples))]
    public void Help_example_runs_as_written(string id)
    {
        var example = ReadExamples().Single(e => e.Id == id);
        var stage = Stages.GetValueOrDefault(id) ?? new Stage();
        if (stage.MachineLacks is { } lacks && !lacks())
        {
            // This machine has the kernel facility, and the example would change the kernel's state here: the VM
            // tier runs it against a kernel of its own.
            return;
        }

        string scratch = Directory.CreateTempSubdirectory("nvmeps-example").FullName;
        using var rs = new ModuleRunspace();
        try
        {
            rs.CurrentDirectory = scratch;
            rs.ConfirmHandler = _ => ConfirmAnswer.Yes;
            SetUp(rs, stage);

            CommandResult r;
            // A kernel example must meet this machine's kernel, not the fake trees another test may have set up.
            bool gated = stage.MachineLacks is not null;
            if (gated)
            {
                FakeKernelTrees.Gate.Wait();
            }

            try
            {
                r = stage.StopAfterSec > 0 ? RunStopped(rs, example.Script, stage.StopAfterSec, id) : rs.Script(example.Script);
            }
            finally
            {
                if (gated)
                {
                    FakeKernelTrees.Gate.Release();
                }
            }

            if (stage.ExpectedErrorId is { } expected)
            {
                // One error, or one per piped item (connect-all), all of them the one a user would see here.
                Assert.NotEmpty(r.AllErrors);
                Assert.All(r.AllErrors, e => Assert.StartsWith(expected + ",", e.FullyQualifiedErrorId, StringComparison.Ordinal));
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

    private static CommandResult RunStopped(ModuleRunspace rs, string script, int stopAfterSec, string id)
    {
        var running = rs.ScriptInvocation(script).Start();
        Assert.False(running.WaitUntil(x => x.AllErrors.Count > 0, TimeSpan.FromSeconds(stopAfterSec)), $"{id} failed while running");
        running.Stop();
        return running.Wait(TimeSpan.FromSeconds(30));
    }

    private void SetUp(ModuleRunspace rs, Stage stage)
    {
        rs.Script("param($bus) $PSDefaultParameterValues['Find-NvmeMiEndpoint:BusAddress'] = $bus; $PSDefaultParameterValues['Repair-NvmeMiEndpoint:BusAddress'] = $bus",
            _world.Bus.Address).ThrowIfFailed();
        if (stage.Target)
        {
            rs.Script($@"
                $global:t = Start-NvmfTarget -Listen 127.0.0.1:4420 -DiscoveryListen 127.0.0.1:8009 -SubsystemNqn {Disk1} -Namespace memory:64M -Capacity 256MB
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
