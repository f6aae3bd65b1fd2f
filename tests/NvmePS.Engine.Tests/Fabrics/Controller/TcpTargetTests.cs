using System.Buffers.Binary;
using System.Net;
using NvmePS.Engine;
using NvmePS.Engine.Admin;
using NvmePS.Engine.Fabrics;
using NvmePS.Engine.Fabrics.Controller;
using NvmePS.Engine.Fabrics.Controller.Tcp;

namespace NvmePS.Engine.Tests.Fabrics.Controller;

/// <summary>The TCP target on real loopback sockets, driven by a host over the shared queue-pair transport.</summary>
public class TcpTargetTests
{
    private static async Task<(NvmeTarget Target, NvmeTcpTarget Tcp, IPEndPoint Endpoint)> StartAsync(NvmeTargetOptions? options = null)
    {
        var target = new NvmeTarget(options ?? new NvmeTargetOptions { MaxH2CData = 16 * 1024 });
        var sub = target.AddSubsystem(Core.SubNqn);
        sub.AllowHost(Core.HostNqn);
        sub.AddMemoryNamespace(16 << 20, 512);
        var tcp = new NvmeTcpTarget(target);
        await tcp.ListenAsync(new IPEndPoint(IPAddress.Loopback, 0));
        return (target, tcp, tcp.LocalEndPoints[0]);
    }

    private static byte[] Random(int n, int seed)
    {
        var b = new byte[n];
        new Random(seed).NextBytes(b);
        return b;
    }

    [Theory]
    [InlineData(false, false, false)]
    [InlineData(true, false, false)]
    [InlineData(false, true, false)]
    [InlineData(true, true, false)]
    [InlineData(false, false, true)]
    [InlineData(true, true, true)]
    public async Task Admin_and_io_over_tcp_with_in_capsule_r2t_and_c2h_paths(bool hdgst, bool ddgst, bool noFlowControl)
    {
        var (target, tcp, ep) = await StartAsync();
        await using var tcpScope = tcp;
        using var targetScope = target;
        await using var admin = await TestHost.AdminAsync(ep, Core.SubNqn, hdgst, ddgst, disableFlowControl: noFlowControl);
        Assert.Equal(hdgst, admin.Qp.Negotiated.HeaderDigest);
        Assert.Equal(ddgst, admin.Qp.Negotiated.DataDigest);
        Assert.Equal(16u * 1024, admin.Qp.Negotiated.MaxH2CData);

        var cap = await admin.ExecAsync(new PropertyGetCommand(PropertySize.EightBytes, ControllerProperty.Cap).ToCommand(0));
        Assert.Equal(127, new ControllerCapabilities(PropertyGetCommand.GetValue(cap.Cqe, PropertySize.EightBytes)).Mqes);
        var csts = await admin.ExecAsync(new PropertyGetCommand(PropertySize.FourBytes, ControllerProperty.Csts).ToCommand(0));
        Assert.True(new ControllerStatus(csts.Cqe.Dw0).Rdy);
        Assert.Equal(noFlowControl ? 0xFFFF : csts.Cqe.Sqhd, csts.Cqe.Sqhd);

        var id = await admin.ExecAsync(NvmeAdminCommands.Identify(NvmeIdentifyCns.Controller), readLength: 4096);
        Assert.True(NvmeIdentifyController.TryRead(id.Data, out var ident));
        Assert.Equal(admin.Cntlid, ident.Cntlid);
        Assert.Equal(Core.SubNqn, ident.Subnqn);
        Assert.Equal(1, id.C2HPdus);
        Assert.Equal(noFlowControl, id.SuccessFlag);

        var nq = await admin.ExecAsync(NvmeAdminCommands.SetFeatures(NvmeFeatureId.NumberOfQueues, new NvmeNumberOfQueues(2, 2).ToDword()));
        Assert.Equal(new NvmeNumberOfQueues(2, 2), NvmeNumberOfQueues.FromDword(nq.Cqe.Dw0));
        await using var io = await TestHost.IoAsync(ep, admin, Core.SubNqn, 1, hdgst, ddgst, noFlowControl);

        // In-capsule write (4 KiB ≤ 8 KiB in-capsule limit).
        var small = Random(4096, 1);
        Assert.True((await io.ExecAsync(NvmeIoCommands.Write(1, 8, 8), small, inCapsule: true)).Cqe.IsSuccess);
        // R2T write of 96 KiB: split by the host into six H2CData PDUs of MAXH2CDATA (16 KiB).
        var big = Random(96 * 1024, 2);
        Assert.True((await io.ExecAsync(NvmeIoCommands.Write(1, 1000, 192), big)).Cqe.IsSuccess);

        var back = await io.ExecAsync(NvmeIoCommands.Read(1, 1000, 192), readLength: big.Length);
        Assert.True(back.Cqe.IsSuccess);
        Assert.Equal(big, back.Data);
        Assert.Equal(6, back.C2HPdus); // C2HData kept to 16 KiB PDUs
        Assert.Equal(noFlowControl, back.SuccessFlag);
        var back2 = await io.ExecAsync(NvmeIoCommands.Read(1, 8, 8), readLength: 4096);
        Assert.Equal(small, back2.Data);

        // Errors travel as completions: LBA out of range, invalid namespace.
        var oob = await io.ExecAsync(NvmeIoCommands.Read(1, 32767, 2), readLength: 1024);
        Assert.Equal(NvmeStatusNames.LbaOutOfRange, oob.Cqe.Status.Sc);
        Assert.Equal(1, oob.Cqe.Sqid);
        var badNs = await io.ExecAsync(NvmeIoCommands.Write(9, 0, 1), new byte[512], inCapsule: true);
        Assert.Equal(NvmeStatusNames.InvalidNamespaceOrFormat, badNs.Cqe.Status.Sc);
        Assert.True((await io.ExecAsync(NvmeIoCommands.Flush(1))).Cqe.IsSuccess);

        // The data is really in the namespace.
        var stored = new byte[big.Length];
        await target.GetSubsystem(Core.SubNqn)!.GetNamespace(1)!.Storage.ReadAsync(1000 * 512, stored, CancellationToken.None);
        Assert.Equal(big, stored);
    }

