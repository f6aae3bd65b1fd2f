using System.Collections;
using System.Management.Automation;
using NvmePS.Tests.Support;

namespace NvmePS.Tests.Commands;

/// <summary>Discovery, properties, raw commands and block I/O through the cmdlets against a real loopback target.</summary>
[Collection(ModuleSessionCollection.Name)]
public sealed class IoCommandTests
{
    private readonly ModuleSession _s;

    public IoCommandTests(ModuleSession session) => _s = session;

    [Fact]
    public void Discovery_log_lists_the_subsystem_and_the_discovery_controller()
    {
        NvmfTarget t = _s.StartTarget();
        try
        {
            var r = _s.Host.Command("Get-NvmfDiscoveryLog").Arg("127.0.0.1").Param("ServiceId", t.Port).Invoke();
            var entries = r.ThrowIfFailed().Cast<NvmfDiscoveryLogEntry>().ToList();
            Assert.Equal(2, entries.Count);
            NvmfDiscoveryLogEntry nvm = Assert.Single(entries, e => e.Subtype == "nvme subsystem");
            Assert.Equal(t.SubsystemNqn, nvm.SubNqn);
            Assert.Equal(("tcp", "ipv4", "127.0.0.1", t.Port.ToString(System.Globalization.CultureInfo.InvariantCulture)), (nvm.Trtype, nvm.Adrfam, nvm.Traddr, nvm.Trsvcid));
            Assert.Equal("not required, sq flow control disable supported", nvm.Treq);
            Assert.Equal("none", nvm.Sectype);
            Assert.Equal(65535, nvm.ControllerId);
            Assert.Equal("nqn.2014-08.org.nvmexpress.discovery", Assert.Single(entries, e => e.Subtype == "current discovery subsystem").SubNqn);

            // The discovery connection was temporary: nothing of it stays in the session.
            Assert.DoesNotContain("nqn.2014-08.org.nvmexpress.discovery", _s.Host.Complete("Disconnect-NvmfController", "SubsystemNqn", "").Select(c => c.CompletionText));

            // The same through a kept discovery connection, and through Get-NvmeLog -LogId Discovery.
            NvmfController d = Assert.IsType<NvmfController>(Assert.Single(_s.Host.Command("Connect-NvmfController").Arg("127.0.0.1").Param("ServiceId", t.Port).Invoke().ThrowIfFailed()));
            Assert.True(d.IsDiscovery);
            Assert.Equal(2, _s.Host.Command("Get-NvmfDiscoveryLog").Input(d).Invoke().ThrowIfFailed().Count);
            Assert.Equal(entries.Select(e => e.SubNqn), _s.Host.Command("Get-NvmeLog").Arg(d).Arg("Discovery").Invoke().ThrowIfFailed().Cast<NvmfDiscoveryLogEntry>().Select(e => e.SubNqn));
            _s.Disconnect(d);
        }
        finally
        {
            _s.Stop(t);
        }

        var refused = _s.Host.Command("Get-NvmfDiscoveryLog").Arg("127.0.0.1").Param("ServiceId", t.Port).Invoke();
        Assert.Equal("discovery controller at 127.0.0.1:" + t.Port, ErrorAssert.Single(refused, "NvmeConnectionError", ErrorCategory.ConnectionError).TargetObject);
    }

