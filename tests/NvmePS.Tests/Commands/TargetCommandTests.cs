using System.Management.Automation;
using NvmePS.Tests.Support;

namespace NvmePS.Tests.Commands;

[Collection(ModuleSessionCollection.Name)]
public sealed class TargetCommandTests
{
    private readonly ModuleSession _s;

    public TargetCommandTests(ModuleSession session) => _s = session;

    [Fact]
    public void Start_Get_Stop_a_target_with_memory_and_file_namespaces()
    {
        string file = Path.GetTempFileName();
        try
        {
            File.WriteAllBytes(file, new byte[1 << 20]);
            string nqn = ModuleSession.NewNqn();
            NvmfTarget t = _s.StartTarget(nqn, new[] { "memory:8MB", file }, new[] { "nqn.2014-08.org.nvmexpress:uuid:11111111-2222-3333-4444-555555555555" });
            Assert.Equal(nqn, t.SubsystemNqn);
            Assert.Equal("127.0.0.1", t.Address);
            Assert.NotEqual(0, t.Port);
            Assert.True(t.IsRunning);
            Assert.False(t.AllowAnyHost);
            Assert.Equal(new[] { "nqn.2014-08.org.nvmexpress:uuid:11111111-2222-3333-4444-555555555555" }, t.AllowedHostNqns);
            Assert.Equal(new uint[] { 1, 2 }, t.Namespaces.Select(n => n.NamespaceId));
            Assert.Equal(8L << 20, t.Namespaces[0].SizeBytes);
            Assert.Equal("memory", t.Namespaces[0].Backing);
            Assert.Equal(1L << 20, t.Namespaces[1].SizeBytes);
            Assert.Equal(file, t.Namespaces[1].Backing);

            var got = _s.Host.Command("Get-NvmfTarget").Arg(nqn).Invoke();
            Assert.Same(t, Assert.Single(got.ThrowIfFailed()));
            Assert.Contains(nqn, _s.Host.Complete("Stop-NvmfTarget", "SubsystemNqn", "nqn.2024-01.io.nvmeps.test:").Select(c => c.CompletionText));

            // Stop by NQN through the pipeline's property (ByPropertyName), with -PassThru.
            var stopped = _s.Host.Command("Stop-NvmfTarget").Input(ModuleSession.Record(("SubsystemNqn", nqn))).Switch("PassThru").Invoke();
            Assert.Same(t, Assert.Single(stopped.ThrowIfFailed()));
            Assert.False(t.IsRunning);
            Assert.Empty(_s.Host.Command("Get-NvmfTarget").Arg(nqn).Invoke().Output);
        }
        finally
        {
            File.Delete(file);
        }
    }

    [Fact]
    public void Namespace_specs_pass_through_to_the_engine()
    {
        string dir = Directory.CreateTempSubdirectory().FullName;
        try
        {
            // A relative path resolves against the session's location; ",size=" creates the file.
            _s.Host.CurrentDirectory = dir;
            NvmfTarget t = _s.StartTarget(namespaces: new[] { "memory:1M,bs=4096,nsid=5", "disk.img,size=2M" });
            try
            {
                var byNsid = t.Namespaces.ToDictionary(n => n.NamespaceId);
                Assert.Equal(4096, byNsid[5].BlockSize);
                Assert.Equal(256, byNsid[5].BlockCount);
                NvmfTargetNamespace file = t.Namespaces.Single(n => n.NamespaceId != 5);
                Assert.Equal(Path.Combine(dir, "disk.img"), file.Backing);
                Assert.Equal(2L << 20, new FileInfo(file.Backing).Length);

                // The host sees the 4 KiB format.
                NvmfController c = _s.Connect(t);
                var ns = Assert.IsType<NvmeNamespaceIdentity>(Assert.Single(_s.Host.Command("Get-NvmeIdentify").Arg(c).Param("NamespaceId", 5).Invoke().ThrowIfFailed()));
                Assert.Equal(4096, ns.BlockSize);
                _s.Disconnect(c);
            }
            finally
            {
                _s.Stop(t);
            }

            ErrorAssert.Single(_s.Host.Command("Start-NvmfTarget").Param("Listen", "127.0.0.1:0").Param("Namespace", "memory:1M,color=blue").Invoke(), "InvalidNamespaceSpec", ErrorCategory.InvalidArgument);
        }
        finally
        {
            _s.Host.CurrentDirectory = Environment.CurrentDirectory;
            Directory.Delete(dir, true);
        }
    }