    [Fact]
    public async Task Many_commands_in_flight_per_queue_and_many_hosts_at_once()
    {
        var (target, tcp, ep) = await StartAsync();
        await using var tcpScope = tcp;
        using var targetScope = target;
        var hosts = new List<(TestHost Admin, TestHost Io)>();
        for (int h = 0; h < 3; h++)
        {
            var a = await TestHost.AdminAsync(ep, Core.SubNqn);
            hosts.Add((a, await TestHost.IoAsync(ep, a, Core.SubNqn)));
        }

        Assert.Equal(3, target.GetSubsystem(Core.SubNqn)!.Controllers.Count);
        Assert.Equal(3, hosts.Select(h => h.Admin.Cntlid).Distinct().Count());

        // Each host writes its own region with 32 commands at once, then reads it back with 32 at once.
        await Task.WhenAll(hosts.Select(async (h, hi) =>
        {
            var writes = Enumerable.Range(0, 32).Select(i => h.Io.ExecAsync(NvmeIoCommands.Write(1, (ulong)((hi * 1024) + (i * 16)), 16), Random(8192, (hi * 100) + i)));
            Assert.All(await Task.WhenAll(writes), r => Assert.True(r.Cqe.IsSuccess));
            var reads = Enumerable.Range(0, 32).Select(i => h.Io.ExecAsync(NvmeIoCommands.Read(1, (ulong)((hi * 1024) + (i * 16)), 16), readLength: 8192)).ToArray();
            var results = await Task.WhenAll(reads);
            for (int i = 0; i < 32; i++)
            {
                Assert.Equal(Random(8192, (hi * 100) + i), results[i].Data);
            }
        }));

        foreach (var (a, io) in hosts)
        {
            await io.DisposeAsync();
            await a.DisposeAsync();
        }
    }

