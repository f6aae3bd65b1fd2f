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

            ErrorAssert.Single(_s.Host.Command("Start-NvmfTarget").Param("Listen", "127.0.0.1:0").Param("Namespace", "memory:1M,color=blue").Invoke(), "InvalidTargetArgument", ErrorCategory.InvalidArgument);
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
        ErrorAssert.Single(_s.Host.Command("Start-NvmfTarget").Param("Listen", "127.0.0.1:0").Param("Namespace", "memory:lots").Invoke(), "InvalidTargetArgument", ErrorCategory.InvalidArgument);
        ErrorAssert.Single(_s.Host.Command("Start-NvmfTarget").Param("Listen", "127.0.0.1:0").Param("Namespace", "/nonexistent/ns.img").Invoke(), "NamespaceFileNotFound", ErrorCategory.ObjectNotFound);
        ErrorAssert.Single(_s.Host.Command("Start-NvmfTarget").Param("Listen", "127.0.0.1:0").Param("SubsystemNqn", "not an nqn").Invoke(), "NvmeInvalidArgument", ErrorCategory.InvalidArgument);
        // The engine refuses non-loopback addresses unless asked.
        ErrorAssert.Single(_s.Host.Command("Start-NvmfTarget").Param("Listen", "0.0.0.0:0").Invoke(), "NvmeInvalidArgument", ErrorCategory.InvalidArgument);

        // A port a session target already serves is refused (the engine's listener would share it).
        NvmfTarget t = _s.StartTarget();
        try
        {
            var r = _s.Host.Command("Start-NvmfTarget").Param("Listen", t.Listen).Invoke();
            Assert.Same(t, ErrorAssert.Single(r, "NvmfTargetPortInUse", ErrorCategory.ResourceBusy).TargetObject);
        }
        finally
        {
            _s.Stop(t);
        }

        var missing = _s.Host.Command("Stop-NvmfTarget").Param("SubsystemNqn", "nqn.2024-01.io.nvmeps.test:nobody").Invoke();
        ErrorAssert.Single(missing, "NvmfTargetNotFound", ErrorCategory.ObjectNotFound);
    }
}