    [Fact]
    public void Properties_are_read_decoded_and_set()
    {
        NvmfTarget t = _s.StartTarget();
        try
        {
            NvmfController c = _s.Connect(t);
            var props = _s.Host.Command("Get-NvmfProperty").Input(c).Invoke().ThrowIfFailed().Cast<NvmfProperty>().ToDictionary(p => p.Name);
            Assert.Equal(new[] { "CAP", "VS", "CC", "CSTS" }, props.Keys);
            Assert.Equal(8, props["CAP"].Size);
            Assert.Equal((props["CAP"].Value & 0xFFFF) + 1, (ulong)c.QueuePairs[0].QueueSize >= 2 ? (props["CAP"].Value & 0xFFFF) + 1 : 0);
            Assert.Equal(props["CAP"].Value & 0xFFFF, props["CAP"].Fields.Single(f => f.Name == "MQES").Value);
            Assert.Equal(1ul, props["CC"].Fields.Single(f => f.Name == "EN").Value);
            Assert.Equal(1ul, props["CSTS"].Fields.Single(f => f.Name == "RDY").Value);
            Assert.Equal(c.Version, $"{props["VS"].Value >> 16}.{(props["VS"].Value >> 8) & 0xFF}.{props["VS"].Value & 0xFF}");
            Assert.Contains("EN=1", props["CC"].Decoded);

            // -WhatIf leaves CC alone; a real write of CC with EN=1 and the same settings reads back.
            ulong cc = props["CC"].Value;
            var w = _s.Host.Command("Set-NvmfProperty").Arg(c).Arg("CC").Arg(0u).Switch("WhatIf").Invoke();
            Assert.Single(w.WhatIf);
            Assert.Equal(1ul, _s.Host.Command("Get-NvmfProperty").Arg(c).Arg("CSTS").Invoke().ThrowIfFailed().Cast<NvmfProperty>().Single().Fields[0].Value);
            var set = _s.Host.Command("Set-NvmfProperty").Arg(c).Arg("CC").Arg((uint)cc).Param("Confirm", false).Invoke();
            Assert.Equal(cc, Assert.IsType<NvmfProperty>(Assert.Single(set.ThrowIfFailed())).Value);

            // Set-NvmfProperty is High impact: without -Confirm:$false the default host answers No and nothing is sent.
            var declined = _s.Host.Command("Set-NvmfProperty").Arg(c).Arg("CC").Arg(0u).Invoke();
            Assert.Empty(declined.Output);
            ConfirmPrompt prompt = Assert.Single(declined.Prompts);
            Assert.Contains("Set property CC", prompt.Message);
            Assert.Equal(new[] { "Yes", "Yes to All", "No", "No to All", "Suspend" }, prompt.Choices);
            Assert.True(c.IsConnected);

            // -Confirm answered Yes at the prompt: the write goes out and the property reads back.
            _s.Host.ConfirmHandler = _ => ConfirmAnswer.Yes;
            try
            {
                var confirmed = _s.Host.Command("Set-NvmfProperty").Arg(c).Arg("CC").Arg((uint)cc).Switch("Confirm").Invoke();
                Assert.Single(confirmed.Prompts);
                Assert.Equal(cc, Assert.IsType<NvmfProperty>(Assert.Single(confirmed.ThrowIfFailed())).Value);
            }
            finally
            {
                _s.Host.ConfirmHandler = _ => ConfirmAnswer.No;
            }

            // VS cannot be set.
            Assert.True(_s.Host.Command("Set-NvmfProperty").Arg(c).Arg("VS").Arg(1u).Invoke().BindingFailed);
            _s.Disconnect(c);
        }
        finally
        {
            _s.Stop(t);
        }
    }

    [Fact]
    public void Raw_commands_run_pipelined_and_return_completions_in_order()
    {
        NvmfTarget t = _s.StartTarget(namespaces: new[] { "memory:1MB" });
        try
        {
            NvmfController c = _s.Connect(t);

            // Identify Controller as a raw admin command: the data is the same 4096 bytes Get-NvmeIdentify decodes.
            var id = Assert.IsType<NvmeCompletion>(Assert.Single(_s.Host.Command("Send-NvmfCommand").Arg(c).Arg(0x06).Param("Cdw10", 1).Param("DataLength", 4096).Invoke().ThrowIfFailed()));
            Assert.True(id.Success);
            Assert.Equal("Successful Completion", id.StatusName);
            Assert.Equal(4096, id.BytesTransferred);
            Assert.Equal(c.SerialNumber, System.Text.Encoding.ASCII.GetString(id.Data, 4, 20).TrimEnd());

            // 40 writes then 40 reads on I/O queue 1, each a distinct pattern, all sent through the pipeline.
            var writes = Enumerable.Range(0, 40).Select(i => ModuleSession.Record(
                ("Opcode", (byte)0x01), ("NamespaceId", 1u), ("Cdw10", (uint)i), ("QueueId", (ushort)1),
                ("InputData", Enumerable.Repeat((byte)(i + 1), 512).ToArray()))).ToArray();
            var wr = _s.Host.Command("Send-NvmfCommand").Arg(c).InputFrom(writes).Invoke();
            Assert.Equal(40, wr.ThrowIfFailed().Count);
            Assert.All(wr.OutputOf<NvmeCompletion>(), x => Assert.True(x.Success));
            var reads = Enumerable.Range(0, 40).Select(i => ModuleSession.Record(
                ("Opcode", (byte)0x02), ("Nsid", 1u), ("Cdw10", (uint)i), ("Qid", (ushort)1), ("DataLength", 512))).ToArray();
            var rd = _s.Host.Command("Send-NvmfCommand").Arg(c).InputFrom(reads).Invoke().ThrowIfFailed().Cast<NvmeCompletion>().ToList();
            Assert.Equal(Enumerable.Range(1, 40).Select(i => (byte)i), rd.Select(x => x.Data.Distinct().Single()));

            // An error status is a completion, not an exception: LBA out of range on the NVM command set.
            var oor = Assert.IsType<NvmeCompletion>(Assert.Single(_s.Host.Command("Send-NvmfCommand").Arg(c).Arg(0x02).Param("NamespaceId", 1).Param("Cdw10", 4096).Param("QueueId", 1).Param("DataLength", 512).Invoke().ThrowIfFailed()));
            Assert.False(oor.Success);
            Assert.Equal("LBA Out of Range", oor.StatusName);
            Assert.True(oor.DoNotRetry);

            // A whole SQE; an unknown queue; a short SQE.
            var sqe = new byte[64];
            sqe[0] = 0x06;
            sqe[40] = 1;
            Assert.True(Assert.IsType<NvmeCompletion>(Assert.Single(_s.Host.Command("Send-NvmfCommand").Arg(c).Param("Sqe", sqe).Param("DataLength", 4096).Invoke().ThrowIfFailed())).Success);
            ErrorAssert.Single(_s.Host.Command("Send-NvmfCommand").Arg(c).Arg(0x02).Param("QueueId", 9).Invoke(), "InvalidQueueId", ErrorCategory.InvalidArgument);
            ErrorAssert.Single(_s.Host.Command("Send-NvmfCommand").Arg(c).Param("Sqe", new byte[10]).Invoke(), "InvalidSqe", ErrorCategory.InvalidArgument);
            Assert.Single(_s.Host.Command("Send-NvmfCommand").Arg(c).Arg(0x06).Switch("WhatIf").Invoke().WhatIf);
            _s.Disconnect(c);
        }
        finally
        {
            _s.Stop(t);
        }
    }