    [Fact]
    public async Task Sqhd_on_the_wire_never_goes_back_while_completions_race()
    {
        // Completions are built by commands running at once and leave in another order; each must report the head as
        // it is when its PDU takes its place on the wire, or a later PDU carries an older SQHD (found by the load run).
        // Storage that finishes some operations later, on another thread, as a file does.
        var target = new NvmeTarget(new NvmeTargetOptions());
        using var targetScope = target;
        var sub = target.AddSubsystem(Core.SubNqn);
        sub.AllowHost(Core.HostNqn);
        sub.AddNamespace(new UnevenStorage(new MemoryNamespaceStorage(1 << 20)), ownsStorage: true);
        var tcp = new NvmeTcpTarget(target);
        await using var tcpScope = tcp;
        await tcp.ListenAsync(new IPEndPoint(IPAddress.Loopback, 0));
        var ep = tcp.LocalEndPoints[0];
        var admin = await TestHost.AdminAsync(ep, Core.SubNqn);
        await using var adminScope = admin;
        using var io = await RawPeer.OpenAsync(ep);
        await io.SendAsync(RawPeer.ConnectCapsule(1, admin.Cntlid)); // SQSIZE 63: 64 entries
        var connected = await io.ReadPduAsync();
        Assert.Equal(1, BinaryPrimitives.ReadUInt16LittleEndian(connected.AsSpan(16)));

        // At most 16 commands in flight, and none sent while the oldest in flight is 48 or more behind: the true head a
        // response to command j reports lies in [j, j + 63], so its value modulo 64 unwraps without doubt. Reads of
        // 512 B to 64 KiB (C2HData), 4 KiB in-capsule writes and flushes mix.
        const int Commands = 3000, Window = 16, Entries = 64, Reach = 48;
        var gate = new object();
        var inFlight = new SortedSet<int>();
        bool stopped = false;
        var sentAt = new int[65536];
        int sent = 1; // the Connect
        var rng = new Random(77);
        var payload = Random(4096, 5);
        byte[] ReadOf(ushort cid, int blocks) =>
            RawPeer.Capsule(RawPeer.Sgl(NvmeIoCommands.Read(1, (ulong)rng.Next(0, 1024), blocks), cid, SglDescriptor.Transport((uint)blocks * 512)));
        var sender = Task.Run(async () =>
        {
            for (int i = 0; i < Commands; i++)
            {
                ushort cid = (ushort)(100 + (i % 1000));
                lock (gate)
                {
                    while (!stopped && (inFlight.Count >= Window || (inFlight.Count > 0 && sent + 1 - inFlight.Min > Reach)))
                    {
                        Monitor.Wait(gate);
                    }

                    if (stopped)
                    {
                        return;
                    }

                    sentAt[cid] = ++sent;
                    inFlight.Add(sent);
                }

                var pdu = (i % 3) switch
                {
                    0 => ReadOf(cid, 128 >> rng.Next(0, 8)),
                    1 => RawPeer.Capsule(RawPeer.Sgl(NvmeIoCommands.Write(1, (ulong)rng.Next(0, 1024), 8), cid, SglDescriptor.InCapsule(4096)), payload),
                    _ => RawPeer.Capsule(RawPeer.Sgl(NvmeIoCommands.Flush(1), cid, SglDescriptor.Transport(0))),
                };
                await io.SendAsync(pdu);
            }
        });

        long previous = 1;
        var wentBack = new List<string>();
        try
        {
            for (int answered = 0; answered < Commands;)
            {
                var pdu = await io.ReadPduAsync();
                if (pdu[0] == 0x07)
                {
                    continue; // C2HData
                }

                Assert.Equal(0x05, pdu[0]);
                Assert.True(NvmeCompletion.TryRead(pdu.AsSpan(8), out var cqe));
                Assert.Equal(NvmeStatus.Success, cqe.Status);
                int index, sentNow;
                lock (gate)
                {
                    index = sentAt[cqe.Cid];
                    sentNow = sent;
                    inFlight.Remove(index);
                    Monitor.PulseAll(gate);
                }

                long head = index + ((((cqe.Sqhd - index) % Entries) + Entries) % Entries);
                Assert.InRange(head, index, sentNow);
                if (head < previous)
                {
                    wentBack.Add($"CID {cqe.Cid}: head {head} after {previous}");
                }

                previous = Math.Max(previous, head);
                answered++;
            }
        }
        finally
        {
            // A failed assertion must not leave the sender waiting for answers that will not come.
            lock (gate)
            {
                stopped = true;
                Monitor.PulseAll(gate);
            }
        }

        await sender;
        Assert.Empty(wentBack);
        Assert.Equal(Commands + 1, previous);
    }

    [Fact]
    public async Task Mixed_sizes_on_several_queues_keep_every_byte()
    {
        var (target, tcp, ep) = await StartAsync();
        await using var tcpScope = tcp;
        using var targetScope = target;
        await using var admin = await TestHost.AdminAsync(ep, Core.SubNqn, headerDigest: true, dataDigest: true);
        var queues = new List<TestHost>();
        for (ushort q = 1; q <= 3; q++)
        {
            queues.Add(await TestHost.IoAsync(ep, admin, Core.SubNqn, q, headerDigest: true, dataDigest: true));
        }

        // Each queue owns a 2 MiB region; 24 writes of 512 B .. 128 KiB (in-capsule, one R2T with up to 8 H2CData PDUs)
        // land at random places in it, mirrored in a local copy, then the whole region is read back in 128 KiB reads.
        var rng = new Random(1234);
        var plans = queues.Select((q, qi) => (Queue: q, Base: (ulong)qi * 4096, Ops: Enumerable.Range(0, 24).Select(_ =>
        {
            int blocks = rng.Next(1, 257);
            return (Lba: (ulong)rng.Next(0, 4096 - blocks), Data: Random(blocks * 512, rng.Next()));
        }).ToArray())).ToArray();

        await Task.WhenAll(plans.Select(async p =>
        {
            var mirror = new byte[4096 * 512];
            // Writes to overlapping ranges are issued one after another (NVMe orders nothing between commands in flight).
            foreach (var (lba, data) in p.Ops)
            {
                var r = await p.Queue.ExecAsync(NvmeIoCommands.Write(1, p.Base + lba, data.Length / 512), data, inCapsule: data.Length <= 8192);
                Assert.True(r.Cqe.IsSuccess);
                data.CopyTo(mirror, (int)lba * 512);
            }

            var reads = Enumerable.Range(0, 16).Select(i => p.Queue.ExecAsync(NvmeIoCommands.Read(1, p.Base + (ulong)(i * 256), 256), readLength: 131072)).ToArray();
            var results = await Task.WhenAll(reads);
            for (int i = 0; i < 16; i++)
            {
                Assert.True(results[i].Cqe.IsSuccess);
                Assert.Equal(mirror.AsSpan(i * 131072, 131072).ToArray(), results[i].Data);
                Assert.Equal(8, results[i].C2HPdus);
            }
        }));

        foreach (var q in queues)
        {
            await q.DisposeAsync();
        }
    }