    [Fact]
    public void WhatIf_starts_and_stops_nothing()
    {
        string nqn = ModuleSession.NewNqn();
        var r = _s.Host.Command("Start-NvmfTarget").Param("Listen", "127.0.0.1:0").Param("SubsystemNqn", nqn).Switch("WhatIf").Invoke();
        Assert.Empty(r.ThrowIfFailed());
        Assert.Contains(nqn, Assert.Single(r.WhatIf));
        Assert.Empty(_s.Host.Command("Get-NvmfTarget").Arg(nqn).Invoke().Output);

        // -Verbose reaches the verbose stream, saying where the target listens.
        var started = _s.Host.Command("Start-NvmfTarget").Param("Listen", "127.0.0.1:0").Param("SubsystemNqn", ModuleSession.NewNqn()).Switch("Verbose").Invoke();
        NvmfTarget t = Assert.IsType<NvmfTarget>(Assert.Single(started.ThrowIfFailed()));
        // PowerShell's ShouldProcess says what it performs under -Verbose, then the cmdlet says where it listens.
        Assert.Equal(2, started.Verbose.Count);
        Assert.StartsWith("Performing the operation \"Start NVMe/TCP target", started.Verbose[0], StringComparison.Ordinal);
        Assert.Equal($"Listening on {t.Listen}; discovery controller on the same port.", started.Verbose[1]);
        Assert.Empty(_s.Host.Command("Get-NvmfTarget").Arg(t.SubsystemNqn).Invoke().Verbose);
        r = _s.Host.Command("Stop-NvmfTarget").Input(t).Switch("WhatIf").Invoke();
        Assert.Single(r.WhatIf);
        Assert.True(t.IsRunning);
        _s.Stop(t);
        Assert.False(t.IsRunning);
    }

    [Fact]
    public void Bad_arguments_are_terminating_errors_with_stable_ids()
    {
        ErrorAssert.Single(_s.Host.Command("Start-NvmfTarget").Param("Listen", "not-an-address").Invoke(), "InvalidTargetArgument", ErrorCategory.InvalidArgument);
        Assert.Equal("memory:lots", ErrorAssert.Single(_s.Host.Command("Start-NvmfTarget").Param("Listen", "127.0.0.1:0").Param("Namespace", "memory:lots").Invoke(), "InvalidNamespaceSpec", ErrorCategory.InvalidArgument).TargetObject);
        ErrorAssert.Single(_s.Host.Command("Start-NvmfTarget").Param("Listen", "127.0.0.1:0").Param("Namespace", "/nonexistent/ns.img").Invoke(), "NamespaceFileNotFound", ErrorCategory.ObjectNotFound);
        ErrorAssert.Single(_s.Host.Command("Start-NvmfTarget").Param("Listen", "127.0.0.1:0").Param("SubsystemNqn", "not an nqn").Invoke(), "NvmeInvalidArgument", ErrorCategory.InvalidArgument);
        // Non-loopback addresses are refused unless asked (-AllowNonLoopback).
        ErrorAssert.Single(_s.Host.Command("Start-NvmfTarget").Param("Listen", "0.0.0.0:0").Invoke(), "NvmeInvalidArgument", ErrorCategory.InvalidArgument);

        // A port a session target already serves is refused (the engine's listener would share it).
        NvmfTarget t = _s.StartTarget();
        try
        {
            var r = _s.Host.Command("Start-NvmfTarget").Param("Listen", t.Listen).Invoke();
            var busy = ErrorAssert.Single(r, "NvmfTargetPortInUse", ErrorCategory.ResourceBusy);
            Assert.Same(t, busy.TargetObject);
            // The error view's TargetName names the target, not its type.
            Assert.Equal($"{t.SubsystemNqn} on {t.Listen}", busy.CategoryInfo.TargetName);
        }
        finally
        {
            _s.Stop(t);
        }

        var missing = _s.Host.Command("Stop-NvmfTarget").Param("SubsystemNqn", "nqn.2024-01.io.nvmeps.test:nobody").Invoke();
        ErrorAssert.Single(missing, "NvmfTargetNotFound", ErrorCategory.ObjectNotFound);
    }

