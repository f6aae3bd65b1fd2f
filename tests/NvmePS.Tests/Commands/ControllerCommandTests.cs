using System.Management.Automation;
using NvmePS.Tests.Support;

namespace NvmePS.Tests.Commands;

/// <summary>Connect-/Disconnect-NvmfController and the Admin cmdlets against a real loopback target.</summary>
[Collection(ModuleSessionCollection.Name)]
public sealed class ControllerCommandTests
{
    private readonly ModuleSession _s;

    public ControllerCommandTests(ModuleSession session) => _s = session;

    [Fact]
    public void Connect_identify_and_disconnect()
    {
        NvmfTarget t = _s.StartTarget(namespaces: new[] { "memory:4MB", "memory:2MB" });
        try
        {
            NvmfController c = _s.Connect(t, i => i.Param("IoQueueCount", 2).Param("QueueSize", 16));
            Assert.True(c.IsConnected);
            Assert.Equal(t.SubsystemNqn, c.SubsystemNqn);
            Assert.Equal("127.0.0.1", c.TransportAddress);
            Assert.Equal(t.Port, c.ServiceId);
            Assert.Equal(2, c.IoQueueCount);
            Assert.Equal(new ushort[] { 0, 1, 2 }, c.QueuePairs.Select(q => q.QueueId));
            Assert.Equal(new[] { "Admin", "IO", "IO" }, c.QueuePairs.Select(q => q.Kind));
            Assert.Equal(16, c.QueuePairs[1].QueueSize);
            Assert.Equal(t.SerialNumber, c.SerialNumber);
            Assert.Contains(t.SubsystemNqn, _s.Host.Complete("Disconnect-NvmfController", "SubsystemNqn", string.Empty).Select(x => x.CompletionText));

            var id = Assert.IsType<NvmeControllerIdentity>(Assert.Single(_s.Host.Command("Get-NvmeIdentify").Input(c).Invoke().ThrowIfFailed()));
            Assert.Equal(c.ControllerId, id.ControllerId);
            Assert.Equal(t.SerialNumber, id.SerialNumber);
            Assert.Equal(t.SubsystemNqn, id.SubsystemNqn);
            Assert.Equal("IO", id.ControllerType);
            Assert.Equal(4096, id.Raw.Length);
            // NN is the highest NSID the controller supports, not the number of namespaces.
            Assert.True(id.MaxNamespaces >= 2);

            var active = _s.Host.Command("Get-NvmeIdentify").Arg(c).Switch("ActiveNamespaces").Invoke();
            Assert.Equal(new uint[] { 1, 2 }, active.OutputOf<NvmeNamespaceId>().Select(n => n.NamespaceId));

            var ns = _s.Host.Command("Get-NvmeIdentify").Arg(c).Param("NamespaceId", new[] { 1, 2 }).Invoke().ThrowIfFailed().Cast<NvmeNamespaceIdentity>().ToList();
            Assert.Equal(new ulong[] { 8192, 4096 }, ns.Select(n => n.SizeBlocks));
            Assert.Equal(new decimal[] { 4 << 20, 2 << 20 }, ns.Select(n => n.SizeBytes));
            Assert.All(ns, n => Assert.Equal(512, n.BlockSize));
            Assert.Equal("4 MiB", ns[0].Size);

            var r = _s.Host.Command("Disconnect-NvmfController").Input(c).Switch("PassThru").Invoke();
            Assert.Same(c, Assert.Single(r.ThrowIfFailed()));
            Assert.False(c.IsConnected);

            // A disconnected controller is unusable input for the Admin cmdlets: a per-item error naming it.
            var after = _s.Host.Command("Get-NvmeIdentify").Input(c).Invoke();
            Assert.Same(c, ErrorAssert.Single(after, "NvmeControllerDisconnected", ErrorCategory.ResourceUnavailable).TargetObject);
        }
        finally
        {
            _s.Stop(t);
        }
    }