    [Fact]
    public async Task Buffer_budget_defers_r2ts_and_holds_back_reads_without_losing_anything()
    {
        // The smallest budget allowed: one MDTS (128 KiB) of buffered data per connection.
        var (target, tcp, ep) = await StartAsync(new NvmeTargetOptions { MaxH2CData = 64 * 1024, MaxBufferedBytesPerConnection = 128 * 1024 });
        await using var tcpScope = tcp;
        using var targetScope = target;

        // Raw peer: three 64 KiB writes at once. Two R2Ts fit the budget; the third waits for the first write to finish.
        var admin = await TestHost.AdminAsync(ep, Core.SubNqn);
        await using var adminScope = admin;
        using var io = await RawPeer.OpenAsync(ep);
        await io.SendAsync(RawPeer.ConnectCapsule(1, admin.Cntlid));
        Assert.Equal(0, System.Buffers.Binary.BinaryPrimitives.ReadUInt16LittleEndian((await io.ReadPduAsync()).AsSpan(22)));
        var data = new[] { Random(65536, 31), Random(65536, 32), Random(65536, 33) };
        for (ushort i = 0; i < 3; i++)
        {
            var w = RawPeer.Sgl(NvmeIoCommands.Write(1, (ulong)(i * 128), 128), (ushort)(31 + i), SglDescriptor.Transport(65536));
            await io.SendAsync(RawPeer.Capsule(w));
        }

        var r2t1 = await io.ReadPduAsync();
        var r2t2 = await io.ReadPduAsync();
        Assert.Equal((0x09, 31), (r2t1[0], (int)System.Buffers.Binary.BinaryPrimitives.ReadUInt16LittleEndian(r2t1.AsSpan(8))));
        Assert.Equal((0x09, 32), (r2t2[0], (int)System.Buffers.Binary.BinaryPrimitives.ReadUInt16LittleEndian(r2t2.AsSpan(8))));
        // Nothing else comes while the budget is full (a third R2T would be here by now).
        await Task.Delay(200);
        Assert.Equal(0, io.Socket.Available);

        await io.SendAsync(RawPeer.H2CData(31, System.Buffers.Binary.BinaryPrimitives.ReadUInt16LittleEndian(r2t1.AsSpan(10)), 0, data[0], true));
        // The first write completes and frees its buffer: the deferred R2T for CID 33 follows (in either order).
        var p1 = await io.ReadPduAsync();
        var p2 = await io.ReadPduAsync();
        var resp = p1[0] == 0x05 ? p1 : p2;
        var r2t3 = p1[0] == 0x09 ? p1 : p2;
        Assert.Equal(31, System.Buffers.Binary.BinaryPrimitives.ReadUInt16LittleEndian(resp.AsSpan(20)));
        Assert.Equal(0, System.Buffers.Binary.BinaryPrimitives.ReadUInt16LittleEndian(resp.AsSpan(22)));
        Assert.Equal(33, System.Buffers.Binary.BinaryPrimitives.ReadUInt16LittleEndian(r2t3.AsSpan(8)));
        Assert.Equal(65536u, System.Buffers.Binary.BinaryPrimitives.ReadUInt32LittleEndian(r2t3.AsSpan(16)));
        await io.SendAsync(RawPeer.H2CData(32, System.Buffers.Binary.BinaryPrimitives.ReadUInt16LittleEndian(r2t2.AsSpan(10)), 0, data[1], true));
        await io.SendAsync(RawPeer.H2CData(33, System.Buffers.Binary.BinaryPrimitives.ReadUInt16LittleEndian(r2t3.AsSpan(10)), 0, data[2], true));
        var done = new[] { await io.ReadPduAsync(), await io.ReadPduAsync() };
        Assert.All(done, d => Assert.Equal(0, System.Buffers.Binary.BinaryPrimitives.ReadUInt16LittleEndian(d.AsSpan(22))));
        var ns = target.GetSubsystem(Core.SubNqn)!.GetNamespace(1)!;
        for (int i = 0; i < 3; i++)
        {
            var stored = new byte[65536];
            await ns.Storage.ReadAsync(i * 65536L, stored, CancellationToken.None);
            Assert.Equal(data[i], stored);
        }

        // A read queued behind writes that fill the budget must not stop the reader from taking their data
        // (the read waits off the reader; blocking the reader here would deadlock the connection).
        for (ushort i = 0; i < 2; i++)
        {
            var w = RawPeer.Sgl(NvmeIoCommands.Write(1, (ulong)(1024 + (i * 128)), 128), (ushort)(41 + i), SglDescriptor.Transport(65536));
            await io.SendAsync(RawPeer.Capsule(w));
        }

        var ra = await io.ReadPduAsync();
        var rb = await io.ReadPduAsync();
        await io.SendAsync(RawPeer.Capsule(RawPeer.Sgl(NvmeIoCommands.Read(1, 0, 128), 43, SglDescriptor.Transport(65536))));
        await io.SendAsync(RawPeer.H2CData(41, System.Buffers.Binary.BinaryPrimitives.ReadUInt16LittleEndian(ra.AsSpan(10)), 0, data[1], true));
        await io.SendAsync(RawPeer.H2CData(42, System.Buffers.Binary.BinaryPrimitives.ReadUInt16LittleEndian(rb.AsSpan(10)), 0, data[2], true));
        var readBack = new byte[65536];
        var completed = new HashSet<int>();
        while (completed.Count < 3)
        {
            var pdu = await io.ReadPduAsync();
            if (pdu[0] == 0x07)
            {
                // C2HData for the read: DATAO at 12, data after the 24-byte header.
                int datao = (int)System.Buffers.Binary.BinaryPrimitives.ReadUInt32LittleEndian(pdu.AsSpan(12));
                pdu.AsSpan(24).CopyTo(readBack.AsSpan(datao));
            }
            else
            {
                Assert.Equal(0x05, pdu[0]);
                Assert.Equal(0, System.Buffers.Binary.BinaryPrimitives.ReadUInt16LittleEndian(pdu.AsSpan(22)));
                completed.Add(System.Buffers.Binary.BinaryPrimitives.ReadUInt16LittleEndian(pdu.AsSpan(20)));
            }
        }

        Assert.Equal(new HashSet<int> { 41, 42, 43 }, completed);
        Assert.Equal(data[0], readBack);

        // Sixteen 64 KiB reads at once through a 128 KiB budget: they wait their turn and all arrive intact.
        await using var host = await TestHost.IoAsync(ep, admin, Core.SubNqn, 2);
        var reads = Enumerable.Range(0, 16).Select(i => host.ExecAsync(NvmeIoCommands.Read(1, (ulong)((i % 3) * 128), 128), readLength: 65536)).ToArray();
        var results = await Task.WhenAll(reads);
        for (int i = 0; i < 16; i++)
        {
            Assert.Equal(data[i % 3], results[i].Data);
        }
    }

