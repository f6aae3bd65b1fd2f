using System.Text;
using NvmePS.Engine;
using NvmePS.Engine.Admin;
using NvmePS.Engine.Fabrics;
using NvmePS.Engine.Fabrics.Controller;

namespace NvmePS.Engine.Tests.Fabrics.Controller;

/// <summary>Firmware slots, the device self-test and sanitize on the controller core, through the shared Admin client.</summary>
public class MaintenanceTests
{
    private static NvmeTargetOptions Fast => new()
    {
        SelfTestShortTime = TimeSpan.FromMilliseconds(300),
        SelfTestExtendedTime = TimeSpan.FromMilliseconds(600),
        SanitizeTime = TimeSpan.FromMilliseconds(400),
    };

    private static byte[] Image(string revision, int size = 10000)
    {
        byte[] image = new byte[size];
        new Random(3).NextBytes(image);
        Encoding.ASCII.GetBytes("NVMEPSFW" + revision.PadRight(8)).CopyTo(image, 0);
        return image;
    }

    private static async Task<NvmeStatus> StatusOf(Func<Task> action) =>
        (await Assert.ThrowsAsync<NvmeStatusException>(action)).Completion.Status;

    private static NvmeCommand Local(NvmeCommand c, int length)
    {
        c.Cid = 0x2100;
        c.Psdt = 1;
        SglDescriptor.Transport((uint)length).WriteTo(ref c);
        return c;
    }

    private static async Task Until(Func<Task<bool>> condition)
    {
        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(20);
        while (!await condition())
        {
            Assert.True(DateTime.UtcNow < deadline, "timed out");
            await Task.Delay(20);
        }
    }

    [Fact]
    public async Task Firmware_downloaded_in_pieces_and_committed_activates_at_the_next_controller_reset()
    {
        using var target = Core.Target(out _, Fast);
        using var transport = await NvmeLocalAdminTransport.ConnectAsync(target, Core.SubNqn, Core.HostNqn, Core.HostId, maxDataTransferSize: 4096);
        var client = new NvmeAdminClient(transport);
        var id = await client.IdentifyControllerAsync();
        Assert.Equal("0.1.0", id.Fr);
        Assert.Equal(0x17, id.Frmw);
        Assert.Equal(0x14, id.Oacs & 0x14);

        var progress = new List<long>();
        await client.FirmwareImageDownloadAsync(Image("2.0.0"), progress: new Progress<long>(progress.Add));
        Assert.Equal(0u, await client.FirmwareCommitAsync(0, NvmeFirmwareCommitAction.ReplaceAndActivate));
        var slots = await client.GetFirmwareSlotLogAsync();
        Assert.Equal((1, 2), (slots.ActiveSlot, slots.NextResetSlot));
        Assert.Equal(["0.1.0", "2.0.0", ""], slots.Frs.Take(3));
        Assert.Equal("0.1.0", (await client.IdentifyControllerAsync()).Fr);

        // Controller Level Reset: CC.EN 1 -> 0 -> 1.
        Assert.True((await transport.Controller.SetPropertyAsync(ControllerProperty.Cc, PropertySize.FourBytes, 0)).IsSuccess);
        Assert.True((await transport.Controller.SetPropertyAsync(ControllerProperty.Cc, PropertySize.FourBytes, ControllerConfiguration.Create(en: true).Value)).IsSuccess);
        Assert.Equal("2.0.0", (await client.IdentifyControllerAsync()).Fr);
        slots = await client.GetFirmwareSlotLogAsync();
        Assert.Equal((2, 0), (slots.ActiveSlot, slots.NextResetSlot));

        // Replace and activate at once, into slot 3.
        await client.FirmwareImageDownloadAsync(Image("3.0.0", 4096));
        await client.FirmwareCommitAsync(3, NvmeFirmwareCommitAction.ReplaceAndActivateImmediately);
        Assert.Equal("3.0.0", (await client.IdentifyControllerAsync()).Fr);

        // Refusals: read-only slot 1, a bad image, an empty slot, overlapping pieces; each changes nothing.
        await client.FirmwareImageDownloadAsync(Image("9.9.9", 4096));
        Assert.Equal(NvmeStatusNames.InvalidFirmwareSlot, (await StatusOf(() => client.FirmwareCommitAsync(1, NvmeFirmwareCommitAction.Replace))).Sc);
        Assert.Equal(NvmeStatusNames.OverlappingRange, (await StatusOf(() => client.FirmwareImageDownloadAsync(new byte[8], offset: 16))).Sc);
        Assert.Equal(NvmeStatusNames.InvalidFirmwareSlot, (await StatusOf(() => client.FirmwareCommitAsync(5, NvmeFirmwareCommitAction.Replace))).Sc);
        await client.FirmwareCommitAsync(2, NvmeFirmwareCommitAction.Replace);
        await client.FirmwareImageDownloadAsync(new byte[4096]);
        Assert.Equal(NvmeStatusNames.InvalidFirmwareImage, (await StatusOf(() => client.FirmwareCommitAsync(2, NvmeFirmwareCommitAction.Replace))).Sc);
        Assert.Equal(["0.1.0", "9.9.9", "3.0.0"], (await client.GetFirmwareSlotLogAsync()).Frs.Take(3));
    }

