using System.Management.Automation;
using NvmePS.Engine.Admin;
using NvmePS.Engine.Fabrics.Tcp;
using NvmePS.Engine.Tests.Fabrics.Host;
using NvmePS.Tests.Support;

namespace NvmePS.Tests.Commands;

/// <summary>A controller that stalls in the middle of a C2HData PDU, through the cmdlets in a real runspace: the
/// timeout and Ctrl+C both end the command, the controller says it failed and why, and other controllers go on.
/// The bounds only catch hangs; they are not speed assertions.</summary>
[Collection(ModuleSessionCollection.Name)]
public sealed class StalledControllerTests : IAsyncLifetime
{
    private static readonly TimeSpan HangBound = TimeSpan.FromSeconds(20);
    private readonly ModuleSession _s;
    private readonly CancellationTokenSource _release = new();
    private ScriptedController _ctrl = null!;

    public StalledControllerTests(ModuleSession session) => _s = session;

    public Task InitializeAsync()
    {
        // Reads of LBA 7 get the C2HData header and 1000 of 4096 data bytes, then silence with the connection open.
        _ctrl = new ScriptedController(async (c, qp, cmd, icd) =>
        {
            if (cmd.Opcode != NvmeIoOpcode.Read || cmd.Cdw10 != 7)
            {
                return false;
            }

            byte[] pdu = new byte[24 + 4096];
            int n = NvmeTcpPduWriter.WriteC2HData(pdu, new C2HDataPdu(cmd.Cid, 0, 4096), new byte[4096], true, false, false, false, 4);
            await qp.SendRawAsync(pdu.AsMemory(0, 24 + 1000), _release.Token);
            await Task.Delay(Timeout.Infinite, _release.Token).ContinueWith(_ => { }, TaskScheduler.Default);
            return n > 0;
        });
        return Task.CompletedTask;
    }

    public async Task DisposeAsync()
    {
        await _release.CancelAsync();
        await _ctrl.DisposeAsync();
        _release.Dispose();
    }

    private NvmfController Connect() =>
        Assert.IsType<NvmfController>(Assert.Single(_s.Host.Command("Connect-NvmfController").Arg("127.0.0.1").Arg("nqn.2024-01.io.nvmeps.test:stall")
            .Param("ServiceId", _ctrl.EndPoint.Port).Invoke().ThrowIfFailed()));

    [Fact]
    public void A_read_stalled_mid_PDU_times_out_and_the_controller_reports_why()
    {
        NvmfController c = Connect();
        CommandResult r = _s.Host.Command("Read-NvmeBlock").Arg(c).Arg(7).Arg(8).Param("TimeoutSec", 2).Start().Wait(HangBound);
        ErrorRecord e = ErrorAssert.Single(r, "NvmeTimeout", ErrorCategory.OperationTimeout);
        Assert.Same(c, e.TargetObject);

        // Visibly failed, with the reason; the next command fails at once and clearly.
        Assert.False(c.IsConnected);
        Assert.Contains("in the middle of a PDU", c.Failure, StringComparison.Ordinal);
        CommandResult next = _s.Host.Command("Get-NvmeIdentify").Arg(c).Start().Wait(HangBound);
        Assert.Same(c, ErrorAssert.Single(next, "NvmeControllerDisconnected", ErrorCategory.ResourceUnavailable).TargetObject);

        // A second controller on the same target reads on.
        NvmfController other = Connect();
        var block = Assert.IsType<NvmeBlockTransfer>(Assert.Single(_s.Host.Command("Read-NvmeBlock").Arg(other).Arg(0).Arg(8).Invoke().ThrowIfFailed()));
        Assert.Equal(4096, block.Data.Length);
        Assert.True(other.IsConnected);
        _s.Disconnect(other);
        _s.Host.Command("Disconnect-NvmfController").Input(c).Invoke();
    }

    [Fact]
    public void Ctrl_C_ends_a_read_stalled_mid_PDU()
    {
        NvmfController c = Connect();
        RunningCommand running = _s.Host.Command("Read-NvmeBlock").Arg(c).Arg(7).Arg(8).Param("TimeoutSec", 300).Start();
        // Let the header and the partial data arrive, so the stop lands inside the PDU.
        Thread.Sleep(500);
        running.Stop();
        CommandResult r = running.Wait(HangBound);
        Assert.True(r.Stopped);
        Assert.False(c.IsConnected);
        Assert.Contains("in the middle of a PDU", c.Failure, StringComparison.Ordinal);
        _s.Host.Command("Disconnect-NvmfController").Input(c).Invoke();
    }
}