    [Theory]
    [InlineData("memroy:1G", "'memroy:' in 'memroy:1G' is not a namespace type")]
    [InlineData("memory:100000T", "an in-memory namespace is at most 1 TiB")]
    [InlineData("memory:1G,nsid=1,nsid=2", "the option 'nsid' is given twice")]
    [InlineData("memory:1G,size=2G", "a memory namespace takes its size after 'memory:'")]
    [InlineData("/dev/null", "'/dev/null' holds 0 bytes")]
    [InlineData("/tmp", "'/tmp' is a directory")]
    public void A_bad_namespace_spec_is_named_in_the_error(string spec, string message)
    {
        var r = _s.Host.Command("Start-NvmfTarget").Param("Listen", "127.0.0.1:0").Param("Namespace", new[] { "memory:1M", spec }).Invoke();
        var e = ErrorAssert.Single(r, "InvalidNamespaceSpec", ErrorCategory.InvalidArgument);
        Assert.Equal(spec, e.TargetObject);
        Assert.Contains(message, e.Exception.Message, StringComparison.Ordinal);
        Assert.StartsWith($"Namespace '{spec}': ", e.Exception.Message, StringComparison.Ordinal);
        Assert.DoesNotContain("(Parameter", e.Exception.Message, StringComparison.Ordinal);
        Assert.DoesNotContain(_s.Host.Command("Get-NvmfTarget").Invoke().Output.Cast<NvmfTarget>(), o => o.Namespaces.Length == 2);
    }

    [Fact]
    public void A_path_with_a_comma_and_a_PowerShell_drive_both_work()
    {
        string dir = Directory.CreateTempSubdirectory("nvmeps-spec").FullName;
        try
        {
            _s.Host.Script($"$null = New-PSDrive -Name SpecTest -PSProvider FileSystem -Root '{dir}'").ThrowIfFailed();
            var r = _s.Host.Command("Start-NvmfTarget").Param("Listen", "127.0.0.1:0")
                .Param("Namespace", new[] { "SpecTest:/a,,b.img,size=1M", "file:SpecTest:/c.img,size=1M,nsid=7" }).Invoke();
            NvmfTarget t = Assert.IsType<NvmfTarget>(Assert.Single(r.ThrowIfFailed()));
            try
            {
                Assert.Equal(new[] { Path.Combine(dir, "a,b.img"), Path.Combine(dir, "c.img") }, t.Namespaces.Select(n => n.Backing));
                Assert.Equal(new uint[] { 1, 7 }, t.Namespaces.Select(n => n.NamespaceId));
                Assert.Equal(1L << 20, new FileInfo(Path.Combine(dir, "a,b.img")).Length);
            }
            finally
            {
                _s.Stop(t);
            }
        }
        finally
        {
            _s.Host.Script("Remove-PSDrive SpecTest -ErrorAction SilentlyContinue");
            Directory.Delete(dir, recursive: true);
        }
    }