    [Fact]
    public void Logs_and_features_are_read_and_set()
    {
        NvmfTarget t = _s.StartTarget();
        try
        {
            NvmfController c = _s.Connect(t);
            var smart = Assert.IsType<NvmeSmartHealth>(Assert.Single(_s.Host.Command("Get-NvmeLog").Arg(c).Arg("Smart").Invoke().ThrowIfFailed()));
            Assert.Equal(NvmePS.Engine.Admin.NvmeCriticalWarning.None, smart.CriticalWarning);
            // The engine's target has no thermal sensor and reports 0 K, NVMe's "not reported".
            Assert.Equal(0, smart.TemperatureKelvin);
            Assert.Null(smart.TemperatureCelsius);
            Assert.Equal(100, smart.AvailableSparePercent);

            var fw = Assert.IsType<NvmeFirmwareSlots>(Assert.Single(_s.Host.Command("Get-NvmeLog").Arg(c).Arg("FirmwareSlot").Invoke().ThrowIfFailed()));
            Assert.Equal(c.FirmwareRevision, fw.ActiveRevision);

            var raw = Assert.IsType<NvmeLogPage>(Assert.Single(_s.Host.Command("Get-NvmeLog").Arg(c).Param("LogId", "0x02").Switch("Raw").Invoke().ThrowIfFailed()));
            Assert.Equal(2, raw.LogId);
            Assert.Equal(4096, raw.Length);
            Assert.Equal(smart.TemperatureKelvin, BitConverter.ToUInt16(raw.Data, 1));

            var kato = Assert.IsType<NvmeFeature>(Assert.Single(_s.Host.Command("Get-NvmeFeature").Arg(c).Arg("KeepAliveTimer").Invoke().ThrowIfFailed()));
            Assert.Equal(30000u, kato.Value);
            Assert.Equal("KATO=30000 ms", kato.Decoded);

            var set = _s.Host.Command("Set-NvmeFeature").Arg(c).Arg("KeepAliveTimer").Arg(15000).Invoke();
            // Issue 10 item 6: the output is the feature as the controller reports it after the set, not DW0 of the
            // Set Features completion (which printed KATO=0 ms).
            var setOut = Assert.IsType<NvmeFeature>(Assert.Single(set.ThrowIfFailed()));
            Assert.Equal(("Current", 15000u), (setOut.Select, setOut.Value));
            Assert.Contains("15000", setOut.Decoded, StringComparison.Ordinal);
            var tmpth = Assert.IsType<NvmeFeature>(Assert.Single(_s.Host.Command("Set-NvmeFeature").Arg(c).Arg("TemperatureThreshold").Arg(350).Invoke().ThrowIfFailed()));
            Assert.Equal(350u, tmpth.Value & 0xFFFF);
            Assert.Contains("350", tmpth.Decoded, StringComparison.Ordinal);
            var again = Assert.IsType<NvmeFeature>(Assert.Single(_s.Host.Command("Get-NvmeFeature").Arg(c).Param("FeatureId", "0x0F").Invoke().ThrowIfFailed()));
            Assert.Equal(15000u, again.Value);

            var whatIf = _s.Host.Command("Set-NvmeFeature").Arg(c).Arg("KeepAliveTimer").Arg(5000).Switch("WhatIf").Invoke();
            Assert.Empty(whatIf.ThrowIfFailed());
            Assert.Contains("KeepAliveTimer", Assert.Single(whatIf.WhatIf));

            _s.Disconnect(c);
        }
        finally
        {
            _s.Stop(t);
        }
    }

