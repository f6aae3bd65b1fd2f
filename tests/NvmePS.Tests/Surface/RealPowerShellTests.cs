using System.Management.Automation;
using System.Reflection;
using System.Reflection.Metadata;
using System.Reflection.PortableExecutable;
using NvmePS.Tests.Support;

namespace NvmePS.Tests.Surface;

/// <summary>The module as real PowerShell loads, describes, documents and renders it.</summary>
[Collection(ModuleSessionCollection.Name)]
public sealed class RealPowerShellTests
{
    private readonly ModuleSession _s;

    public RealPowerShellTests(ModuleSession session) => _s = session;

    [Fact]
    public void The_shipped_dlls_are_loaded_once_from_out_NvmePS_into_real_PowerShell()
    {
        var loaded = AppDomain.CurrentDomain.GetAssemblies().Where(a => a.GetName().Name is "NvmePS" or "NvmePS.Engine").ToList();
        Assert.Equal(2, loaded.Count);
        Assert.All(loaded, a => Assert.Equal(ModuleUnderTest.LayoutDir, Path.GetDirectoryName(a.Location)));

        // The runspace's NvmePS module is that same file, and System.Management.Automation is PowerShell 7.6, not a stand-in.
        var module = Assert.IsType<PSModuleInfo>(Assert.Single(_s.Host.Script("Get-Module NvmePS").Output));
        Assert.Equal(ModuleUnderTest.Module.Location, module.ImplementingAssembly.Location);
        Assert.Same(ModuleUnderTest.Module, module.ImplementingAssembly);
        Assert.Equal(new Version(7, 6, 10), Assert.IsType<Version>(Assert.Single(_s.Host.Script("[version]$PSVersionTable.PSVersion.ToString()").Output)));
        Assert.Equal("Microsoft Corporation", ModuleUnderTest.PowerShell.GetCustomAttribute<AssemblyCompanyAttribute>()?.Company);
    }

    [Fact]
    public void Test_ModuleManifest_passes_and_the_manifest_exports_exactly_the_dlls_cmdlets()
    {
        var m = Assert.IsType<PSModuleInfo>(Assert.Single(_s.Host.Script("Test-ModuleManifest $args[0]", ModuleUnderTest.ManifestPath).ThrowIfFailed()));
        Assert.Equal("NvmePS.dll", Path.GetFileName(m.RootModule));
        Assert.Equal(new Version(7, 4), m.PowerShellVersion);

        var fromManifest = m.ExportedCmdlets.Keys.Order(StringComparer.Ordinal).ToList();
        var fromDll = ModuleUnderTest.Module.GetExportedTypes()
            .Select(t => t.GetCustomAttribute<CmdletAttribute>()).OfType<CmdletAttribute>()
            .Select(a => $"{a.VerbName}-{a.NounName}").Order(StringComparer.Ordinal).ToList();
        var fromGetCommand = ModuleUnderTest.Cmdlets.Select(c => c.Name).Order(StringComparer.Ordinal).ToList();
        Assert.Equal(fromDll, fromManifest);
        Assert.Equal(fromDll, fromGetCommand);
    }

    public static TheoryData<string> CmdletNames()
    {
        var d = new TheoryData<string>();
        foreach (string n in ModuleUnderTest.Cmdlets.Select(c => c.Name))
        {
            d.Add(n);
        }

        return d;
    }

