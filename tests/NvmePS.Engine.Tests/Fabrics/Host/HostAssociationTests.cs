using NvmePS.Engine.Admin;
using NvmePS.Engine.Fabrics;
using NvmePS.Engine.Fabrics.Host;

namespace NvmePS.Engine.Tests.Fabrics.Host;

public class HostAssociationTests
{
    private static readonly NvmeHostAssociationParameters Defaults = new()
    {
        HostId = Guid.Parse("6a1d5a3c-2c53-4b5e-9a77-0d1c2b3a4f50"),
        IoQueueCount = 2,
        KeepAliveTimeout = TimeSpan.Zero,
    };

    private const string Sub = "nqn.2024-01.io.nvmeps:scripted";

    [Fact]
    public async Task Connect_enables_identifies_and_connects_io_queues_with_the_returned_cntlid()
    {
        await using var ctrl = new ScriptedController();
        await using var a = await NvmeHostAssociation.ConnectAsync(ctrl.EndPoint, Sub, Defaults, CancellationToken.None);
        Assert.Equal(1, a.Cntlid);
        Assert.Equal(127, a.Capabilities.Mqes);
        Assert.Equal("2.0.0", a.Version.ToString());
        Assert.Equal("Scripted", a.IdentifyController!.Mn);
        Assert.Equal(2, a.IoQueues.Count);
        Assert.Equal(128 * 1024, a.MaxDataTransferSize);
        Assert.Equal(8192, a.IoInCapsuleDataSize);
        Assert.True(new ControllerConfiguration(ctrl.Cc).En);
        Assert.Equal(6, new ControllerConfiguration(ctrl.Cc).Iosqes);
        Assert.Equal(4, new ControllerConfiguration(ctrl.Cc).Iocqes);

        Assert.Equal(3, ctrl.Connects.Count);
        Assert.Equal(0xFFFF, ctrl.Connects[0].Cntlid);
        Assert.All(ctrl.Connects.Skip(1), c => Assert.Equal(1, c.Cntlid));
        Assert.All(ctrl.Connects, c => Assert.Equal(Defaults.HostId, c.HostId));
        Assert.All(ctrl.Connects, c => Assert.Equal("nqn.2014-08.org.nvmexpress:uuid:6a1d5a3c-2c53-4b5e-9a77-0d1c2b3a4f50", c.HostNqn));
        Assert.All(ctrl.Connects, c => Assert.Equal(Sub, c.SubNqn));
        // Every command carried SGL (PSDT 01b) and no CID FFFFh.
        Assert.All(ctrl.Commands, c => Assert.Equal(0x40, c.Flags & 0xC0));
        Assert.DoesNotContain(ctrl.Commands, c => c.Cid == 0xFFFF);

        await a.DisconnectAsync(CancellationToken.None);
        Assert.Equal(ShutdownNotification.Normal, new ControllerConfiguration(ctrl.Cc).Shn);
    }

    [Theory]
    [InlineData(512, false, false, false)]
    [InlineData(8192, false, false, false)]
    [InlineData(8704, false, false, false)]
    [InlineData(131072, false, false, false)]
    [InlineData(1048576, false, false, false)]
    [InlineData(8192, true, true, false)]
    [InlineData(131072, true, true, false)]
    [InlineData(131072, false, false, true)]
    [InlineData(131072, true, true, true)]
    [InlineData(4096, false, true, true)]
    public async Task Random_data_written_reads_back(int bytes, bool headerDigest, bool dataDigest, bool disableFlowControl)
    {
        await using var ctrl = new ScriptedController();
        var p = Defaults with { HeaderDigest = headerDigest, DataDigest = dataDigest, DisableSqFlowControl = disableFlowControl };
        await using var a = await NvmeHostAssociation.ConnectAsync(ctrl.EndPoint, Sub, p, CancellationToken.None);
        Assert.Equal(headerDigest, a.AdminQueue.Transport.Negotiated.HeaderDigest);
        Assert.Equal(!disableFlowControl, a.IoQueues[0].SqFlowControl);

        byte[] data = new byte[bytes];
        new Random(bytes).NextBytes(data);
        int blocks = bytes / ScriptedController.BlockSize;
        await a.WriteAsync(ScriptedController.Nsid, 16, blocks, data, fua: false, CancellationToken.None);
        Assert.Equal(data, ctrl.Media.AsSpan(16 * 512, bytes).ToArray());
        byte[] back = new byte[bytes];
        await a.ReadAsync(ScriptedController.Nsid, 16, blocks, back, CancellationToken.None);
        Assert.Equal(data, back);

        var writes = ctrl.Commands.Where(c => c.Opcode == NvmeIoOpcode.Write).ToList();
        Assert.All(writes, w => Assert.Equal(bytes <= 8192 ? SglDescriptor.InCapsuleIdentifier : SglDescriptor.TransportIdentifier, SglDescriptor.FromCommand(w).Identifier));
        Assert.Equal(Math.Max(1, bytes / (128 * 1024)), writes.Count);
    }