    [Fact]
    public async Task Discovery_over_tcp_lists_the_listening_port()
    {
        var (target, tcp, ep) = await StartAsync();
        await using var tcpScope = tcp;
        using var targetScope = target;
        await using var disc = await TestHost.AdminAsync(ep, FabricsCommand.DiscoveryNqn);
        var header = await disc.ExecAsync(NvmeAdminCommands.GetLogPage(NvmeLogPageId.Discovery, 1024, nsid: 0), readLength: 1024);
        Assert.True(DiscoveryLog.TryReadHeader(header.Data, out _, out ulong numrec, out _));
        Assert.Equal(2UL, numrec);
        int size = (int)DiscoveryLog.SizeFor(numrec);
        var full = await disc.ExecAsync(NvmeAdminCommands.GetLogPage(NvmeLogPageId.Discovery, size, nsid: 0), readLength: size);
        Assert.True(DiscoveryLog.TryRead(full.Data, out var log));
        var e = log!.Entries[0];
        Assert.Equal(Core.SubNqn, e.SubNqn);
        Assert.Equal("127.0.0.1", e.Traddr);
        Assert.Equal(ep.Port.ToString(System.Globalization.CultureInfo.InvariantCulture), e.Trsvcid);
        Assert.Equal(TransportType.Tcp, e.Trtype);
    }

    [Fact]
    public async Task Connect_errors_over_tcp_and_disconnect_closes_only_the_io_queue()
    {
        var (target, tcp, ep) = await StartAsync();
        await using var tcpScope = tcp;
        using var targetScope = target;
        await using (var h = await TestHost.OpenAsync(ep))
        {
            var unknown = await h.ConnectAsync(0, 31, 0xFFFF, "nqn.2026-01.io.nvmeps:absent");
            Assert.Equal(NvmeStatusCodeType.CommandSpecific, unknown.Status.Sct);
            Assert.Equal(NvmeStatusNames.ConnectInvalidParameters, unknown.Status.Sc);
            Assert.Equal(256, ConnectResponse.GetInvalidParameterOffset(unknown));
            var denied = await h.ConnectAsync(0, 31, 0xFFFF, Core.SubNqn, host: "nqn.2014-08.org.nvmexpress:uuid:00000000-0000-0000-0000-00000000dead");
            Assert.Equal(NvmeStatusNames.ConnectInvalidHost, denied.Status.Sc);
            Assert.Equal("Connect Invalid Host", denied.Status.GetName(NvmeCommandContext.Fabrics));
        }

        await using var admin = await TestHost.AdminAsync(ep, Core.SubNqn);
        var io = await TestHost.IoAsync(ep, admin, Core.SubNqn);
        var disc = await io.ExecAsync(new DisconnectCommand(0).ToCommand(0));
        Assert.True(disc.Cqe.IsSuccess);
        Assert.True(await io.ClosedByTargetAsync(TimeSpan.FromSeconds(5)));
        await io.DisposeAsync();
        // The association is still there; the QID may be connected again.
        Assert.True((await admin.ExecAsync(NvmeAdminCommands.KeepAlive())).Cqe.IsSuccess);
        await using var io2 = await TestHost.IoAsync(ep, admin, Core.SubNqn);
        Assert.True((await io2.ExecAsync(NvmeIoCommands.Flush(1))).Cqe.IsSuccess);
    }