    [Theory]
    [MemberData(nameof(CmdletNames))]
    public void Get_Help_reads_the_generated_MAML(string name)
    {
        PSObject help = Assert.Single(_s.Host.Script("Get-Help $args[0] -Full", name).ThrowIfFailed().Cast<PSObject>());
        string synopsis = help.Properties["Synopsis"].Value.ToString()!.Trim();
        // Without MAML, Get-Help makes up a synopsis from the syntax ("Verb-Noun [-Param] ...").
        Assert.False(string.IsNullOrWhiteSpace(synopsis), $"{name}: no synopsis");
        Assert.DoesNotContain(name + " [", synopsis, StringComparison.Ordinal);
        Assert.Equal("MamlCommandHelpInfo", help.TypeNames.First(t => t.EndsWith("HelpInfo", StringComparison.Ordinal) || t.StartsWith("MamlCommandHelpInfo", StringComparison.Ordinal)).Split('#')[0]);

        var examples = _s.Host.Script("@((Get-Help $args[0] -Examples).examples.example)", name).ThrowIfFailed();
        Assert.True(examples.Count >= 2, $"{name}: {examples.Count} example(s)");
        foreach (var e in examples.Cast<PSObject>())
        {
            Assert.Contains(name, e.Properties["code"].Value.ToString(), StringComparison.Ordinal);
        }

        CmdletInfo cmd = ModuleUnderTest.Cmdlets.Single(c => c.Name == name);
        foreach (string p in cmd.Parameters.Keys.Where(k => ModuleUnderTest.IsDocumented(cmd, k)))
        {
            string text = string.Join("\n", _s.Host.Script("(Get-Help $args[0] -Parameter $args[1]).description.Text", name, p).ThrowIfFailed());
            Assert.False(string.IsNullOrWhiteSpace(text), $"{name} -{p} has no description in Get-Help");
        }

        // SYNTAX lists each set's parameters as PowerShell would: by position, then mandatory, then by name.
        foreach (var set in cmd.ParameterSets)
        {
            var expected = set.Parameters.Where(p => ModuleUnderTest.IsDocumented(cmd, p.Name))
                .OrderBy(p => p.Position < 0 ? int.MaxValue : p.Position).ThenBy(p => p.IsMandatory ? 0 : 1).ThenBy(p => p.Name, StringComparer.Ordinal)
                .Select(p => p.Name).ToList();
            expected.AddRange(new[] { "WhatIf", "Confirm" }.Where(r => set.Parameters.Any(p => p.Name == r)));
            var shown = _s.Host.Script("param($n, $i) @((Get-Help $n).syntax.syntaxItem)[$i].parameter | ForEach-Object name", name, cmd.ParameterSets.ToList().IndexOf(set))
                .ThrowIfFailed().Select(o => (string)o!).ToList();
            Assert.True(expected.SequenceEqual(shown), $"{name} [{set.Name}]: SYNTAX shows {string.Join(" ", shown)}, expected {string.Join(" ", expected)}");
        }

        // Get-Help -Online opens the page the help was written from.
        string online = string.Join(string.Empty, _s.Host.Script("@((Get-Help $args[0]).relatedLinks.navigationLink)[0].uri", name).ThrowIfFailed());
        Assert.Equal($"https://github.com/nvmeps/NvmePS/blob/main/docs/help/{name}.md", online);
    }

    [Fact]
    public void Get_Help_about_NvmePS_explains_the_per_runspace_session_model()
    {
        string text = string.Join("\n", _s.Host.Script("Get-Help about_NvmePS | Out-String -Width 120").ThrowIfFailed());
        Assert.Contains("about_NvmePS", text, StringComparison.Ordinal);
        Assert.Contains("SESSION STATE", text, StringComparison.Ordinal);
        Assert.Contains("Remove-Module NvmePS disconnects the controllers and stops the targets of the runspace that removes it", text.ReplaceLineEndings(" ").Replace("      ", " ", StringComparison.Ordinal), StringComparison.Ordinal);
    }

