using System.Net;
using NvmePS.Engine.Admin;
using NvmePS.Engine.Fabrics;
using NvmePS.Engine.Fabrics.Controller;
using NvmePS.Engine.Fabrics.Controller.Tcp;
using NvmePS.Engine.Fabrics.Host;

namespace NvmePS.Engine.Tests.Fabrics.EndToEnd;

/// <summary>The engine's host against the engine's controller over real loopback TCP.</summary>
public sealed class HostControllerTests : IAsyncLifetime
{
    private const string Sub = "nqn.2026-01.io.nvmeps:e2e";
    private static readonly NvmeHostAssociationParameters Host = new()
    {
        HostId = Guid.Parse("0f4e0c2a-58b4-4bfa-9d0e-6c1b0d9e3a11"),
        KeepAliveTimeout = TimeSpan.Zero,
        IoQueueCount = 2,
    };

    private NvmeTarget _target = null!;
    private NvmeTcpTarget _tcp = null!;
    private NvmeSubsystem _sub = null!;
    private IPEndPoint _ep = null!;

    public async Task InitializeAsync()
    {
        _target = new NvmeTarget(new NvmeTargetOptions { MaxH2CData = 16384 });
        _sub = _target.AddSubsystem(Sub);
        _sub.AllowHost(Host.EffectiveHostNqn);
        _sub.AddMemoryNamespace(64L << 20);
        _sub.AddMemoryNamespace(16L << 20, blockSize: 4096);
        _tcp = new NvmeTcpTarget(_target);
        var port = await _tcp.ListenAsync(new IPEndPoint(IPAddress.Loopback, 0));
        _ep = new IPEndPoint(IPAddress.Loopback, int.Parse(port.Trsvcid, System.Globalization.CultureInfo.InvariantCulture));
    }

    public async Task DisposeAsync()
    {
        await _tcp.DisposeAsync();
        _target.Dispose();
    }

    private Task<NvmeHostAssociation> ConnectAsync(NvmeHostAssociationParameters? p = null) =>
        NvmeHostAssociation.ConnectAsync(_ep, Sub, p ?? Host, CancellationToken.None);

    [Fact]
    public async Task Connect_identify_properties_and_shutdown()
    {
        var a = await ConnectAsync();
        Assert.NotEqual(0xFFFF, a.Cntlid);
        Assert.True(a.Capabilities.Mqes >= 31);
        Assert.True(a.Version.Mjr >= 1);
        var id = a.IdentifyController!;
        Assert.Equal(a.Cntlid, id.Cntlid);
        Assert.Equal(Sub, id.Subnqn);
        Assert.Equal("NvmePS Fabrics Target", id.Mn);
        Assert.Equal(128 * 1024, a.MaxDataTransferSize);
        Assert.Equal(8192, a.IoInCapsuleDataSize);
        Assert.Equal(2, a.IoQueues.Count);
        Assert.True((await a.GetStatusAsync(CancellationToken.None)).Rdy);
        var cc = new ControllerConfiguration((uint)await a.GetPropertyAsync(ControllerProperty.Cc, PropertySize.FourBytes, CancellationToken.None));
        Assert.True(cc.En);

        var nsids = await a.Admin.GetAllActiveNamespaceIdsAsync();
        Assert.Equal(new uint[] { 1, 2 }, nsids);
        var ns1 = await a.Admin.IdentifyNamespaceAsync(1);
        Assert.Equal((ulong)(64 << 20) / 512, ns1.Nsze);
        Assert.Equal(512, ns1.BlockSize);
        var ns2 = await a.Admin.IdentifyNamespaceAsync(2);
        Assert.Equal(4096, ns2.BlockSize);
        var desc = await a.Admin.GetNamespaceIdDescriptorsAsync(1);
        Assert.NotEmpty(desc);

        var controller = Assert.Single(_sub.Controllers);
        await a.DisconnectAsync(CancellationToken.None);
        Assert.Equal(0, _target.UnsafeShutdowns);
        _ = controller;
    }