    [Fact]
    public async Task Many_commands_in_flight_complete_out_of_order_by_cid()
    {
        await using var ctrl = new ScriptedController { ReverseBatch = 8 };
        await using var a = await NvmeHostAssociation.ConnectAsync(ctrl.EndPoint, Sub, Defaults with { IoQueueCount = 1 }, CancellationToken.None);
        new Random(3).NextBytes(ctrl.Media);
        var tasks = new List<Task<byte[]>>();
        for (int i = 0; i < 64; i++)
        {
            int lba = i * 8;
            tasks.Add(Task.Run(async () =>
            {
                byte[] b = new byte[4096];
                await a.ReadAsync(ScriptedController.Nsid, (ulong)lba, 8, b, CancellationToken.None);
                return b;
            }));
        }

        var results = await Task.WhenAll(tasks);
        for (int i = 0; i < 64; i++)
        {
            Assert.Equal(ctrl.Media.AsSpan(i * 4096, 4096).ToArray(), results[i]);
        }

        var cids = ctrl.Commands.Where(c => c.Opcode == NvmeIoOpcode.Read).Select(c => c.Cid).ToList();
        Assert.Equal(64, cids.Count);
        Assert.DoesNotContain((ushort)0xFFFF, cids);
    }

    [Fact]
    public async Task Flush_write_zeroes_and_dataset_management_complete()
    {
        await using var ctrl = new ScriptedController();
        await using var a = await NvmeHostAssociation.ConnectAsync(ctrl.EndPoint, Sub, Defaults, CancellationToken.None);
        ctrl.Media.AsSpan(0, 8192).Fill(0xAB);
        await a.WriteZeroesAsync(ScriptedController.Nsid, 2, 4, deallocate: false, CancellationToken.None);
        Assert.All(ctrl.Media.AsSpan(1024, 2048).ToArray(), b => Assert.Equal(0, b));
        Assert.Equal(0xAB, ctrl.Media[1023]);
        Assert.Equal(0xAB, ctrl.Media[3072]);
        await a.FlushAsync(ScriptedController.Nsid, CancellationToken.None);
        await a.DatasetManagementAsync(ScriptedController.Nsid, new[] { new NvmeDsmRange(0, 8, 0), new NvmeDsmRange(0, 16, 100) }, deallocate: true, CancellationToken.None);
        var dsm = ctrl.Commands.Single(c => c.Opcode == NvmeIoOpcode.DatasetManagement && c.Nsid == ScriptedController.Nsid);
        Assert.Equal(1u, dsm.Cdw10);
        Assert.Equal(4u, dsm.Cdw11);
        Assert.True(SglDescriptor.FromCommand(dsm).IsInCapsule);
        Assert.Equal(32u, SglDescriptor.FromCommand(dsm).Length);
    }

    [Fact]
    public async Task Error_status_becomes_a_typed_exception_and_the_queue_keeps_working()
    {
        await using var ctrl = new ScriptedController();
        ctrl.Hook = async (c, qp, cmd, _) =>
        {
            if (cmd.Opcode == NvmeIoOpcode.Read && cmd.Cdw10 == 9999)
            {
                await qp.SendCapsuleResponseAsync(NvmeCompletion.Create(cmd.Cid, NvmeStatus.Generic(NvmeStatusNames.LbaOutOfRange), sqhd: 0), CancellationToken.None);
                return true;
            }

            return false;
        };
        await using var a = await NvmeHostAssociation.ConnectAsync(ctrl.EndPoint, Sub, Defaults with { DisableSqFlowControl = true }, CancellationToken.None);
        var ex = await Assert.ThrowsAsync<NvmeStatusException>(() => a.ReadAsync(ScriptedController.Nsid, 9999, 1, new byte[512], CancellationToken.None).AsTask());
        Assert.Equal("LBA Out of Range", ex.StatusName);
        Assert.True(ex.Status.Dnr);
        await a.ReadAsync(ScriptedController.Nsid, 0, 1, new byte[512], CancellationToken.None);
    }