    [Fact]
    public async Task Keep_alive_expiry_closes_every_connection_of_the_association()
    {
        var (target, tcp, ep) = await StartAsync();
        await using var tcpScope = tcp;
        using var targetScope = target;
        await using var admin = await TestHost.AdminAsync(ep, Core.SubNqn);
        await using var io = await TestHost.IoAsync(ep, admin, Core.SubNqn);
        // Armed only once both queues exist, so a slow machine cannot expire it during setup.
        Assert.True((await admin.ExecAsync(NvmeAdminCommands.SetFeatures(NvmeFeatureId.KeepAliveTimer, 300))).Cqe.IsSuccess);
        Assert.True(await admin.ClosedByTargetAsync(TimeSpan.FromSeconds(10)));
        Assert.True(await io.ClosedByTargetAsync(TimeSpan.FromSeconds(10)));
        Assert.Empty(target.GetSubsystem(Core.SubNqn)!.Controllers);
    }

    [Fact]
    public async Task A_host_that_stops_keeping_alive_is_told_by_its_association_and_others_go_on()
    {
        var (target, tcp, ep) = await StartAsync();
        await using var tcpScope = tcp;
        using var targetScope = target;
        var p = new NvmePS.Engine.Fabrics.Host.NvmeHostAssociationParameters { HostNqn = Core.HostNqn, HostId = Core.HostId, IoQueueCount = 1 };
        await using var alive = await NvmePS.Engine.Fabrics.Host.NvmeHostAssociation.ConnectAsync(ep, Core.SubNqn, p, CancellationToken.None);
        await using var quiet = await NvmePS.Engine.Fabrics.Host.NvmeHostAssociation.ConnectAsync(ep, Core.SubNqn,
            p with { KeepAliveTimeout = TimeSpan.FromMilliseconds(300), SendKeepAlive = false }, CancellationToken.None);

        // The controller ends the silent association after its KATO; the host learns it from the closed connection.
        for (int i = 0; i < 1000 && quiet.Failure is null; i++)
        {
            await Task.Delay(10);
        }

        Assert.NotNull(quiet.Failure);
        var e = await Assert.ThrowsAnyAsync<NvmeException>(() => new NvmeAdminClient(quiet).IdentifyControllerAsync());
        Assert.Equal(NvmeErrorKind.Connection, e.Kind);
        Assert.Single(target.GetSubsystem(Core.SubNqn)!.Controllers);

        // The other host's association is untouched.
        Assert.Null(alive.Failure);
        Assert.Equal(Core.SubNqn, (await new NvmeAdminClient(alive).IdentifyControllerAsync()).Subnqn);
    }

    [Fact]
    public async Task Connections_over_the_limit_are_closed_at_once()
    {
        var (target, tcp, ep) = await StartAsync(new NvmeTargetOptions { MaxConnections = 1 });
        await using var tcpScope = tcp;
        using var targetScope = target;
        await using var admin = await TestHost.AdminAsync(ep, Core.SubNqn);
        bool closed;
        try
        {
            using var extra = await RawPeer.OpenAsync(ep, initialize: false);
            closed = await extra.ClosedByPeerAsync();
        }
        catch (System.Net.Sockets.SocketException)
        {
            // The reset can even beat the end of the handshake.
            closed = true;
        }

        Assert.True(closed);
        Assert.Equal(1, tcp.RefusedConnections);
        Assert.True((await admin.ExecAsync(NvmeAdminCommands.KeepAlive())).Cqe.IsSuccess);
    }

    [Fact]
    public async Task One_host_cannot_take_more_than_its_share_of_connections_and_another_host_still_gets_in()
    {
        var (target, tcp, ep) = await StartAsync(new NvmeTargetOptions { MaxConnections = 8, MaxConnectionsPerHost = 2 });
        await using var tcpScope = tcp;
        using var targetScope = target;
        var hostA = IPAddress.Loopback;
        var hostB = IPAddress.Parse("127.0.0.2");
        using var a1 = await RawPeer.OpenAsync(ep, from: hostA);
        using var a2 = await RawPeer.OpenAsync(ep, from: hostA);
        Assert.Equal(2, tcp.ConnectionsFrom(hostA));

        // A third connection from the same address is closed before the target reads a byte of it.
        bool closed;
        try
        {
            using var a3 = await RawPeer.OpenAsync(ep, initialize: false, from: hostA);
            closed = await a3.ClosedByPeerAsync();
        }
        catch (System.Net.Sockets.SocketException)
        {
            closed = true;
        }

        Assert.True(closed);
        Assert.Equal(1, tcp.RefusedConnections);
        Assert.Equal(2, tcp.ConnectionsFrom(hostA));

        // Another host is served in full while the first one sits at its limit.
        using var b1 = await RawPeer.OpenAsync(ep, from: hostB);
        Assert.Equal(1, tcp.ConnectionsFrom(hostB));

        // A connection that ends gives its place back.
        a1.Dispose();
        Assert.True(SpinWait.SpinUntil(() => tcp.ConnectionsFrom(hostA) == 1, TimeSpan.FromSeconds(10)));
        using var a4 = await RawPeer.OpenAsync(ep, from: hostA);
        Assert.Equal(2, tcp.ConnectionsFrom(hostA));
        Assert.Equal(1, tcp.RefusedConnections);
        Assert.Throws<ArgumentException>(() => new NvmeTargetOptions { MaxConnectionsPerHost = 0 }.Validate());
    }