    [Fact]
    public async Task A_self_test_reads_the_namespaces_in_the_background_reports_progress_and_can_be_aborted()
    {
        using var target = Core.Target(out var sub, Fast);
        sub.AddMemoryNamespace(4 << 20);
        using var transport = await NvmeLocalAdminTransport.ConnectAsync(target, Core.SubNqn, Core.HostNqn, Core.HostId);
        var client = new NvmeAdminClient(transport);
        Assert.Equal(1, (await client.IdentifyControllerAsync()).Edstt);

        await client.DeviceSelfTestAsync((byte)NvmeSelfTestCode.Short, 1);
        var running = await client.GetSelfTestLogAsync();
        Assert.Equal(NvmeSelfTestCode.Short, running.CurrentOperation);
        Assert.Equal(NvmeStatusNames.DeviceSelfTestInProgress, (await StatusOf(() => client.DeviceSelfTestAsync((byte)NvmeSelfTestCode.Extended))).Sc);
        await Until(async () => (await client.GetSelfTestLogAsync()).CurrentOperation == NvmeSelfTestCode.None);
        var done = await client.GetSelfTestLogAsync();
        var first = Assert.Single(done.Results);
        Assert.Equal((NvmeSelfTestResult.CompletedWithoutError, NvmeSelfTestCode.Short, 1u), (first.Result, first.Code, first.Nsid));
        Assert.Equal(NvmeSelfTestResultEntry.NsidValid, first.ValidDiagnostics);

        // Extended, then aborted: newest result first.
        await client.DeviceSelfTestAsync((byte)NvmeSelfTestCode.Extended);
        await client.DeviceSelfTestAsync((byte)NvmeSelfTestCode.Abort);
        var aborted = await client.GetSelfTestLogAsync();
        Assert.Equal(NvmeSelfTestCode.None, aborted.CurrentOperation);
        Assert.Equal(2, aborted.Results.Count);
        Assert.Equal((NvmeSelfTestResult.AbortedBySelfTestCommand, NvmeSelfTestCode.Extended), (aborted.Results[0].Result, aborted.Results[0].Code));

        Assert.Equal(NvmeStatusNames.InvalidFieldInCommand, (await StatusOf(() => client.DeviceSelfTestAsync(3))).Sc);
        Assert.Equal(NvmeStatusNames.InvalidNamespaceOrFormat, (await StatusOf(() => client.DeviceSelfTestAsync(1, 9))).Sc);
    }