    [Fact]
    public void Hashtables_piped_to_Send_NvmfCommand_are_commands()
    {
        NvmfTarget t = _s.StartTarget(namespaces: new[] { "memory:1MB" });
        try
        {
            NvmfController c = _s.Connect(t);
            _s.Host.Command("Write-NvmeBlock").Arg(c).Arg(0L).Arg(Enumerable.Range(0, 8 * 512).Select(i => (byte)(i / 512 + 1)).ToArray()).Invoke().ThrowIfFailed();

            // The help's example as a user types it: eight one-block reads, the keys as the parameters' aliases.
            var r = _s.Host.Script("param($c) 0..7 | ForEach-Object { @{ Opcode = 0x02; Nsid = 1; Cdw10 = $_; Qid = 1; DataLength = 512 } } | Send-NvmfCommand -Controller $c", c);
            var done = r.ThrowIfFailed().Cast<NvmeCompletion>().ToList();
            Assert.Equal(Enumerable.Range(1, 8).Select(i => (byte)i), done.Select(x => x.Data.Distinct().Single()));
            Assert.All(done, x => Assert.Equal(1, x.QueueId));

            // Ordered dictionaries and long names too; a bad key or value is one error naming the hashtable, and the rest go on.
            r = _s.Host.Script("param($c) [ordered]@{ opcode = 6; cdw10 = 1; datalength = 4096 }, @{ Opcode = 2; Colour = 'blue' }, @{ Opcode = 'x' }, @{ Cdw10 = 1 } | Send-NvmfCommand $c", c);
            Assert.True(Assert.IsType<NvmeCompletion>(Assert.Single(r.Output)).Success);
            Assert.Equal(3, r.Errors.Count);
            Assert.All(r.Errors, e => Assert.StartsWith("InvalidCommandHashtable,", e.FullyQualifiedErrorId, StringComparison.Ordinal));
            Assert.Contains("'Colour' is not a Send-NvmfCommand field", r.Errors[0].Exception.Message, StringComparison.Ordinal);
            Assert.Contains("needs an Opcode", r.Errors[2].Exception.Message, StringComparison.Ordinal);
            Assert.IsAssignableFrom<System.Collections.IDictionary>(r.Errors[0].TargetObject);
            _s.Disconnect(c);
        }
        finally
        {
            _s.Stop(t);
        }
    }