    [Fact]
    public async Task Idle_connections_give_their_buffers_back_on_both_sides_and_take_them_again_with_the_next_PDU()
    {
        var idle = TimeSpan.FromMilliseconds(200);
        var (target, tcp, ep) = await StartAsync(new NvmeTargetOptions { MaxH2CData = 16 * 1024, IdleTrimAfter = idle });
        await using var tcpScope = tcp;
        using var targetScope = target;
        await using var a = await NvmePS.Engine.Fabrics.Host.NvmeHostAssociation.ConnectAsync(ep, Core.SubNqn,
            new NvmePS.Engine.Fabrics.Host.NvmeHostAssociationParameters { HostNqn = Core.HostNqn, IoQueueCount = 1, IdleTrimAfter = idle, KeepAliveTimeout = TimeSpan.Zero }, CancellationToken.None);
        var io = a.IoQueues[0].Transport;
        byte[] block = Random(8 * 512, 11);
        await a.WriteAsync(1, 100, 8, block, fua: false, CancellationToken.None);
        // The completion resumed this method on the queue's receive thread: leave it, so it can go back to waiting.
        await Task.Yield();

        // In use: a 64 KiB receive buffer and three 64 KiB send buffers, on the controller's side and the host's.
        Assert.True(io.BufferBytes >= 256 * 1024, $"host queue holds {io.BufferBytes} bytes");
        Assert.True(tcp.ConnectionBufferBytes >= 2 * 256 * 1024, $"controller holds {tcp.ConnectionBufferBytes} bytes");

        // Idle (no keep-alive either): every connection is down to the small receive buffer, with no send buffers.
        Assert.True(SpinWait.SpinUntil(() => tcp.ConnectionBufferBytes == 2 * 4096 && io.BufferBytes == 4096 && a.AdminQueue.Transport.BufferBytes == 4096, TimeSpan.FromSeconds(20)),
            $"controller {tcp.ConnectionBufferBytes}, host I/O queue {io.BufferBytes}, host admin queue {a.AdminQueue.Transport.BufferBytes} bytes");

        // A small command is served from small buffers, and the data is intact.
        byte[] back = new byte[block.Length];
        await a.ReadAsync(1, 100, 8, back, CancellationToken.None);
        Assert.Equal(block, back);
        Assert.True(io.BufferBytes < 128 * 1024, $"host queue holds {io.BufferBytes} bytes after one small read");

        // Large transfers bring the full buffers back on both sides, and the data is intact both ways.
        byte[] large = Random(128 * 1024, 12);
        await a.WriteAsync(1, 1000, 256, large, fua: false, CancellationToken.None);
        byte[] largeBack = new byte[large.Length];
        await a.ReadAsync(1, 1000, 256, largeBack, CancellationToken.None);
        Assert.Equal(large, largeBack);
        Assert.True(io.BufferBytes >= 256 * 1024, $"host queue holds {io.BufferBytes} bytes after large transfers");
        Assert.Throws<ArgumentException>(() => new NvmeTargetOptions { IdleTrimAfter = TimeSpan.Zero }.Validate());
    }