    [Fact]
    public void Device_errors_carry_the_NVMe_status_and_the_controller()
    {
        NvmfTarget t = _s.StartTarget();
        try
        {
            NvmfController c = _s.Connect(t);

            // NSID 7 is valid but inactive: a non-terminating NvmeNamespaceNotActive error and no zero-filled object
            // (issue 10 item 10; it was a warning that -ErrorVariable did not see). NSID 5000 is beyond NN: a
            // per-namespace error, and namespace 1 is still returned.
            var inactive = _s.Host.Command("Get-NvmeIdentify").Arg(c).Param("NamespaceId", new[] { 7, 1 }).Invoke();
            Assert.Equal(1u, Assert.Single(inactive.OutputOf<NvmeNamespaceIdentity>()).NamespaceId);
            Assert.Equal(7u, ErrorAssert.Single(inactive, "NvmeNamespaceNotActive", ErrorCategory.ObjectNotFound).TargetObject);
            Assert.Empty(inactive.Warnings);

            // Issue 10 item 8: the active namespace list pipes into Get-NvmeIdentify (NamespaceId by property name).
            var piped = _s.Host.Script("Get-NvmeIdentify $args[0] -ActiveNamespaces | Get-NvmeIdentify $args[0]", c).ThrowIfFailed().Cast<NvmeNamespaceIdentity>();
            Assert.Equal(new uint[] { 1 }, piped.Select(n => n.NamespaceId));
            // ... and with no controller named: the list carries its controller, which binds by property name.
            piped = _s.Host.Script("Get-NvmeIdentify $args[0] -ActiveNamespaces | Get-NvmeIdentify", c).ThrowIfFailed().Cast<NvmeNamespaceIdentity>();
            Assert.Equal(new uint[] { 1 }, piped.Select(n => n.NamespaceId));
            var r = _s.Host.Command("Get-NvmeIdentify").Arg(c).Param("NamespaceId", new[] { 5000, 1 }).Invoke();
            Assert.Equal(1u, Assert.Single(r.OutputOf<NvmeNamespaceIdentity>()).NamespaceId);
            ErrorRecord e = ErrorAssert.Single(r, "NvmeDeviceStatus", ErrorCategory.DeviceError);
            Assert.Same(c, e.TargetObject);
            var status = Assert.IsType<NvmePS.Engine.NvmeStatusException>(e.Exception);
            Assert.Equal(NvmePS.Engine.NvmeStatusNames.InvalidNamespaceOrFormat, status.Status.Sc);
            Assert.NotNull(e.ErrorDetails);

            // An unsupported feature.
            var f = _s.Host.Command("Get-NvmeFeature").Arg(c).Arg("0xC7").Invoke();
            Assert.Same(c, ErrorAssert.Single(f, "NvmeDeviceStatus", ErrorCategory.DeviceError).TargetObject);

            // Unusable input ends the command before anything is sent.
            ErrorAssert.Single(_s.Host.Command("Get-NvmeLog").Arg(c).Arg("Smrt").Invoke(), "InvalidLogId", ErrorCategory.InvalidArgument);
            ErrorAssert.Single(_s.Host.Command("Get-NvmeLog").Arg(c).Arg("Smart").Param("Length", 6).Invoke(), "InvalidLogLength", ErrorCategory.InvalidArgument);
            ErrorAssert.Single(_s.Host.Command("Get-NvmeFeature").Arg(c).Arg("Speed").Invoke(), "InvalidFeatureId", ErrorCategory.InvalidArgument);
            _s.Disconnect(c);
        }
        finally
        {
            _s.Stop(t);
        }
    }