    [Fact]
    public void The_module_needs_nothing_that_dotnet8_and_pwsh_7_4_do_not_provide()
    {
        // pwsh 7.4 runs on .NET 8: every assembly the shipped dlls reference must be in out/NvmePS, be PowerShell's own
        // System.Management.Automation (at PowerShellStandard's version), or be in .NET 8's shared framework at a version
        // it has. A dependency such as System.IO.Pipelines 8.0 (not in the framework) fails this until it is shipped.
        string refPack = Directory.GetDirectories(Path.Combine(ModuleUnderTest.NuGetPackageRoot, "microsoft.netcore.app.ref"), "8.0.*")
            .OrderByDescending(d => Version.Parse(Path.GetFileName(d)))
            .Select(d => Path.Combine(d, "ref", "net8.0"))
            .First(Directory.Exists);
        var framework = Directory.GetFiles(refPack, "*.dll").ToDictionary(f => Path.GetFileNameWithoutExtension(f), f => AssemblyName.GetAssemblyName(f).Version!, StringComparer.Ordinal);
        var shipped = Directory.GetFiles(ModuleUnderTest.LayoutDir, "*.dll").ToDictionary(f => Path.GetFileNameWithoutExtension(f), f => AssemblyName.GetAssemblyName(f).Version!, StringComparer.Ordinal);
        Version smaStandard = AssemblyName.GetAssemblyName(ModuleUnderTest.PowerShellStandardReference).Version!;
        Assert.Equal(new Version(3, 0, 0, 0), smaStandard);

        var problems = new List<string>();
        foreach (string dll in Directory.GetFiles(ModuleUnderTest.LayoutDir, "*.dll"))
        {
            using var pe = new PEReader(File.OpenRead(dll));
            MetadataReader md = pe.GetMetadataReader();
            foreach (AssemblyReferenceHandle h in md.AssemblyReferences)
            {
                AssemblyReference r = md.GetAssemblyReference(h);
                string name = md.GetString(r.Name);
                bool ok = name == "System.Management.Automation" ? r.Version <= smaStandard
                    : shipped.TryGetValue(name, out Version? v) ? r.Version <= v
                    : framework.TryGetValue(name, out Version? f) && r.Version <= f;
                if (!ok)
                {
                    problems.Add($"{Path.GetFileName(dll)} references {name} {r.Version}");
                }
            }
        }

        Assert.Empty(problems);
    }