    [Fact]
    public async Task Disallowed_host_gets_connect_invalid_host()
    {
        await using var ctrl = new ScriptedController { DeniedHost = "nqn.2024-01.io.nvmeps:denied" };
        var ex = await Assert.ThrowsAsync<NvmeStatusException>(() =>
            NvmeHostAssociation.ConnectAsync(ctrl.EndPoint, Sub, Defaults with { HostNqn = "nqn.2024-01.io.nvmeps:denied" }, CancellationToken.None));
        Assert.Equal("Connect Invalid Host", ex.StatusName);
        Assert.Equal(NvmeCommandContext.Fabrics, ex.Context);
        Assert.Contains("Fabrics Connect to " + Sub + " queue 0 failed: Connect Invalid Host", ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Sqhd_ffff_without_asking_is_a_protocol_error()
    {
        await using var ctrl = new ScriptedController { ForceSqhdFfff = true };
        var ex = await Assert.ThrowsAsync<NvmeProtocolException>(() => NvmeHostAssociation.ConnectAsync(ctrl.EndPoint, Sub, Defaults, CancellationToken.None));
        Assert.Contains("SQ flow control", ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Discovery_log_is_reread_while_genctr_moves()
    {
        var entries = Enumerable.Range(0, 5).Select(i => new DiscoveryLogEntry(TransportType.Tcp, NvmePS.Engine.Fabrics.AddressFamily.IPv4, DiscoverySubsystemType.Nvm,
            DiscoveryLogEntry.TreqSecureChannelNotRequired, (ushort)i, 0xFFFF, 32, "4420", $"nqn.2024-01.io.nvmeps:sub{i}", "127.0.0.1")).ToList();
        await using var ctrl = new ScriptedController { Discovery = DiscoveryLog.Create(7, entries), DiscoveryGenerationBumps = 2, Mdts = 1 };
        await using var a = await NvmeHostAssociation.ConnectDiscoveryAsync(ctrl.EndPoint, Defaults, CancellationToken.None);
        Assert.True(a.IsDiscovery);
        Assert.Empty(a.IoQueues);
        var log = await a.GetDiscoveryLogAsync(CancellationToken.None);
        Assert.Equal(9ul, log.GenerationCounter);
        Assert.Equal(entries, log.Entries);
        Assert.Equal(FabricsCommand.DiscoveryNqn, ctrl.Connects[0].SubNqn);
        // MDTS 1 (8 KiB): the 6 KiB log fits one read, the header reads are separate.
        var reads = ctrl.Commands.Where(c => c.Opcode == NvmeAdminOpcode.GetLogPage).ToList();
        Assert.Equal(9, reads.Count);
    }

    [Fact]
    public async Task Silent_controller_times_out_and_refused_port_is_a_connection_error()
    {
        using var silent = new System.Net.Sockets.Socket(System.Net.Sockets.AddressFamily.InterNetwork, System.Net.Sockets.SocketType.Stream, System.Net.Sockets.ProtocolType.Tcp);
        silent.Bind(new System.Net.IPEndPoint(System.Net.IPAddress.Loopback, 0));
        silent.Listen(4); // accepts at the TCP level, never answers ICReq
        var ex = await Assert.ThrowsAsync<NvmeTimeoutException>(() =>
            NvmeHostAssociation.ConnectAsync(silent.LocalEndPoint!, Sub, Defaults with { ConnectTimeout = TimeSpan.FromMilliseconds(300) }, CancellationToken.None));
        Assert.Contains("queue 0", ex.Message, StringComparison.Ordinal);

        var closedPort = (System.Net.IPEndPoint)silent.LocalEndPoint!;
        silent.Close();
        await Assert.ThrowsAsync<NvmeConnectionException>(() => NvmeHostAssociation.ConnectAsync(closedPort, Sub, Defaults, CancellationToken.None));
    }

    [Fact]
    public async Task Caller_cancellation_during_connect_is_not_a_timeout()
    {
        await using var ctrl = new ScriptedController();
        using var cts = new CancellationTokenSource();
        cts.Cancel();
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => NvmeHostAssociation.ConnectAsync(ctrl.EndPoint, Sub, Defaults, cts.Token));
    }

    [Fact]
    public async Task Keep_alive_runs_on_a_timer()
    {
        await using var ctrl = new ScriptedController();
        await using var a = await NvmeHostAssociation.ConnectAsync(ctrl.EndPoint, Sub, Defaults with { KeepAliveTimeout = TimeSpan.FromMilliseconds(200) }, CancellationToken.None);
        var until = DateTime.UtcNow.AddSeconds(10);
        while (Volatile.Read(ref ctrl.KeepAlives) < 2 && DateTime.UtcNow < until)
        {
            await Task.Delay(20);
        }

        Assert.True(ctrl.KeepAlives >= 2);
        Assert.Equal(200u, ctrl.Commands.First().Cdw12); // KATO in the admin Connect
        Assert.Null(a.Failure);
    }
}