    [Fact]
    public void Connect_failures_map_to_device_and_connection_errors()
    {
        NvmfTarget t = _s.StartTarget(allowedHosts: new[] { "nqn.2014-08.org.nvmexpress:uuid:aaaaaaaa-bbbb-cccc-dddd-eeeeeeeeeeee" });
        int port = t.Port;
        try
        {
            // Not on the allow list: Connect Invalid Host.
            var r = _s.Host.Command("Connect-NvmfController").Arg("127.0.0.1").Arg(t.SubsystemNqn).Param("ServiceId", port)
                .Param("HostNqn", "nqn.2014-08.org.nvmexpress:uuid:00000000-0000-0000-0000-000000000001").Invoke();
            var e = ErrorAssert.Single(r, "NvmeDeviceStatus", ErrorCategory.DeviceError);
            Assert.Equal("Connect Invalid Host", ((NvmePS.Engine.NvmeStatusException)e.Exception).StatusName);

            // An unknown subsystem.
            r = _s.Host.Command("Connect-NvmfController").Arg("127.0.0.1").Arg("nqn.2024-01.io.nvmeps.test:nosuch").Param("ServiceId", port).Invoke();
            ErrorAssert.Single(r, "NvmeDeviceStatus", ErrorCategory.DeviceError);

            // The allowed host gets in.
            var ok = _s.Connect(t, i => i.Param("HostNqn", "nqn.2014-08.org.nvmexpress:uuid:aaaaaaaa-bbbb-cccc-dddd-eeeeeeeeeeee"));
            Assert.Equal("nqn.2014-08.org.nvmexpress:uuid:aaaaaaaa-bbbb-cccc-dddd-eeeeeeeeeeee", ok.HostNqn);
            _s.Disconnect(ok);
        }
        finally
        {
            _s.Stop(t);
        }

        // Nothing listens any more: connection refused.
        var refused = _s.Host.Command("Connect-NvmfController").Arg("127.0.0.1").Arg(t.SubsystemNqn).Param("ServiceId", port).Invoke();
        ErrorAssert.Single(refused, "NvmeConnectionError", ErrorCategory.ConnectionError);

        ErrorAssert.Single(_s.Host.Command("Connect-NvmfController").Arg("no.such.host").Invoke(), "InvalidTransportAddress", ErrorCategory.InvalidArgument);
    }
}

/// <summary>The Error Information log records what went wrong, and reading logs with offsets returns bytes.</summary>
[Collection(ModuleSessionCollection.Name)]
public sealed class LogPageTests
{
    private readonly ModuleSession _s;

    public LogPageTests(ModuleSession session) => _s = session;

    [Fact]
    public void Error_log_shows_a_failed_command_and_raw_reads_honour_offset_and_length()
    {
        NvmfTarget t = _s.StartTarget(namespaces: new[] { "memory:1MB" });
        try
        {
            NvmfController c = _s.Connect(t);
            Assert.Empty(_s.Host.Command("Get-NvmeLog").Arg(c).Arg("Error").Invoke().ThrowIfFailed());
            _s.Host.Command("Read-NvmeBlock").Arg(c).Arg(4096).Arg(1).Invoke();
            var entries = _s.Host.Command("Get-NvmeLog").Arg(c).Arg("Error").Invoke().ThrowIfFailed().Cast<NvmeErrorInfo>().ToList();
            NvmeErrorInfo e = Assert.Single(entries);
            Assert.Equal("LBA Out of Range", e.StatusName);
            Assert.Equal(1u, e.NamespaceId);
            Assert.Equal(1ul, e.ErrorCount);

            // Bytes 48..63 of the SMART log are Data Units Written (Figure 207): the same bytes either way.
            var whole = Assert.IsType<NvmeLogPage>(Assert.Single(_s.Host.Command("Get-NvmeLog").Arg(c).Arg("Smart").Switch("Raw").Param("Length", 512).Invoke().ThrowIfFailed()));
            var part = Assert.IsType<NvmeLogPage>(Assert.Single(_s.Host.Command("Get-NvmeLog").Arg(c).Arg("Smart").Param("Offset", 48).Param("Length", 16).Invoke().ThrowIfFailed()));
            Assert.Equal(whole.Data.AsSpan(48, 16).ToArray(), part.Data);
            Assert.Equal(48ul, part.Offset);

            // No namespace changed yet.
            Assert.Empty(_s.Host.Command("Get-NvmeLog").Arg(c).Arg("ChangedNamespaces").Invoke().ThrowIfFailed());
            _s.Disconnect(c);
        }
        finally
        {
            _s.Stop(t);
        }
    }
}