    [Theory]
    [InlineData(NvmeSanitizeAction.BlockErase)]
    [InlineData(NvmeSanitizeAction.Overwrite)]
    public async Task Sanitize_erases_every_namespace_refuses_io_while_it_runs_and_reports_progress(NvmeSanitizeAction action)
    {
        using var target = Core.Target(out var sub, Fast);
        sub.AddMemoryNamespace(2 << 20);
        sub.AddMemoryNamespace(1 << 20);
        using var transport = await NvmeLocalAdminTransport.ConnectAsync(target, Core.SubNqn, Core.HostNqn, Core.HostId);
        var client = new NvmeAdminClient(transport);
        var io = Core.Io(target, transport.Queue);
        byte[] data = Enumerable.Range(0, 4096).Select(i => (byte)(i + 5)).ToArray();
        foreach (uint nsid in new uint[] { 1, 2 })
        {
            Assert.True((await Core.Run(io, Local(new ReadWriteCommand(NvmeIoOpcode.Write, nsid, 16, 8).ToCommand(), 4096), write: data)).Cqe.IsSuccess);
        }

        Assert.Equal(0x6u, (await client.IdentifyControllerAsync()).Sanicap & 0x7);
        Assert.Equal(NvmeSanitizeState.NeverSanitized, (await client.GetSanitizeStatusAsync()).State);
        var aer = client.AsyncEventRequestAsync();
        await client.SanitizeAsync(action, overwritePasses: 2, overwritePattern: 0xA5A5A5A5);

        var during = await client.GetSanitizeStatusAsync();
        Assert.Equal(NvmeSanitizeState.InProgress, during.State);
        Assert.NotEqual((ushort)0xFFFF, during.Sprog);
        var read = await Core.Run(io, Local(new ReadWriteCommand(NvmeIoOpcode.Read, 1, 16, 8).ToCommand(), 4096), 4096);
        Core.AssertStatus(read.Cqe, NvmeStatusCodeType.Generic, NvmeStatusNames.SanitizeInProgress);
        Assert.Equal(NvmeStatusNames.SanitizeInProgress, (await StatusOf(() => client.FormatNvmAsync(1, 0))).Sc);
        Assert.Equal(NvmeStatusNames.SanitizeInProgress, (await StatusOf(() => client.SanitizeAsync(action))).Sc);
        Assert.NotNull(await client.IdentifyControllerAsync()); // Identify is allowed

        // Completion raises Sanitize Operation Completed; reading the log with RAE clear re-arms it.
        var completed = await aer.WaitAsync(TimeSpan.FromSeconds(30));
        Assert.Equal((NvmeAsyncEventType.IoCommandSpecific, NvmeAsyncEvent.SanitizeOperationCompleted, NvmeLogPageId.SanitizeStatus),
            (completed.Type, completed.Info, completed.LogPage));
        var after = await client.GetSanitizeStatusAsync();
        Assert.Equal(NvmeSanitizeState.Completed, after.State);
        Assert.Equal((ushort)0xFFFF, after.Sprog);
        Assert.True(after.GlobalDataErased);
        Assert.Equal(action == NvmeSanitizeAction.Overwrite ? 2 : 0, after.OverwritePassesCompleted);
        Assert.Equal(new SanitizeCommand(action, Owpass: 2, Ovrpat: 0xA5A5A5A5).ToCommand().Cdw10, after.Scdw10);
        byte[] expected = action == NvmeSanitizeAction.BlockErase ? new byte[4096] : Enumerable.Repeat((byte)0xA5, 4096).ToArray();
        foreach (uint nsid in new uint[] { 1, 2 })
        {
            var back = await Core.Run(io, Local(new ReadWriteCommand(NvmeIoOpcode.Read, nsid, 16, 8).ToCommand(), 4096), 4096);
            Assert.True(back.Cqe.IsSuccess);
            Assert.Equal(expected, back.Data);
        }

        Assert.Equal(NvmeStatusNames.InvalidFieldInCommand, (await StatusOf(() => client.SanitizeAsync(NvmeSanitizeAction.CryptoErase))).Sc);
    }

    [Fact]
    public void The_maintenance_logs_round_trip_field_by_field()
    {
        var log = new NvmeSelfTestLog
        {
            CurrentOperation = NvmeSelfTestCode.Extended,
            CurrentCompletion = 42,
            Results = [new(NvmeSelfTestResult.SegmentsFailed, NvmeSelfTestCode.Short, 2, 0xF, 77, 3, 0x123456789, 2, 0x81)],
        };
        byte[] b = new byte[NvmeSelfTestLog.Size];
        log.Write(b);
        Assert.Equal(0x02, b[0]);
        Assert.Equal(42, b[1]);
        Assert.Equal(0x17, b[4]);
        Assert.Equal(0x0F, b[4 + 28]); // the next entry is unused
        Assert.True(NvmeSelfTestLog.TryRead(b, out var back));
        Assert.Equal(log.Results, back.Results);

        var sanitize = new NvmeSanitizeStatusLog { Sprog = 0x8000, State = NvmeSanitizeState.InProgress, OverwritePassesCompleted = 3, Scdw10 = 0x23, EstimatedBlockEraseSeconds = 5 };
        byte[] s = new byte[NvmeSanitizeStatusLog.Size];
        sanitize.Write(s);
        Assert.Equal(new byte[] { 0x00, 0x80, 0x1A, 0x00, 0x23, 0, 0, 0 }, s[..8]);
        Assert.True(NvmeSanitizeStatusLog.TryRead(s, out var sb));
        Assert.Equal(50.0, sb.PercentComplete);
        Assert.Equal(5u, sb.EstimatedBlockEraseSeconds);
    }
}