    [Theory]
    [InlineData(512, false, false, false)]
    [InlineData(8192, false, false, false)]   // in-capsule, the largest
    [InlineData(8704, false, false, false)]   // R2T, one H2CData... and more (MAXH2CDATA 16 KiB)
    [InlineData(131072, false, false, false)] // R2T, 8 H2CData PDUs; reads in C2HData
    [InlineData(1048576, false, false, false)] // 8 commands
    [InlineData(8192, true, true, false)]
    [InlineData(131072, true, true, false)]
    [InlineData(131072, true, false, true)]
    [InlineData(131072, false, true, true)]
    [InlineData(4096, true, true, true)]
    public async Task Random_data_round_trips(int bytes, bool headerDigest, bool dataDigest, bool disableFlowControl)
    {
        await using var a = await ConnectAsync(Host with { HeaderDigest = headerDigest, DataDigest = dataDigest, DisableSqFlowControl = disableFlowControl });
        Assert.Equal(headerDigest, a.IoQueues[0].Transport.Negotiated.HeaderDigest);
        Assert.Equal(dataDigest, a.IoQueues[0].Transport.Negotiated.DataDigest);
        Assert.Equal(!disableFlowControl, a.IoQueues[0].SqFlowControl);
        byte[] data = new byte[bytes];
        new Random(bytes ^ (headerDigest ? 1 : 0)).NextBytes(data);
        await a.WriteAsync(1, 100, bytes / 512, data, fua: false, CancellationToken.None);
        byte[] back = new byte[bytes];
        await a.ReadAsync(1, 100, bytes / 512, back, CancellationToken.None);
        Assert.Equal(data, back);

        // 4 KiB-block namespace too.
        byte[] data2 = new byte[Math.Max(4096, bytes / 4096 * 4096)];
        new Random(bytes + 1).NextBytes(data2);
        await a.WriteAsync(2, 7, data2.Length / 4096, data2, fua: true, CancellationToken.None);
        byte[] back2 = new byte[data2.Length];
        await a.ReadAsync(2, 7, back2.Length / 4096, back2, CancellationToken.None);
        Assert.Equal(data2, back2);
    }

    [Fact]
    public async Task Hundreds_of_commands_in_flight_keep_their_data()
    {
        await using var a = await ConnectAsync(Host with { IoQueueSize = 64 });
        var rnd = new Random(42);
        int n = 256;
        var blocks = new byte[n][];
        var writes = new Task[n];
        for (int i = 0; i < n; i++)
        {
            blocks[i] = new byte[i % 3 == 0 ? 16384 : 4096]; // mix in-capsule and R2T
            rnd.NextBytes(blocks[i]);
            writes[i] = a.WriteAsync(1, (ulong)i * 32, blocks[i].Length / 512, blocks[i], false, CancellationToken.None).AsTask();
        }

        await Task.WhenAll(writes);
        var reads = new Task<byte[]>[n];
        for (int i = 0; i < n; i++)
        {
            int k = i;
            reads[i] = Task.Run(async () =>
            {
                byte[] b = new byte[blocks[k].Length];
                await a.ReadAsync(1, (ulong)k * 32, b.Length / 512, b, CancellationToken.None);
                return b;
            });
        }

        var got = await Task.WhenAll(reads);
        for (int i = 0; i < n; i++)
        {
            Assert.Equal(blocks[i], got[i]);
        }

        Assert.All(a.IoQueues, q => Assert.Null(q.Failure));
    }