    [Fact]
    public void Blocks_are_written_and_read_back_from_arrays_and_files_with_progress()
    {
        NvmfTarget t = _s.StartTarget(namespaces: new[] { "memory:8MB" });
        string src = Path.GetTempFileName(), dst = Path.GetTempFileName();
        try
        {
            NvmfController c = _s.Connect(t);
            var data = new byte[3 << 20];
            new Random(42).NextBytes(data);

            var w = _s.Host.Command("Write-NvmeBlock").Arg(c).Arg(100).Arg(data).Invoke();
            var wt = Assert.IsType<NvmeBlockTransfer>(Assert.Single(w.ThrowIfFailed()));
            Assert.Equal((6144L, 512, (long)data.Length), (wt.BlockCount, wt.BlockSize, wt.Bytes));
            Assert.Equal(100, w.Progress[^1].PercentComplete);
            Assert.Equal(ProgressRecordType.Completed, w.Progress[^1].RecordType);
            Assert.True(w.Progress.Count >= 3);

            var r = _s.Host.Command("Read-NvmeBlock").Arg(c).Arg(100).Arg(6144).Invoke();
            Assert.Equal(data, Assert.IsType<NvmeBlockTransfer>(Assert.Single(r.ThrowIfFailed())).Data);

            // File to blocks, blocks to file, relative paths resolved against the session's location.
            File.WriteAllBytes(src, data.AsSpan(0, 1 << 20).ToArray());
            _s.Host.CurrentDirectory = Path.GetDirectoryName(dst)!;
            _s.Host.Command("Write-NvmeBlock").Arg(c).Arg(0).Param("Path", src).Invoke().ThrowIfFailed();
            var rf = _s.Host.Command("Read-NvmeBlock").Arg(c).Arg(0).Arg(2048).Param("Path", Path.GetFileName(dst)).Invoke();
            Assert.Equal(dst, Assert.IsType<NvmeBlockTransfer>(Assert.Single(rf.ThrowIfFailed())).Path);
            Assert.Equal(File.ReadAllBytes(src), File.ReadAllBytes(dst));

            // The target's SMART counters saw the data.
            var smart = Assert.IsType<NvmeSmartHealth>(Assert.Single(_s.Host.Command("Get-NvmeLog").Arg(c).Arg("Smart").Invoke().ThrowIfFailed()));
            Assert.Equal(Math.Ceiling((data.Length + (1 << 20)) / 512m / 1000m), smart.DataUnitsWritten);

            // -WhatIf writes nothing.
            var zeros = new byte[512];
            Assert.Single(_s.Host.Command("Write-NvmeBlock").Arg(c).Arg(100).Arg(zeros).Switch("WhatIf").Invoke().WhatIf);
            // LBA 100 now holds what the file write put there (the file covered LBAs 0..2047).
            Assert.Equal(data.AsSpan(100 * 512, 512).ToArray(), ((NvmeBlockTransfer)_s.Host.Command("Read-NvmeBlock").Arg(c).Arg(100).Arg(1).Invoke().ThrowIfFailed()[0]!).Data);

            // Errors: partial block, out of range, inactive namespace.
            ErrorAssert.Single(_s.Host.Command("Write-NvmeBlock").Arg(c).Arg(0).Arg(new byte[100]).Invoke(), "DataNotBlockAligned", ErrorCategory.InvalidArgument);
            var oor = ErrorAssert.Single(_s.Host.Command("Read-NvmeBlock").Arg(c).Arg(16380).Arg(8).Invoke(), "NvmeDeviceStatus", ErrorCategory.DeviceError);
            Assert.Equal("LBA Out of Range", ((NvmePS.Engine.NvmeStatusException)oor.Exception).StatusName);
            Assert.Same(c, oor.TargetObject);
            ErrorAssert.Single(_s.Host.Command("Read-NvmeBlock").Arg(c).Arg(0).Arg(1).Param("NamespaceId", 9).Invoke(), "NamespaceNotActive", ErrorCategory.ObjectNotFound);
            _s.Disconnect(c);
        }
        finally
        {
            _s.Stop(t);
            File.Delete(src);
            File.Delete(dst);
        }
    }

    [Fact]
    public void Stopping_the_pipeline_cancels_a_transfer_in_flight()
    {
        NvmfTarget t = _s.StartTarget(namespaces: new[] { "memory:256MB" });
        string dst = Path.GetTempFileName();
        try
        {
            NvmfController c = _s.Connect(t);
            RunningCommand running = _s.Host.Command("Read-NvmeBlock").Arg(c).Arg(0).Arg(512 * 1024).Param("Path", dst).Start();
            Assert.True(running.WaitUntil(r => r.Progress.Count > 0, TimeSpan.FromSeconds(30)));
            running.Stop();
            CommandResult result = running.Wait(TimeSpan.FromSeconds(30));
            Assert.True(result.Stopped);
            Assert.Empty(result.Output);
            Assert.Null(result.TerminatingError);
            Assert.True(new FileInfo(dst).Length < 256L << 20);

            // The controller is still usable after the cancelled transfer.
            Assert.Single(_s.Host.Command("Read-NvmeBlock").Arg(c).Arg(0).Arg(8).Invoke().ThrowIfFailed());
            _s.Disconnect(c);
        }
        finally
        {
            _s.Stop(t);
            File.Delete(dst);
        }
    }
}