    [Fact]
    public void One_subsystem_NQN_is_one_subsystem_in_the_session()
    {
        string nqn = ModuleSession.NewNqn();
        NvmfTarget first = _s.StartTarget(nqn, ["memory:64M"]);
        try
        {
            var r = _s.Host.Command("Start-NvmfTarget").Param("Listen", "127.0.0.1:0").Param("SubsystemNqn", nqn).Param("Namespace", "memory:128M").Invoke();
            var e = ErrorAssert.Single(r, "NvmfSubsystemNqnInUse", ErrorCategory.ResourceExists);
            Assert.Same(first, e.TargetObject);
            Assert.Contains(first.Listen, e.Exception.Message, StringComparison.Ordinal);
            Assert.Single(_s.Host.Command("Get-NvmfTarget").Arg(nqn).Invoke().ThrowIfFailed());

            // Add-NvmfSubsystem refuses it too, and a second subsystem gets a serial of its own.
            r = _s.Host.Command("Add-NvmfSubsystem").Param("InputObject", first).Param("SubsystemNqn", nqn).Invoke();
            ErrorAssert.Single(r, "NvmfSubsystemNqnInUse", ErrorCategory.ResourceExists);
        }
        finally
        {
            _s.Stop(first);
        }
    }

    [Fact]
    public void One_port_serves_several_subsystems_and_a_discovery_port_lists_them()
    {
        string a = ModuleSession.NewNqn(), b = ModuleSession.NewNqn();
        var r = _s.Host.Command("Start-NvmfTarget").Param("Listen", "127.0.0.1:0").Param("SubsystemNqn", a).Param("Namespace", "memory:1M")
            .Param("DiscoveryListen", "127.0.0.1:0").Invoke();
        NvmfTarget t = Assert.IsType<NvmfTarget>(Assert.Single(r.ThrowIfFailed()));
        try
        {
            Assert.NotNull(t.DiscoveryListen);
            Assert.NotEqual(t.Listen, t.DiscoveryListen);
            r = _s.Host.Script("param($t, $b) $t | Add-NvmfSubsystem -SubsystemNqn $b -Namespace memory:2M, memory:4M", t, b);
            Assert.Same(t, Assert.Single(r.ThrowIfFailed()));
            Assert.Equal(new[] { a, b }, t.SubsystemNqns);
            Assert.Equal(new[] { (a, 1u), (b, 1u), (b, 2u) }, t.Namespaces.Select(n => (n.SubsystemNqn, n.NamespaceId)));

            // The discovery-only port lists both subsystems at the I/O port, and itself as a discovery entry only.
            var log = _s.Host.Command("Get-NvmfDiscoveryLog").Param("TransportAddress", t.DiscoveryListen!).Invoke().ThrowIfFailed();
            var entries = log.Cast<NvmfDiscoveryLogEntry>().Select(o => (Nqn: o.SubNqn, Port: o.Trsvcid)).ToList();
            Assert.Contains((a, t.Port.ToString(System.Globalization.CultureInfo.InvariantCulture)), entries);
            Assert.Contains((b, t.Port.ToString(System.Globalization.CultureInfo.InvariantCulture)), entries);
            string discoveryPort = t.DiscoveryListen!.Split(':')[^1];
            Assert.DoesNotContain(entries, e => e.Port == discoveryPort && e.Nqn != "nqn.2014-08.org.nvmexpress.discovery");

            // A host reaches the added subsystem through the shared port, and Get-NvmfTarget finds the target by it.
            var c = _s.Host.Command("Connect-NvmfController").Param("TransportAddress", t.Listen).Param("SubsystemNqn", b).Invoke().ThrowIfFailed();
            _s.Host.Command("Disconnect-NvmfController").Input(c[0]).Invoke().ThrowIfFailed();
            Assert.Same(t, Assert.Single(_s.Host.Command("Get-NvmfTarget").Arg(b).Invoke().ThrowIfFailed()));

            // The NVM subsystem cannot be reached through the discovery-only port.
            r = _s.Host.Command("Connect-NvmfController").Param("TransportAddress", t.DiscoveryListen!).Param("SubsystemNqn", a).Invoke();
            Assert.Single(r.AllErrors);
        }
        finally
        {
            _s.Stop(t);
        }
    }
}