    [Fact]
    public void Every_output_type_renders_its_default_view_live_and_after_a_CliXml_round_trip()
    {
        NvmfTarget t = _s.StartTarget(namespaces: new[] { "memory:4MB" });
        using var bus = NvmePS.Engine.Tests.DBus.PrivateBus.Start();
        using var mctpd = new NvmePS.Engine.Tests.DBus.FakeMctpd();
        mctpd.AddEndpoint(3, 61, new byte[] { 0, 4 }, Guid.NewGuid());
        mctpd.StartAsync(bus.Address).GetAwaiter().GetResult();
        try
        {
            // One object of every type a cmdlet declares, made by the cmdlets themselves.
            var objects = new List<object?>();
            using (FakeKernelTrees.Use())
            {
                // The kernel's types, from a sysfs and a configfs laid out as Linux 6.1 lays them out.
                objects.AddRange(_s.Host.Script("Get-NvmeDevice; Get-NvmfTarget -Kernel").ThrowIfFailed());
            }

            objects.AddRange(_s.Host.Script(@"
                param($t, $bus)
                $c = Connect-NvmfController $t.Address $t.SubsystemNqn -ServiceId $t.Port
                $null = Send-NvmfCommand $c -Opcode 0xEE   # leaves an Error Information log entry
                $t; $t.Namespaces[0]; $c; $c.QueuePairs[0]
                Get-NvmfDiscoveryLog $t.Address -ServiceId $t.Port | Select-Object -First 1
                Get-NvmeIdentify $c; Get-NvmeIdentify $c -NamespaceId 1; Get-NvmeIdentify $c -ActiveNamespaces
                Get-NvmeLog $c Smart; Get-NvmeLog $c Error | Select-Object -First 1; Get-NvmeLog $c FirmwareSlot
                Get-NvmeLog $c Smart -Raw
                Get-NvmeFeature $c KeepAliveTimer; Get-NvmfProperty $c CAP
                Send-NvmfCommand $c -Opcode 6 -Cdw10 1 -DataLength 4096
                Write-NvmeBlock $c 0 ([byte[]]::new(512)); Read-NvmeBlock $c 0 1
                Start-NvmeSelfTest $c -NamespaceId 0 -Wait; Get-NvmeSanitizeStatus $c
                $c | Disconnect-NvmfController
                Start-NvmeMiSimulator -Network 3 -Eid 61
                $m = Find-NvmeMiEndpoint -BusAddress $bus | Tee-Object -Variable found | Connect-NvmeMiEndpoint
                $found; $m; Get-NvmeMiHealth $m; Get-NvmeMiHealth $m -ControllerId 1
                Get-NvmeMiController $m | Select-Object -First 1
                Get-NvmeMiSubsystem $m; Get-NvmeMiPort $m -PortId 0; Get-NvmeMiConfiguration $m -PortId 1; Get-NvmeMiVpd $m -Length 16
                $null = Wait-NvmeMiEvent $m -Count 0 -TimeoutSec 1 -KeepEnabled
                Set-NvmeFeature -Controller (Get-NvmeMiController $m)[0] -FeatureId TemperatureThreshold -Value 300 -Confirm:$false | Out-Null
                $mc = (Get-NvmeMiController $m)[1]
                New-NvmeNamespace -Controller $mc -Size 4MB | Add-NvmeNamespaceAttachment -Controller $mc
                Wait-NvmeMiEvent $m -Count 1 -TimeoutSec 10 | Select-Object -First 1
                Get-NvmeHostNqn; New-NvmeDhchapKey", t, bus.Address).ThrowIfFailed());

            // A health change, as Watch-NvmeMiHealth writes it when the simulated drive raises a warning.
            var sim = Assert.IsType<NvmeMiSimulator>(Assert.Single(_s.Host.Command("Start-NvmeMiSimulator").Param("Network", 3u).Param("Eid", (byte)62).Invoke().ThrowIfFailed()));
            RunningCommand watch = _s.Host.Command("Watch-NvmeMiHealth").Param("Network", 3u).Param("Eid", (byte)62).Param("IntervalSec", 1).Switch("Verbose").Start();
            Assert.True(watch.WaitUntil(r => r.Verbose.Any(v => v.StartsWith("Watching", StringComparison.Ordinal)), TimeSpan.FromSeconds(20)), "no first poll");
            sim.Host.Subsystem.InjectedCriticalWarning = 0x04;
            Assert.True(watch.WaitUntil(r => r.Output.Count > 0, TimeSpan.FromSeconds(20)));
            watch.Stop();
            objects.Add(watch.Wait(TimeSpan.FromSeconds(20)).Output[0]);

            var declared = ModuleUnderTest.Cmdlets.SelectMany(ModuleUnderTest.OutputTypes).SelectMany(o => o.Type).Select(p => p.Type!).ToHashSet();
            var made = objects.Select(o => o!.GetType()).ToHashSet();
            Assert.Empty(declared.Except(made).Select(x => x.Name));

            var problems = new List<string>();
            foreach (object? o in objects)
            {
                string typeName = o!.GetType().FullName!;
                string live = Render(o);
                object back = Assert.Single(_s.Host.Script("[System.Management.Automation.PSSerializer]::Deserialize([System.Management.Automation.PSSerializer]::Serialize($args[0]))", o).OutputObjects);
                Assert.Contains("Deserialized." + typeName, ((PSObject)back).TypeNames);
                string deserialized = Render(back);

                // The module's view is used (its first column's label heads the table), and it reads the same when
                // only the properties survived, as in remoting.
                string firstLabel = FirstLabel(typeName);
                Assert.StartsWith(firstLabel, live.TrimStart(), StringComparison.Ordinal);
                Assert.Equal(live, deserialized);

                // Every label of every view of the type is a member a user can read ($x.Label).
                var members = _s.Host.Script("$args[0] | Get-Member -MemberType Properties | ForEach-Object Name", o).ThrowIfFailed()
                    .Select(m => (string)m!).ToHashSet(StringComparer.OrdinalIgnoreCase);
                foreach (string label in Labels(typeName))
                {
                    if (!members.Contains(label))
                    {
                        problems.Add($"{typeName}: the view's label '{label}' is not a property");
                    }
                }

                // At 80 columns a table row stays on one line and within the width.
                if (HasTable(typeName))
                {
                    string narrow = _s.Host.Script("$args[0] | Format-Table | Out-String -Width 80", o).ThrowIfFailed().Cast<string>().Single()
                        .Replace("\r", string.Empty, StringComparison.Ordinal).Trim('\n');
                    var lines = narrow.Split('\n');
                    if (!(lines.Length == 3 && lines.All(l => l.Length <= 80)))
                    {
                        problems.Add($"{typeName} at 80 columns:\n{narrow}");
                    }
                }
            }

            Assert.True(problems.Count == 0, string.Join("\n", problems));
        }
        finally
        {
            _s.Host.Command("Stop-NvmeMiSimulator").Invoke();
            _s.Stop(t);
        }
    }

    [Fact]
    public void At_120_columns_two_controllers_and_targets_with_long_NQNs_stay_distinguishable()
    {
        const string prefix = "nqn.2024-01.io.nvmeps.test:rack12-shelf3-enclosure-controller-a-subsystem-";
        NvmfTarget t1 = _s.StartTarget(prefix + "0001");
        NvmfTarget t2 = _s.StartTarget(prefix + "0002");
        try
        {
            NvmfController c1 = _s.Connect(t1);
            NvmfController c2 = _s.Connect(t2);
            foreach ((object a, object b, string what) in new[] { ((object)t1, (object)t2, "targets"), (c1, c2, "controllers") })
            {
                string text = Render(a, b);
                var rows = text.Split('\n').Where(l => l.Contains("nqn.", StringComparison.Ordinal)).ToList();
                Assert.True(rows.Count == 2, $"{what}: {text}");
                Assert.True(rows[0].Contains("0001", StringComparison.Ordinal) && rows[1].Contains("0002", StringComparison.Ordinal), $"{what} look alike at 120 columns:\n{text}");
                Assert.All(text.Split('\n'), l => Assert.True(l.Length <= 120, l));
            }

            _s.Disconnect(c1);
            _s.Disconnect(c2);
        }
        finally
        {
            _s.Stop(t1);
            _s.Stop(t2);
        }
    }

    private string Render(params object[] items) =>
        string.Join("\n", _s.Host.Script("$args | Out-String -Width 120", items).ThrowIfFailed()).Replace("\r", string.Empty, StringComparison.Ordinal).Trim('\n');

    private static IEnumerable<System.Xml.Linq.XElement> Views(string typeName) =>
        System.Xml.Linq.XDocument.Load(Path.Combine(ModuleUnderTest.LayoutDir, "NvmePS.Format.ps1xml")).Descendants("View")
            .Where(v => v.Element("ViewSelectedBy")!.Element("TypeName")!.Value == typeName);

    private static bool HasTable(string typeName) => Views(typeName).Any(v => v.Element("TableControl") is not null);

    /// <summary>The labels a user sees: table headers and list item labels (a bare PropertyName is its own label).</summary>
    private static IEnumerable<string> Labels(string typeName) =>
        Views(typeName).SelectMany(v => v.Descendants("TableColumnHeader").Select(h => h.Element("Label")?.Value)
            .Concat(v.Descendants("ListItem").Select(i => i.Element("Label")?.Value ?? i.Element("PropertyName")?.Value)))
            .Where(l => l is not null).Select(l => l!).Distinct();

    private static string FirstLabel(string typeName)
    {
        var doc = System.Xml.Linq.XDocument.Load(Path.Combine(ModuleUnderTest.LayoutDir, "NvmePS.Format.ps1xml"));
        var view = doc.Descendants("View").First(v => v.Element("ViewSelectedBy")!.Element("TypeName")!.Value == typeName);
        return view.Descendants("TableColumnHeader").Select(h => h.Element("Label")?.Value).FirstOrDefault()
            ?? view.Descendants("ListItem").Select(i => i.Element("Label")?.Value ?? i.Element("PropertyName")!.Value).First();
    }
}