    [Fact]
    public async Task A_host_transport_address_is_where_every_queue_of_the_association_comes_from()
    {
        var (target, tcp, ep) = await StartAsync();
        await using var tcpScope = tcp;
        using var targetScope = target;
        var from = IPAddress.Parse("127.0.0.3");
        await using var a = await NvmePS.Engine.Fabrics.Host.NvmeHostAssociation.ConnectAsync(ep, Core.SubNqn,
            new NvmePS.Engine.Fabrics.Host.NvmeHostAssociationParameters { HostNqn = Core.HostNqn, HostTransportAddress = from, IoQueueCount = 2 }, CancellationToken.None);
        Assert.Equal(2, a.IoQueues.Count);
        Assert.Equal(3, tcp.ConnectionsFrom(from));
        Assert.Equal(0, tcp.ConnectionsFrom(IPAddress.Loopback));

        // An address this machine does not have is a clear connection error naming it.
        var ex = await Assert.ThrowsAsync<NvmeConnectionException>(() => NvmePS.Engine.Fabrics.Host.NvmeHostAssociation.ConnectAsync(ep, Core.SubNqn,
            new NvmePS.Engine.Fabrics.Host.NvmeHostAssociationParameters { HostNqn = Core.HostNqn, HostTransportAddress = IPAddress.Parse("192.0.2.1") }, CancellationToken.None));
        Assert.Contains("from 192.0.2.1", ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Connections_that_never_initialize_or_never_connect_are_closed()
    {
        var (target, tcp, ep) = await StartAsync();
        await using var tcpScope = tcp;
        using var targetScope = target;
        tcp.InitializeTimeout = TimeSpan.FromMilliseconds(300);
        tcp.ConnectTimeout = TimeSpan.FromMilliseconds(300);
        using var silent = await RawPeer.OpenAsync(ep, initialize: false);
        using var idle = await RawPeer.OpenAsync(ep);
        Assert.True(await silent.ClosedByPeerAsync());
        Assert.True(await idle.ClosedByPeerAsync());
        // A queue that connected in time stays (generous limits again, so a slow machine cannot trip them).
        tcp.InitializeTimeout = TimeSpan.FromSeconds(10);
        tcp.ConnectTimeout = TimeSpan.FromSeconds(30);
        await using var admin = await TestHost.AdminAsync(ep, Core.SubNqn);
        await Task.Delay(600);
        Assert.True((await admin.ExecAsync(NvmeAdminCommands.KeepAlive())).Cqe.IsSuccess);
    }

    [Fact]
    public async Task Listening_outside_loopback_needs_an_explicit_opt_in()
    {
        using var target = new NvmeTarget();
        await using var tcp = new NvmeTcpTarget(target);
        await Assert.ThrowsAsync<ArgumentException>(() => tcp.ListenAsync(new IPEndPoint(IPAddress.Any, 0)));
        var port6 = await tcp.ListenAsync(new IPEndPoint(IPAddress.IPv6Loopback, 0));
        Assert.Equal(AddressFamily.IPv6, port6.Adrfam);
        Assert.Equal("::1", port6.Traddr);
        Assert.Single(target.Ports);
    }

    /// <summary>A second listener on a port that is already served fails with address-in-use: with SO_REUSEPORT (which
    /// .NET's ReuseAddress sets on Linux) it would bind silently and the kernel would split connections between the two
    /// targets. The first listener keeps serving, and the port is free again once the first target stops.</summary>
    [Fact]
    public async Task A_second_listener_on_the_same_port_fails_with_address_in_use()
    {
        var (target, tcp, ep) = await StartAsync();
        using var tg = target;
        using var other = new NvmeTarget(new NvmeTargetOptions());
        await using (var tcp2 = new NvmeTcpTarget(other))
        {
            var e = await Assert.ThrowsAsync<System.Net.Sockets.SocketException>(() => tcp2.ListenAsync(ep));
            Assert.Equal(System.Net.Sockets.SocketError.AddressAlreadyInUse, e.SocketErrorCode);
            Assert.Contains(ep.ToString(), e.Message, StringComparison.Ordinal);
            Assert.Contains("already in use", e.Message, StringComparison.Ordinal);
            Assert.Empty(tcp2.LocalEndPoints);
        }

        // The first target still owns the port and serves a host.
        await using (var admin = await TestHost.AdminAsync(ep, Core.SubNqn))
        {
            Assert.NotEqual(0, admin.Cntlid);
        }

        await tcp.DisposeAsync();
        using var third = new NvmeTarget(new NvmeTargetOptions());
        await using var tcp3 = new NvmeTcpTarget(third);
        await tcp3.ListenAsync(ep); // freed by the first target's stop
        Assert.Equal(ep.Port, tcp3.LocalEndPoints[0].Port);
    }

    /// <summary>A store whose reads and writes finish at once, after a yield, or after up to 2 ms, picked at random.</summary>
    private sealed class UnevenStorage(MemoryNamespaceStorage inner) : INvmeNamespaceStorage
    {
        public long Length => inner.Length;

        public long? AllocatedBytes => inner.AllocatedBytes;

        public async ValueTask ReadAsync(long offset, Memory<byte> destination, CancellationToken cancellationToken)
        {
            await LaterAsync();
            await inner.ReadAsync(offset, destination, cancellationToken);
        }

        public async ValueTask WriteAsync(long offset, ReadOnlyMemory<byte> source, CancellationToken cancellationToken)
        {
            await LaterAsync();
            await inner.WriteAsync(offset, source, cancellationToken);
        }

        public async ValueTask FlushAsync(CancellationToken cancellationToken)
        {
            await LaterAsync();
            await inner.FlushAsync(cancellationToken);
        }

        public ValueTask WriteZeroesAsync(long offset, long length, bool deallocate, CancellationToken cancellationToken) =>
            inner.WriteZeroesAsync(offset, length, deallocate, cancellationToken);

        public void Dispose() => inner.Dispose();

        private static async Task LaterAsync()
        {
            switch (System.Random.Shared.Next(3))
            {
                case 0:
                    return;
                case 1:
                    await Task.Yield();
                    return;
                default:
                    await Task.Delay(System.Random.Shared.Next(1, 3));
                    return;
            }
        }
    }
}