    [Fact]
    public async Task A_failed_io_queue_fails_the_whole_association()
    {
        // As the Linux host's error recovery does: a controller that lost a queue is not used on (issue 18's choice).
        await using var a = await ConnectAsync();
        Assert.Equal(2, a.IoQueues.Count);
        await a.IoQueues[0].DisposeAsync();
        Assert.NotNull(a.IoQueues[0].Failure);
        var failure = Assert.IsType<NvmeConnectionException>(a.Failure);
        Assert.Contains("failed because queue 1 failed", failure.Message, StringComparison.Ordinal);
        Assert.NotNull(a.IoQueues[1].Failure);
        Assert.NotNull(a.AdminQueue.Failure);
        byte[] b = new byte[4096];
        var e = await Assert.ThrowsAsync<NvmeConnectionException>(() => a.ReadAsync(1, 0, 8, b, CancellationToken.None).AsTask());
        Assert.Contains("queue 1", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Disconnect_deletes_an_io_queue_and_frees_its_qid()
    {
        await using var a = await ConnectAsync();
        var second = a.IoQueues[1];
        Assert.Equal(2, second.Qid);
        await a.DeleteIoQueueAsync(second, CancellationToken.None);
        Assert.Single(a.IoQueues);
        Assert.NotNull(second.Failure);
        await a.ReadAsync(1, 0, 8, new byte[4096], CancellationToken.None);

        // The controller freed QID 2: connecting it again succeeds.
        await a.CreateIoQueuesAsync(2, CancellationToken.None);
        Assert.Equal(new ushort[] { 1, 2 }, a.IoQueues.Select(q => q.Qid).ToArray());
        byte[] data = new byte[16384];
        new Random(9).NextBytes(data);
        await a.WriteAsync(1, 64, 32, data, false, CancellationToken.None);
        byte[] back = new byte[16384];
        await a.ReadAsync(1, 64, 32, back, CancellationToken.None);
        Assert.Equal(data, back);
        await Assert.ThrowsAsync<ArgumentException>(() => a.DeleteIoQueueAsync(second, CancellationToken.None));
    }

    [Fact]
    public async Task Flush_write_zeroes_and_deallocate()
    {
        await using var a = await ConnectAsync();
        byte[] data = new byte[8192];
        new Random(1).NextBytes(data);
        await a.WriteAsync(1, 0, 16, data, false, CancellationToken.None);
        await a.FlushAsync(1, CancellationToken.None);
        await a.WriteZeroesAsync(1, 2, 4, deallocate: false, CancellationToken.None);
        byte[] back = new byte[8192];
        await a.ReadAsync(1, 0, 16, back, CancellationToken.None);
        Assert.Equal(data.AsSpan(0, 1024).ToArray(), back.AsSpan(0, 1024).ToArray());
        Assert.All(back.AsSpan(1024, 2048).ToArray(), b => Assert.Equal(0, b));
        Assert.Equal(data.AsSpan(3072).ToArray(), back.AsSpan(3072).ToArray());

        await a.DatasetManagementAsync(1, new[] { new NvmeDsmRange(0, 16, 0) }, deallocate: true, CancellationToken.None);
        await a.ReadAsync(1, 0, 16, back, CancellationToken.None);
        Assert.All(back, b => Assert.Equal(0, b));
    }

    [Fact]
    public async Task Error_statuses_are_typed()
    {
        await using var a = await ConnectAsync();
        var bad = await Assert.ThrowsAsync<NvmeStatusException>(() => a.ReadAsync(99, 0, 1, new byte[512], CancellationToken.None).AsTask());
        Assert.Equal("Invalid Namespace or Format", bad.StatusName);
        var range = await Assert.ThrowsAsync<NvmeStatusException>(() => a.WriteAsync(1, (64 << 20) / 512, 1, new byte[512], false, CancellationToken.None).AsTask());
        Assert.Equal("LBA Out of Range", range.StatusName);
        Assert.Equal(NvmeCommandContext.Nvm, range.Context);
        // The queue is still fine.
        await a.ReadAsync(1, 0, 1, new byte[512], CancellationToken.None);

        var denied = await Assert.ThrowsAsync<NvmeStatusException>(() => ConnectAsync(Host with { HostNqn = "nqn.2026-01.io.nvmeps:stranger" }));
        Assert.Equal("Connect Invalid Host", denied.StatusName);
        var unknown = await Assert.ThrowsAsync<NvmeStatusException>(() => NvmeHostAssociation.ConnectAsync(_ep, "nqn.2026-01.io.nvmeps:nosuch", Host, CancellationToken.None));
        Assert.Equal("Connect Invalid Parameters", unknown.StatusName);
        Assert.Contains("byte 256 of the Connect data", unknown.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Discovery_log_lists_the_subsystem_and_port()
    {
        await using var d = await NvmeHostAssociation.ConnectDiscoveryAsync(_ep, Host, CancellationToken.None);
        var log = await d.GetDiscoveryLogAsync(CancellationToken.None);
        Assert.Equal(_target.DiscoveryGenerationCounter, log.GenerationCounter);
        var nvm = Assert.Single(log.Entries, e => e.Subtype == DiscoverySubsystemType.Nvm);
        Assert.Equal(Sub, nvm.SubNqn);
        Assert.Equal(TransportType.Tcp, nvm.Trtype);
        Assert.Equal(AddressFamily.IPv4, nvm.Adrfam);
        Assert.Equal("127.0.0.1", nvm.Traddr);
        Assert.Equal(_ep.Port.ToString(System.Globalization.CultureInfo.InvariantCulture), nvm.Trsvcid);
        Assert.Contains(log.Entries, e => e.Subtype == DiscoverySubsystemType.CurrentDiscovery && e.SubNqn == FabricsCommand.DiscoveryNqn);
        Assert.Equal((ulong)log.Entries.Count, log.NumberOfRecords);

        // A host not on the allow-list does not see the subsystem.
        await using var stranger = await NvmeHostAssociation.ConnectDiscoveryAsync(_ep, Host with { HostNqn = "nqn.2026-01.io.nvmeps:stranger" }, CancellationToken.None);
        var other = await stranger.GetDiscoveryLogAsync(CancellationToken.None);
        Assert.DoesNotContain(other.Entries, e => e.SubNqn == Sub);
    }

    [Fact]
    public async Task Admin_logs_and_features()
    {
        await using var a = await ConnectAsync();
        var smart = await a.Admin.GetSmartLogAsync();
        Assert.NotNull(smart);
        var errors = await a.Admin.GetErrorLogAsync(4);
        Assert.Equal(4, errors.Length);
        var fw = await a.Admin.GetFirmwareSlotLogAsync();
        Assert.NotNull(fw);
        var q = await a.Admin.GetNumberOfQueuesAsync();
        Assert.True(q.SubmissionQueues >= 2);
        await a.Admin.SetKeepAliveTimerAsync(5000);
        Assert.Equal(5000u, await a.Admin.GetKeepAliveTimerAsync());
        // Large log read paged by MDTS: the discovery-free error log of 64 entries is 4 KiB; read it in two halves.
        byte[] whole = await a.Admin.GetLogPageAsync(NvmeLogPageId.ErrorInformation, 4096);
        byte[] second = await a.Admin.GetLogPageAsync(NvmeLogPageId.ErrorInformation, 2048, offset: 2048);
        Assert.Equal(whole.AsSpan(2048).ToArray(), second);
    }

    [Fact]
    public async Task Async_event_fires_when_a_namespace_is_added()
    {
        await using var a = await ConnectAsync();
        await a.Admin.SetAsyncEventConfigAsync(NvmeAsyncEventConfig.NamespaceAttributeNotices);
        var aer = a.Admin.AsyncEventRequestAsync();
        await Task.Delay(50);
        Assert.False(aer.IsCompleted);
        var ns = _sub.AddMemoryNamespace(1 << 20);
        var ev = await aer.WaitAsync(TimeSpan.FromSeconds(10));
        Assert.Equal(NvmeAsyncEventType.Notice, ev.Type);
        var changed = await a.Admin.GetChangedNamespaceListAsync();
        Assert.Contains(ns.Nsid, changed);
    }

    [Fact]
    public async Task Keep_alive_keeps_a_short_kato_association_alive()
    {
        // KATO 3 s with Keep Alive every 1.5 s; after 4 s without other traffic the association must still be there.
        // (Generous margins: this machine is shared and heavily loaded.)
        await using var a = await ConnectAsync(Host with { KeepAliveTimeout = TimeSpan.FromSeconds(3) });
        await Task.Delay(4000);
        Assert.Null(a.Failure);
        await a.ReadAsync(1, 0, 1, new byte[512], CancellationToken.None);
    }

    [Fact]
    public async Task A_host_that_stops_keep_alive_loses_its_association()
    {
        await using var a = await ConnectAsync(Host with { KeepAliveTimeout = TimeSpan.FromMilliseconds(300), SendKeepAlive = false, IoQueueCount = 1 });
        var until = DateTime.UtcNow.AddSeconds(10);
        while (a.Failure is null && DateTime.UtcNow < until)
        {
            await Task.Delay(50);
        }

        Assert.IsAssignableFrom<NvmeException>(a.Failure);
        await Assert.ThrowsAnyAsync<NvmeException>(() => a.ReadAsync(1, 0, 1, new byte[512], CancellationToken.None).AsTask());
    }
}
