using System.Buffers.Binary;
using NvmePS.Engine;
using NvmePS.Engine.Admin;
using NvmePS.Engine.Fabrics;
using NvmePS.Engine.Fabrics.Controller;

namespace NvmePS.Engine.Tests.Fabrics.Controller;

/// <summary>Drives the transport-independent controller core the way a transport does: Connect capsule, then commands.</summary>
internal static class Core
{
    public const string SubNqn = "nqn.2026-01.io.nvmeps:test";
    public const string HostNqn = "nqn.2014-08.org.nvmexpress:uuid:11111111-2222-3333-4444-555555555555";
    public static readonly Guid HostId = Guid.Parse("11111111-2222-3333-4444-555555555555");

    public static NvmeTarget Target(out NvmeSubsystem subsystem, NvmeTargetOptions? options = null)
    {
        var target = new NvmeTarget(options);
        subsystem = target.AddSubsystem(SubNqn);
        subsystem.AllowHost(HostNqn);
        target.AddPort(new NvmeTargetPort(1, TransportType.Tcp, AddressFamily.IPv4, "127.0.0.1", "4420"));
        return target;
    }

    public static NvmeCommand ConnectSqe(ushort qid, ushort sqsize = 31, uint kato = 0, byte cattr = 0, ushort cid = 1) =>
        new ConnectCommand(0, qid, sqsize, cattr, kato).ToCommand(cid, SglDescriptor.InCapsule(ConnectData.Size));

    public static byte[] ConnectBytes(ushort cntlid = 0xFFFF, string sub = SubNqn, string host = HostNqn, Guid? hostId = null) =>
        new ConnectData(hostId ?? HostId, cntlid, sub, host).ToArray();

    public static NvmeControllerQueue Admin(NvmeTarget target, uint kato = 0, bool enable = true)
    {
        var cqe = target.Connect(ConnectSqe(0, kato: kato), ConnectBytes(), null, out var q);
        Assert.True(cqe.IsSuccess, cqe.Status.ToString());
        if (enable)
        {
            Assert.True(SetCc(q!, ControllerConfiguration.Create(en: true)).IsSuccess);
            Assert.True(q!.Controller.Status.Rdy);
        }

        return q!;
    }

    public static NvmeControllerQueue Io(NvmeTarget target, NvmeControllerQueue admin, ushort qid = 1, ushort sqsize = 127)
    {
        var cqe = target.Connect(ConnectSqe(qid, sqsize), ConnectBytes(admin.Controller.Cntlid), null, out var q);
        Assert.True(cqe.IsSuccess, cqe.Status.ToString());
        return q!;
    }

    public static NvmeCompletion SetCc(NvmeControllerQueue admin, ControllerConfiguration cc) =>
        admin.ProcessAsync(new PropertySetCommand(PropertySize.FourBytes, ControllerProperty.Cc, cc.Value).ToCommand(9), default, default).AsTask().Result.Completion;

    public static ulong GetProperty(NvmeControllerQueue admin, uint offset, PropertySize size)
    {
        var r = admin.ProcessAsync(new PropertyGetCommand(size, offset).ToCommand(8), default, default).AsTask().Result;
        Assert.True(r.Completion.IsSuccess, r.Completion.Status.ToString());
        return PropertyGetCommand.GetValue(r.Completion, size);
    }

    public static async Task<(NvmeCompletion Cqe, byte[] Data)> Run(NvmeControllerQueue q, NvmeCommand c, int readLength = 0, byte[]? write = null)
    {
        var data = new byte[readLength];
        var r = await q.ProcessAsync(c, write ?? default(ReadOnlyMemory<byte>), data);
        return (r.Completion, data);
    }

    public static void AssertStatus(NvmeCompletion cqe, NvmeStatusCodeType sct, byte sc)
    {
        Assert.Equal(sct, cqe.Status.Sct);
        Assert.Equal(sc, cqe.Status.Sc);
    }
}

public class ControllerConnectTests
{
    [Fact]
    public void Admin_connect_returns_cntlid_and_sqhd_and_a_second_association_gets_another_id()
    {
        using var target = Core.Target(out var sub);
        var cqe = target.Connect(Core.ConnectSqe(0, cid: 0x77), Core.ConnectBytes(), null, out var q1);
        Assert.True(cqe.IsSuccess);
        Assert.Equal(0x77, cqe.Cid);
        Assert.Equal(0, cqe.Sqid);
        Assert.Equal(1, cqe.Sqhd);
        Assert.Equal(1, ConnectResponse.GetCntlid(cqe));
        var cqe2 = target.Connect(Core.ConnectSqe(0), Core.ConnectBytes(), null, out var q2);
        Assert.Equal(2, ConnectResponse.GetCntlid(cqe2));
        Assert.Equal(2, sub.Controllers.Count);
        q1!.Dispose();
        Assert.True(q1.Controller.IsTerminated);
        Assert.Single(sub.Controllers);
        q2!.Dispose();
    }

    [Fact]
    public void Flow_control_disabled_reports_sqhd_ffff()
    {
        using var target = Core.Target(out _);
        var cqe = target.Connect(Core.ConnectSqe(0, cattr: ConnectCommand.CattrDisableSqFlowControl), Core.ConnectBytes(), null, out var q);
        Assert.Equal(0xFFFF, cqe.Sqhd);
        Assert.True(q!.SqFlowControlDisabled);
    }

    [Fact]
    public void Unknown_subsystem_is_invalid_parameter_at_subnqn()
    {
        using var target = Core.Target(out _);
        var cqe = target.Connect(Core.ConnectSqe(0), Core.ConnectBytes(sub: "nqn.2026-01.io.nvmeps:nope"), null, out var q);
        Assert.Null(q);
        Core.AssertStatus(cqe, NvmeStatusCodeType.CommandSpecific, NvmeStatusNames.ConnectInvalidParameters);
        Assert.Equal(256, ConnectResponse.GetInvalidParameterOffset(cqe));
        Assert.Equal(1, ConnectResponse.GetInvalidParameterAttributes(cqe));
        Assert.Equal("Connect Invalid Parameters", cqe.Status.GetName(NvmeCommandContext.Fabrics));
    }

    [Fact]
    public void Disallowed_host_gets_connect_invalid_host_until_allowed()
    {
        using var target = Core.Target(out var sub);
        const string other = "nqn.2014-08.org.nvmexpress:uuid:99999999-2222-3333-4444-555555555555";
        var cqe = target.Connect(Core.ConnectSqe(0), Core.ConnectBytes(host: other), null, out var q);
        Assert.Null(q);
        Core.AssertStatus(cqe, NvmeStatusCodeType.CommandSpecific, NvmeStatusNames.ConnectInvalidHost);
        Assert.Equal(512, ConnectResponse.GetInvalidParameterOffset(cqe));
        Assert.Equal(1, ConnectResponse.GetInvalidParameterAttributes(cqe));

        sub.AllowHost(other);
        Assert.True(target.Connect(Core.ConnectSqe(0), Core.ConnectBytes(host: other), null, out _).IsSuccess);
        Assert.True(sub.DisallowHost(other));
        sub.AllowAnyHost = true;
        Assert.True(target.Connect(Core.ConnectSqe(0), Core.ConnectBytes(host: other), null, out _).IsSuccess);
    }

    [Theory]
    [InlineData(256)]
    [InlineData(512)]
    public void Nqn_without_nul_is_invalid_parameter_at_its_offset(int field)
    {
        using var target = Core.Target(out _);
        var data = Core.ConnectBytes();
        data.AsSpan(field, 256).Fill((byte)'a');
        var cqe = target.Connect(Core.ConnectSqe(0), data, null, out var q);
        Assert.Null(q);
        Core.AssertStatus(cqe, NvmeStatusCodeType.CommandSpecific, NvmeStatusNames.ConnectInvalidParameters);
        Assert.Equal(field, ConnectResponse.GetInvalidParameterOffset(cqe));
        Assert.Equal(1, ConnectResponse.GetInvalidParameterAttributes(cqe));
    }

    [Fact]
    public void Bad_sqsize_recfmt_cntlid_and_data_length_are_refused()
    {
        using var target = Core.Target(out _);
        var small = target.Connect(Core.ConnectSqe(0, sqsize: 30), Core.ConnectBytes(), null, out _);
        Assert.Equal(ConnectCommand.SqsizeOffset, ConnectResponse.GetInvalidParameterOffset(small));
        Assert.Equal(0, ConnectResponse.GetInvalidParameterAttributes(small));
        var big = target.Connect(Core.ConnectSqe(0, sqsize: 128), Core.ConnectBytes(), null, out _);
        Assert.Equal(ConnectCommand.SqsizeOffset, ConnectResponse.GetInvalidParameterOffset(big));

        var recfmt = new ConnectCommand(1, 0, 31, 0, 0).ToCommand(1, SglDescriptor.InCapsule(1024));
        Core.AssertStatus(target.Connect(recfmt, Core.ConnectBytes(), null, out _), NvmeStatusCodeType.CommandSpecific, NvmeStatusNames.ConnectIncompatibleFormat);

        var staticId = target.Connect(Core.ConnectSqe(0), Core.ConnectBytes(cntlid: 5), null, out _);
        Assert.Equal(16, ConnectResponse.GetInvalidParameterOffset(staticId));

        Core.AssertStatus(target.Connect(Core.ConnectSqe(0), new byte[512], null, out _), NvmeStatusCodeType.Generic, NvmeStatusNames.DataSglLengthInvalid);
        Core.AssertStatus(target.Connect(NvmeAdminCommands.KeepAlive(), default, null, out _), NvmeStatusCodeType.Generic, NvmeStatusNames.CommandSequenceError);
    }

    [Fact]
    public void Controller_limit_answers_controller_busy()
    {
        using var target = Core.Target(out _, new NvmeTargetOptions { MaxControllersPerSubsystem = 1 });
        Assert.True(target.Connect(Core.ConnectSqe(0), Core.ConnectBytes(), null, out _).IsSuccess);
        Core.AssertStatus(target.Connect(Core.ConnectSqe(0), Core.ConnectBytes(), null, out _), NvmeStatusCodeType.CommandSpecific, NvmeStatusNames.ConnectControllerBusy);
    }

    [Fact]
    public void Io_queue_connect_rules()
    {
        using var target = Core.Target(out _, new NvmeTargetOptions { MaxIoQueues = 2 });
        var admin = Core.Admin(target, enable: false);
        ushort id = admin.Controller.Cntlid;

        // Not enabled yet.
        Core.AssertStatus(target.Connect(Core.ConnectSqe(1, 15), Core.ConnectBytes(id), null, out _), NvmeStatusCodeType.Generic, NvmeStatusNames.CommandSequenceError);
        Assert.True(Core.SetCc(admin, ControllerConfiguration.Create(en: true)).IsSuccess);

        var io = target.Connect(Core.ConnectSqe(1, 15), Core.ConnectBytes(id), null, out var q1);
        Assert.True(io.IsSuccess);
        Assert.Equal(1, io.Sqid);
        Assert.Equal(id, ConnectResponse.GetCntlid(io));
        Core.AssertStatus(target.Connect(Core.ConnectSqe(1, 15), Core.ConnectBytes(id), null, out _), NvmeStatusCodeType.Generic, NvmeStatusNames.CommandSequenceError);
        var tooHigh = target.Connect(Core.ConnectSqe(3, 15), Core.ConnectBytes(id), null, out _);
        Assert.Equal(ConnectCommand.QidOffset, ConnectResponse.GetInvalidParameterOffset(tooHigh));
        Assert.Equal(0, ConnectResponse.GetInvalidParameterAttributes(tooHigh));
        var wrongId = target.Connect(Core.ConnectSqe(2, 15), Core.ConnectBytes((ushort)(id + 5)), null, out _);
        Assert.Equal(ConnectData.CntlidOffset, ConnectResponse.GetInvalidParameterOffset(wrongId));
        var wrongHostId = target.Connect(Core.ConnectSqe(2, 15), Core.ConnectBytes(id, hostId: Guid.NewGuid()), null, out _);
        Assert.Equal(ConnectData.CntlidOffset, ConnectResponse.GetInvalidParameterOffset(wrongHostId));
        Assert.Equal(1, admin.Controller.ConnectedIoQueues);

        // Losing the admin queue ends the association and closes its I/O queues.
        admin.Dispose();
        Assert.True(q1!.Closed.IsCancellationRequested);
        Assert.True(admin.Controller.Terminated.IsCancellationRequested);
    }
}

public class ControllerStateTests
{
    [Fact]
    public async Task Properties_cap_vs_and_enable_shutdown_state_machine()
    {
        using var target = Core.Target(out _);
        var admin = Core.Admin(target, enable: false);
        var cap = new ControllerCapabilities(Core.GetProperty(admin, ControllerProperty.Cap, PropertySize.EightBytes));
        Assert.Equal(127, cap.Mqes);
        Assert.True(cap.Cqr);
        Assert.Equal(1, cap.Css & 1);
        Assert.Equal(0x00020000u, (uint)Core.GetProperty(admin, ControllerProperty.Vs, PropertySize.FourBytes));
        Assert.Equal(0u, (uint)Core.GetProperty(admin, ControllerProperty.Csts, PropertySize.FourBytes));

        // Admin commands before CC.EN: Command Sequence Error.
        var id = await Core.Run(admin, NvmeAdminCommands.Identify(NvmeIdentifyCns.Controller), 4096);
        Core.AssertStatus(id.Cqe, NvmeStatusCodeType.Generic, NvmeStatusNames.CommandSequenceError);

        // CAP is 8 bytes, CC 4: the wrong size is an invalid field; CAP is read-only.
        var r = await admin.ProcessAsync(new PropertyGetCommand(PropertySize.FourBytes, ControllerProperty.Cap).ToCommand(3), default, default);
        Core.AssertStatus(r.Completion, NvmeStatusCodeType.Generic, NvmeStatusNames.InvalidFieldInCommand);
        var w = await admin.ProcessAsync(new PropertySetCommand(PropertySize.EightBytes, ControllerProperty.Cap, 0).ToCommand(3), default, default);
        Core.AssertStatus(w.Completion, NvmeStatusCodeType.Generic, NvmeStatusNames.InvalidFieldInCommand);

        // IOSQES 5 cannot be honoured: CSTS.CFS, not RDY.
        Assert.True(Core.SetCc(admin, ControllerConfiguration.Create(en: true, iosqes: 5)).IsSuccess);
        var csts = new ControllerStatus((uint)Core.GetProperty(admin, ControllerProperty.Csts, PropertySize.FourBytes));
        Assert.True(csts.Cfs);
        Assert.False(csts.Rdy);
        Core.SetCc(admin, ControllerConfiguration.Create(en: false));
        Core.SetCc(admin, ControllerConfiguration.Create(en: true));
        Assert.True(new ControllerStatus((uint)Core.GetProperty(admin, ControllerProperty.Csts, PropertySize.FourBytes)).Rdy);
        Assert.Equal(ControllerConfiguration.Create(en: true).Value, (uint)Core.GetProperty(admin, ControllerProperty.Cc, PropertySize.FourBytes));

        var io = Core.Io(target, admin);
        Core.SetCc(admin, ControllerConfiguration.Create(en: true, shn: ShutdownNotification.Normal));
        csts = new ControllerStatus((uint)Core.GetProperty(admin, ControllerProperty.Csts, PropertySize.FourBytes));
        Assert.Equal(ShutdownStatus.Complete, csts.Shst);

        // Reset (EN 1 -> 0) deletes I/O queues.
        Core.SetCc(admin, ControllerConfiguration.Create(en: false));
        Assert.True(io.Closed.IsCancellationRequested);
        Assert.False(admin.Controller.Status.Rdy);
        long unsafeBefore = target.UnsafeShutdowns;
        admin.Dispose();
        Assert.Equal(unsafeBefore, target.UnsafeShutdowns); // the association shut down cleanly
    }

    [Fact]
    public async Task Keep_alive_timeout_tears_down_the_association()
    {
        using var target = Core.Target(out var sub);
        // KATO from Connect is rounded up to KAS (100 ms).
        var other = Core.Admin(target, kato: 150, enable: false);
        Assert.Equal(200u, other.Controller.KeepAliveTimeout);
        other.Dispose();

        var admin = Core.Admin(target);
        var io = Core.Io(target, admin);
        // Armed once both queues exist, so a slow machine cannot expire it during setup.
        Assert.True((await Core.Run(admin, NvmeAdminCommands.SetFeatures(NvmeFeatureId.KeepAliveTimer, 150))).Cqe.IsSuccess);
        Assert.Equal(200u, admin.Controller.KeepAliveTimeout);
        var done = new TaskCompletionSource();
        admin.Controller.Terminated.Register(() => done.TrySetResult());
        await done.Task.WaitAsync(TimeSpan.FromSeconds(30));
        Assert.Contains("keep-alive", admin.Controller.TerminationReason, StringComparison.Ordinal);
        Assert.True(io.Closed.IsCancellationRequested);
        Assert.True(admin.Closed.IsCancellationRequested);
        Assert.Empty(sub.Controllers);
        Assert.Equal(1, target.UnsafeShutdowns); // the never-enabled association above does not count
    }

    [Fact]
    public async Task Cid_in_flight_is_a_conflict_and_aer_limit_is_enforced()
    {
        using var target = Core.Target(out _, new NvmeTargetOptions { MaxAsyncEventRequests = 2 });
        var admin = Core.Admin(target);
        var aer = NvmeAdminCommands.AsyncEventRequest();
        aer.Cid = 5;
        var pending = admin.ProcessAsync(aer, default, default).AsTask();
        var ka = NvmeAdminCommands.KeepAlive();
        ka.Cid = 5;
        Core.AssertStatus((await Core.Run(admin, ka)).Cqe, NvmeStatusCodeType.Generic, NvmeStatusNames.CommandIdConflict);
        aer.Cid = 6;
        var pending2 = admin.ProcessAsync(aer, default, default).AsTask();
        aer.Cid = 7;
        Core.AssertStatus((await Core.Run(admin, aer)).Cqe, NvmeStatusCodeType.CommandSpecific, NvmeStatusNames.AsyncEventRequestLimitExceeded);
        Assert.False(pending.IsCompleted);
        Assert.False(pending2.IsCompleted);
        admin.Dispose();
        var aborted = await pending.WaitAsync(TimeSpan.FromSeconds(15));
        Assert.False(aborted.Completion.IsSuccess);
    }
}

public class ControllerAdminCommandTests
{
    [Fact]
    public async Task Identify_controller_reports_what_the_target_is()
    {
        using var target = Core.Target(out var sub);
        var admin = Core.Admin(target);
        var (cqe, data) = await Core.Run(admin, NvmeAdminCommands.Identify(NvmeIdentifyCns.Controller), 4096);
        Assert.True(cqe.IsSuccess);
        Assert.True(NvmeIdentifyController.TryRead(data, out var id));
        Assert.Equal(admin.Controller.Cntlid, id.Cntlid);
        Assert.Equal(Core.SubNqn, id.Subnqn);
        Assert.Equal(sub.SerialNumber, id.Sn);
        Assert.Equal("NvmePS Fabrics Target", id.Mn);
        Assert.Equal(5, id.Mdts); // 128 KiB = 4 KiB << 5
        Assert.Equal((64u + 8192u) / 16u, id.Ioccsz);
        Assert.Equal(1u, id.Iorcsz);
        Assert.Equal(0x00100001u, id.Sgls);
        Assert.Equal(NvmeIdentifyController.ControllerTypeIo, id.Cntrltype);
        Assert.Equal(0x66, id.Sqes);
        Assert.Equal(0x44, id.Cqes);
        Assert.Equal(1024u, id.Nn);
        Assert.Equal(0x000D, id.Oncs); // Compare, Dataset Management, Write Zeroes
        Assert.Equal(0x00020000u, id.Ver);
        Assert.Equal(1, id.Kas);
        Assert.Equal(3, id.Aerl);
        Assert.Equal(63, id.Elpe);

        // Wrong transfer length for Identify.
        Core.AssertStatus((await Core.Run(admin, NvmeAdminCommands.Identify(NvmeIdentifyCns.Controller), 512)).Cqe,
            NvmeStatusCodeType.Generic, NvmeStatusNames.DataSglLengthInvalid);
        Core.AssertStatus((await Core.Run(admin, NvmeAdminCommands.Identify(0x55), 4096)).Cqe,
            NvmeStatusCodeType.Generic, NvmeStatusNames.InvalidFieldInCommand);
        Core.AssertStatus((await Core.Run(admin, new NvmeCommand { Opcode = 0xC5 })).Cqe,
            NvmeStatusCodeType.Generic, NvmeStatusNames.InvalidCommandOpcode);
    }

    [Fact]
    public async Task Identify_namespaces_lists_and_descriptors()
    {
        using var target = Core.Target(out var sub);
        var uuid = Guid.Parse("0f0e0d0c-0b0a-0908-0706-050403020100");
        sub.AddMemoryNamespace(8 << 20, 4096, uuid: uuid);
        sub.AddMemoryNamespace(1 << 20, 512, nsid: 7);
        var admin = Core.Admin(target);

        var (cqe, data) = await Core.Run(admin, NvmeAdminCommands.Identify(NvmeIdentifyCns.Namespace, nsid: 1), 4096);
        Assert.True(cqe.IsSuccess);
        Assert.True(NvmeIdentifyNamespace.TryRead(data, out var ns));
        Assert.Equal(2048UL, ns.Nsze);
        Assert.Equal(4096, ns.BlockSize);
        Assert.Equal(uuid.ToByteArray(bigEndian: true), ns.Nguid);
        Assert.Equal(0UL, ns.Nuse); // nothing written yet (thin)
        Assert.Equal(1, ns.Nsfeat & 1);

        var inactive = await Core.Run(admin, NvmeAdminCommands.Identify(NvmeIdentifyCns.Namespace, nsid: 3), 4096);
        Assert.True(inactive.Cqe.IsSuccess);
        Assert.All(inactive.Data, b => Assert.Equal(0, b));
        Core.AssertStatus((await Core.Run(admin, NvmeAdminCommands.Identify(NvmeIdentifyCns.Namespace, nsid: 0), 4096)).Cqe,
            NvmeStatusCodeType.Generic, NvmeStatusNames.InvalidNamespaceOrFormat);
        Core.AssertStatus((await Core.Run(admin, NvmeAdminCommands.Identify(NvmeIdentifyCns.Namespace, nsid: 5000), 4096)).Cqe,
            NvmeStatusCodeType.Generic, NvmeStatusNames.InvalidNamespaceOrFormat);

        var list = await Core.Run(admin, NvmeAdminCommands.Identify(NvmeIdentifyCns.ActiveNamespaceIdList, nsid: 0), 4096);
        Assert.Equal(new uint[] { 1, 7 }, NvmeNamespaceList.Read(list.Data));
        var after = await Core.Run(admin, NvmeAdminCommands.Identify(NvmeIdentifyCns.ActiveNamespaceIdList, nsid: 1), 4096);
        Assert.Equal(new uint[] { 7 }, NvmeNamespaceList.Read(after.Data));

        var desc = await Core.Run(admin, NvmeAdminCommands.Identify(NvmeIdentifyCns.NamespaceIdDescriptorList, nsid: 1), 4096);
        Assert.True(NvmeNamespaceIdDescriptor.TryReadList(desc.Data, out var ds));
        Assert.Contains(ds, d => d.Nidt == NvmeNamespaceIdType.Uuid && d.Nid.SequenceEqual(uuid.ToByteArray(bigEndian: true)));
        Assert.Contains(ds, d => d.Nidt == NvmeNamespaceIdType.Csi && d.Nid[0] == 0);
        Core.AssertStatus((await Core.Run(admin, NvmeAdminCommands.Identify(NvmeIdentifyCns.NamespaceIdDescriptorList, nsid: 2), 4096)).Cqe,
            NvmeStatusCodeType.Generic, NvmeStatusNames.InvalidNamespaceOrFormat);

        // The I/O Command Set specific forms a Linux host uses with an NVMe 2.0 controller (CSI 0, NVM).
        var csCtrl = await Core.Run(admin, NvmeAdminCommands.Identify(NvmeIdentifyCns.CommandSetController, csi: 0), 4096);
        Assert.True(csCtrl.Cqe.IsSuccess);
        Assert.All(csCtrl.Data, b => Assert.Equal(0, b));
        Core.AssertStatus((await Core.Run(admin, NvmeAdminCommands.Identify(NvmeIdentifyCns.CommandSetController, csi: 2), 4096)).Cqe,
            NvmeStatusCodeType.Generic, NvmeStatusNames.InvalidFieldInCommand);
        Assert.True((await Core.Run(admin, NvmeAdminCommands.Identify(NvmeIdentifyCns.CommandSetNamespace, nsid: 7), 4096)).Cqe.IsSuccess);
        Core.AssertStatus((await Core.Run(admin, NvmeAdminCommands.Identify(NvmeIdentifyCns.CommandSetNamespace, nsid: 3), 4096)).Cqe,
            NvmeStatusCodeType.Generic, NvmeStatusNames.InvalidNamespaceOrFormat);
        var csList = await Core.Run(admin, NvmeAdminCommands.Identify(NvmeIdentifyCns.CommandSetActiveNamespaceIdList, nsid: 0), 4096);
        Assert.Equal(new uint[] { 1, 7 }, NvmeNamespaceList.Read(csList.Data));
        var zoned = await Core.Run(admin, NvmeAdminCommands.Identify(NvmeIdentifyCns.CommandSetActiveNamespaceIdList, nsid: 0, csi: 2), 4096);
        Assert.Empty(NvmeNamespaceList.Read(zoned.Data));
    }

    [Fact]
    public async Task Features_number_of_queues_kato_aec_temperature_host_id()
    {
        using var target = Core.Target(out _, new NvmeTargetOptions { MaxIoQueues = 4 });
        var admin = Core.Admin(target);
        var nq = await Core.Run(admin, NvmeAdminCommands.SetFeatures(NvmeFeatureId.NumberOfQueues, new NvmeNumberOfQueues(16, 16).ToDword()));
        Assert.Equal(new NvmeNumberOfQueues(4, 4), NvmeNumberOfQueues.FromDword(nq.Cqe.Dw0));
        var small = await Core.Run(admin, NvmeAdminCommands.SetFeatures(NvmeFeatureId.NumberOfQueues, new NvmeNumberOfQueues(2, 3).ToDword()));
        Assert.Equal(new NvmeNumberOfQueues(2, 2), NvmeNumberOfQueues.FromDword(small.Cqe.Dw0));
        var cqe3 = target.Connect(Core.ConnectSqe(3, 15), Core.ConnectBytes(admin.Controller.Cntlid), null, out _);
        Assert.Equal(ConnectCommand.QidOffset, ConnectResponse.GetInvalidParameterOffset(cqe3));
        Core.Io(target, admin, 2);
        // Queues exist now: the count is fixed.
        Core.AssertStatus((await Core.Run(admin, NvmeAdminCommands.SetFeatures(NvmeFeatureId.NumberOfQueues, 0))).Cqe,
            NvmeStatusCodeType.Generic, NvmeStatusNames.CommandSequenceError);

        Assert.True((await Core.Run(admin, NvmeAdminCommands.SetFeatures(NvmeFeatureId.KeepAliveTimer, 1234))).Cqe.IsSuccess);
        Assert.Equal(1300u, (await Core.Run(admin, NvmeAdminCommands.GetFeatures(NvmeFeatureId.KeepAliveTimer))).Cqe.Dw0);
        Assert.True((await Core.Run(admin, NvmeAdminCommands.SetFeatures(NvmeFeatureId.AsynchronousEventConfiguration, 0xFFFFFFFF))).Cqe.IsSuccess);
        Assert.Equal(0x1FFu, (await Core.Run(admin, NvmeAdminCommands.GetFeatures(NvmeFeatureId.AsynchronousEventConfiguration))).Cqe.Dw0);

        var threshold = new NvmeTemperatureThreshold(350, 1);
        Assert.True((await Core.Run(admin, NvmeAdminCommands.SetFeatures(NvmeFeatureId.TemperatureThreshold, threshold.ToDword()))).Cqe.IsSuccess);
        Assert.Equal(350u, (await Core.Run(admin, NvmeAdminCommands.GetFeatures(NvmeFeatureId.TemperatureThreshold, cdw11: (threshold with { Tmpth = 0 }).ToDword()))).Cqe.Dw0);
        Assert.Equal(343u, (await Core.Run(admin, NvmeAdminCommands.GetFeatures(NvmeFeatureId.TemperatureThreshold, NvmeFeatureSelect.Default, cdw11: (threshold with { Tmpth = 0 }).ToDword()))).Cqe.Dw0);

        var hostId = await Core.Run(admin, NvmeAdminCommands.GetFeatures(NvmeFeatureId.HostIdentifier, cdw11: 1), 16);
        Assert.True(hostId.Cqe.IsSuccess);
        Assert.Equal(Core.HostId.ToByteArray(bigEndian: true), hostId.Data);
        Core.AssertStatus((await Core.Run(admin, NvmeAdminCommands.SetFeatures(NvmeFeatureId.VolatileWriteCache, 1, save: true))).Cqe,
            NvmeStatusCodeType.CommandSpecific, 0x0D);
        Core.AssertStatus((await Core.Run(admin, NvmeAdminCommands.GetFeatures(0x7E))).Cqe, NvmeStatusCodeType.Generic, NvmeStatusNames.InvalidFieldInCommand);
        Assert.Equal(4u, (await Core.Run(admin, NvmeAdminCommands.GetFeatures(NvmeFeatureId.KeepAliveTimer, NvmeFeatureSelect.SupportedCapabilities))).Cqe.Dw0);
    }

    [Fact]
    public async Task Namespace_changes_raise_one_aen_until_the_changed_list_is_read()
    {
        using var target = Core.Target(out var sub);
        var admin = Core.Admin(target);
        Assert.True((await Core.Run(admin, NvmeAdminCommands.SetFeatures(NvmeFeatureId.AsynchronousEventConfiguration, (uint)NvmeAsyncEventConfig.NamespaceAttributeNotices))).Cqe.IsSuccess);
        var aer = NvmeAdminCommands.AsyncEventRequest();
        aer.Cid = 40;
        var pending = admin.ProcessAsync(aer, default, default).AsTask();
        Assert.False(pending.IsCompleted);

        sub.AddMemoryNamespace(1 << 20, nsid: 3);
        var completed = await pending.WaitAsync(TimeSpan.FromSeconds(15));
        Assert.True(completed.Completion.IsSuccess);
        Assert.Equal(40, completed.Completion.Cid);
        Assert.Equal(new NvmeAsyncEvent(NvmeAsyncEventType.Notice, 0, NvmeLogPageId.ChangedNamespaceList), NvmeAsyncEvent.FromDword(completed.Completion.Dw0));

        // A second change before the log is read raises nothing new.
        aer.Cid = 41;
        var second = admin.ProcessAsync(aer, default, default).AsTask();
        sub.AddMemoryNamespace(1 << 20, nsid: 9);
        await Task.Delay(50);
        Assert.False(second.IsCompleted);

        var log = await Core.Run(admin, NvmeAdminCommands.GetLogPage(NvmeLogPageId.ChangedNamespaceList, 4096), 4096);
        Assert.Equal(new uint[] { 3, 9 }, NvmeNamespaceList.Read(log.Data));
        var again = await Core.Run(admin, NvmeAdminCommands.GetLogPage(NvmeLogPageId.ChangedNamespaceList, 4096), 4096);
        Assert.Empty(NvmeNamespaceList.Read(again.Data));

        sub.RemoveNamespace(9);
        var third = await second.WaitAsync(TimeSpan.FromSeconds(15));
        Assert.Equal(NvmeLogPageId.ChangedNamespaceList, NvmeAsyncEvent.FromDword(third.Completion.Dw0).LogPage);
    }

    [Fact]
    public async Task Get_log_page_offsets_lengths_and_unknown_pages()
    {
        using var target = Core.Target(out var sub);
        var admin = Core.Admin(target);
        var fw = await Core.Run(admin, NvmeAdminCommands.GetLogPage(NvmeLogPageId.FirmwareSlot, 512), 512);
        Assert.True(NvmeFirmwareSlotLog.TryRead(fw.Data, out var slots));
        Assert.Equal(1, slots.ActiveSlot);
        Assert.Equal("0.1.0", slots.Frs[0]);
        // A slice of the same page at an offset.
        var part = await Core.Run(admin, NvmeAdminCommands.GetLogPage(NvmeLogPageId.FirmwareSlot, 8, offset: 8), 8);
        Assert.Equal("0.1.0   "u8.ToArray(), part.Data);
        Core.AssertStatus((await Core.Run(admin, NvmeAdminCommands.GetLogPage(NvmeLogPageId.FirmwareSlot, 4, offset: 1024), 4)).Cqe,
            NvmeStatusCodeType.Generic, NvmeStatusNames.InvalidFieldInCommand);
        var supported = await Core.Run(admin, NvmeAdminCommands.GetLogPage(NvmeLogPageId.SupportedLogPages, 1024), 1024);
        Assert.Equal(new[] { 0, 1, 2, 3, 4, 6, 0x81 }, Enumerable.Range(0, 256).Where(l => (supported.Data[l * 4] & 1) != 0).ToArray());
        Core.AssertStatus((await Core.Run(admin, NvmeAdminCommands.GetLogPage(0x42, 512), 512)).Cqe,
            NvmeStatusCodeType.CommandSpecific, NvmeStatusNames.InvalidLogPage);
        Core.AssertStatus((await Core.Run(admin, NvmeAdminCommands.GetLogPage(NvmeLogPageId.Discovery, 1024), 1024)).Cqe,
            NvmeStatusCodeType.CommandSpecific, NvmeStatusNames.InvalidLogPage);
        Core.AssertStatus((await Core.Run(admin, NvmeAdminCommands.GetLogPage(NvmeLogPageId.SmartHealth, 512), 256)).Cqe,
            NvmeStatusCodeType.Generic, NvmeStatusNames.DataSglLengthInvalid);
        Core.AssertStatus((await Core.Run(admin, NvmeAdminCommands.GetLogPage(NvmeLogPageId.SmartHealth, 512, nsid: 77), 512)).Cqe,
            NvmeStatusCodeType.Generic, NvmeStatusNames.InvalidNamespaceOrFormat);
    }
}

public class ControllerIoTests
{
    private static byte[] Random(int n, int seed)
    {
        var b = new byte[n];
        new Random(seed).NextBytes(b);
        return b;
    }

    [Fact]
    public async Task Read_write_round_trip_and_bounds()
    {
        using var target = Core.Target(out var sub);
        sub.AddMemoryNamespace(4 << 20, 512);
        var admin = Core.Admin(target);
        var io = Core.Io(target, admin);

        var data = Random(8 * 512, 1);
        Assert.True((await Core.Run(io, NvmeIoCommands.Write(1, 100, 8), write: data)).Cqe.IsSuccess);
        var read = await Core.Run(io, NvmeIoCommands.Read(1, 100, 8), 8 * 512);
        Assert.True(read.Cqe.IsSuccess);
        Assert.Equal(1, read.Cqe.Sqid);
        Assert.Equal(data, read.Data);
        var shifted = await Core.Run(io, NvmeIoCommands.Read(1, 101, 1), 512);
        Assert.Equal(data[512..1024], shifted.Data);

        // Last block ok; one past the end is LBA Out of Range; NSID 2 is Invalid Namespace.
        Assert.True((await Core.Run(io, NvmeIoCommands.Read(1, 8191, 1), 512)).Cqe.IsSuccess);
        var oob = await Core.Run(io, NvmeIoCommands.Read(1, 8191, 2), 1024);
        Core.AssertStatus(oob.Cqe, NvmeStatusCodeType.Generic, NvmeStatusNames.LbaOutOfRange);
        Assert.True(oob.Cqe.Status.Dnr);
        Core.AssertStatus((await Core.Run(io, NvmeIoCommands.Read(1, ulong.MaxValue, 1), 512)).Cqe, NvmeStatusCodeType.Generic, NvmeStatusNames.LbaOutOfRange);
        Core.AssertStatus((await Core.Run(io, NvmeIoCommands.Write(2, 0, 1), write: new byte[512])).Cqe, NvmeStatusCodeType.Generic, NvmeStatusNames.InvalidNamespaceOrFormat);
        Core.AssertStatus((await Core.Run(io, NvmeIoCommands.Write(1, 0, 2), write: new byte[512])).Cqe, NvmeStatusCodeType.Generic, NvmeStatusNames.DataSglLengthInvalid);
        Core.AssertStatus((await Core.Run(io, NvmeIoCommands.Read(1, 0, 512), 512 * 512)).Cqe, NvmeStatusCodeType.Generic, NvmeStatusNames.InvalidFieldInCommand); // over MDTS
        Core.AssertStatus((await Core.Run(io, NvmeAdminCommands.Identify(1), 4096)).Cqe, NvmeStatusCodeType.Generic, NvmeStatusNames.InvalidCommandOpcode);

        // Write Zeroes and Dataset Management deallocate read back as zeroes.
        Assert.True((await Core.Run(io, NvmeIoCommands.WriteZeroes(1, 102, 2))).Cqe.IsSuccess);
        var z = await Core.Run(io, NvmeIoCommands.Read(1, 100, 8), 8 * 512);
        Assert.Equal(data[..1024], z.Data[..1024]);
        Assert.All(z.Data[1024..2048], b => Assert.Equal(0, b));
        Assert.Equal(data[2048..], z.Data[2048..]);

        var ranges = new byte[32];
        new NvmeDsmRange(0, 1, 100).Write(ranges);
        new NvmeDsmRange(0, 1, 107).Write(ranges.AsSpan(16));
        Assert.True((await Core.Run(io, NvmeIoCommands.DatasetManagement(1, 2), write: ranges)).Cqe.IsSuccess);
        var d = await Core.Run(io, NvmeIoCommands.Read(1, 100, 8), 8 * 512);
        Assert.All(d.Data[..512], b => Assert.Equal(0, b));
        Assert.Equal(data[512..1024], d.Data[512..1024]);
        Assert.All(d.Data[3584..], b => Assert.Equal(0, b));
        new NvmeDsmRange(0, 2, 8191).Write(ranges.AsSpan(16));
        Core.AssertStatus((await Core.Run(io, NvmeIoCommands.DatasetManagement(1, 2), write: ranges)).Cqe, NvmeStatusCodeType.Generic, NvmeStatusNames.LbaOutOfRange);
        Assert.Equal(data[512..1024], (await Core.Run(io, NvmeIoCommands.Read(1, 101, 1), 512)).Data); // the bad request changed nothing

        Assert.True((await Core.Run(io, NvmeIoCommands.Flush(1))).Cqe.IsSuccess);
        Assert.True((await Core.Run(io, NvmeIoCommands.Flush(0xFFFFFFFF))).Cqe.IsSuccess);
        Core.AssertStatus((await Core.Run(io, NvmeIoCommands.Flush(4))).Cqe, NvmeStatusCodeType.Generic, NvmeStatusNames.InvalidNamespaceOrFormat);

        // SMART counts what happened; the error log has the newest failure first.
        var smart = await Core.Run(admin, NvmeAdminCommands.GetLogPage(NvmeLogPageId.SmartHealth, 512), 512);
        Assert.True(NvmeSmartLog.TryRead(smart.Data, out var s));
        Assert.Equal((UInt128)1, s.DataUnitsWritten); // 8 blocks: rounded up to one thousand-unit
        Assert.Equal((UInt128)2, s.HostWriteCommands); // Write and Write Zeroes that succeeded (DSM is not a write command)
        Assert.Equal((UInt128)6, s.HostReadCommands);
        Assert.Equal((UInt128)8, s.NumberOfErrorLogEntries); // the eight failures above
        var err = await Core.Run(admin, NvmeAdminCommands.GetLogPage(NvmeLogPageId.ErrorInformation, 128), 128);
        Assert.True(NvmeErrorLogEntry.TryRead(err.Data, out var newest));
        Assert.True(NvmeErrorLogEntry.TryRead(err.Data.AsSpan(64), out var older));
        Assert.Equal(newest.ErrorCount - 1, older.ErrorCount);
        Assert.Equal(NvmeStatusNames.InvalidNamespaceOrFormat, newest.Status.Sc);
        Assert.Equal(4u, newest.Nsid);
        Assert.Equal(1, newest.Sqid);
    }

    [Fact]
    public async Task File_backed_namespace_persists_to_the_file()
    {
        string path = Path.Combine(Path.GetTempPath(), $"nvmeps-ns-{Guid.NewGuid():N}.img");
        try
        {
            var data = Random(4096 * 3, 7);
            using (var target = Core.Target(out var sub))
            {
                sub.AddFileNamespace(path, 1 << 20, 4096);
                var admin = Core.Admin(target);
                var io = Core.Io(target, admin);
                Assert.True((await Core.Run(io, NvmeIoCommands.Write(1, 10, 3, fua: true), write: data)).Cqe.IsSuccess);
                Assert.Equal(data, (await Core.Run(io, NvmeIoCommands.Read(1, 10, 3), 3 * 4096)).Data);
                Core.AssertStatus((await Core.Run(io, NvmeIoCommands.Read(1, 256, 1), 4096)).Cqe, NvmeStatusCodeType.Generic, NvmeStatusNames.LbaOutOfRange);
            }

            // The file itself is the oracle.
            var file = await File.ReadAllBytesAsync(path);
            Assert.Equal(1 << 20, file.Length);
            Assert.Equal(data, file[(10 * 4096)..(13 * 4096)]);

            using var target2 = Core.Target(out var sub2);
            sub2.AddFileNamespace(path, readOnly: true, blockSize: 4096);
            var admin2 = Core.Admin(target2);
            var io2 = Core.Io(target2, admin2);
            Assert.Equal(data, (await Core.Run(io2, NvmeIoCommands.Read(1, 10, 3), 3 * 4096)).Data);
            Core.AssertStatus((await Core.Run(io2, NvmeIoCommands.Write(1, 0, 1), write: new byte[4096])).Cqe, NvmeStatusCodeType.Generic, 0x20);
        }
        finally
        {
            File.Delete(path);
        }
    }
}

public class ControllerDiscoveryTests
{
    [Fact]
    public async Task Discovery_log_lists_allowed_subsystems_per_port_and_signals_changes()
    {
        using var target = Core.Target(out _);
        var hidden = target.AddSubsystem("nqn.2026-01.io.nvmeps:hidden");
        target.AddPort(new NvmeTargetPort(2, TransportType.Tcp, AddressFamily.IPv6, "::1", "4421"));

        var cqe = target.Connect(Core.ConnectSqe(0), Core.ConnectBytes(sub: FabricsCommand.DiscoveryNqn,
            host: "nqn.2014-08.org.nvmexpress:uuid:aaaaaaaa-2222-3333-4444-555555555555"), null, out var other);
        Assert.True(cqe.IsSuccess); // any host may use discovery
        other!.Dispose();

        var admin = Core.Admin(target, enable: false);
        admin.Dispose();
        var dcqe = target.Connect(Core.ConnectSqe(0), Core.ConnectBytes(sub: FabricsCommand.DiscoveryNqn), null, out var disc);
        Assert.True(dcqe.IsSuccess);
        Assert.True(Core.SetCc(disc!, ControllerConfiguration.Create(en: true, iosqes: 0, iocqes: 0)).IsSuccess);
        Assert.True(disc!.Controller.Status.Rdy);

        var id = await Core.Run(disc, NvmeAdminCommands.Identify(NvmeIdentifyCns.Controller), 4096);
        Assert.True(NvmeIdentifyController.TryRead(id.Data, out var ident));
        Assert.Equal(NvmeIdentifyController.ControllerTypeDiscovery, ident.Cntrltype);
        Assert.Equal(FabricsCommand.DiscoveryNqn, ident.Subnqn);
        Assert.Equal(0u, ident.Nn);
        Core.AssertStatus((await Core.Run(disc, NvmeAdminCommands.Identify(NvmeIdentifyCns.Namespace, nsid: 1), 4096)).Cqe,
            NvmeStatusCodeType.Generic, NvmeStatusNames.InvalidFieldInCommand);

        var header = await Core.Run(disc, NvmeAdminCommands.GetLogPage(NvmeLogPageId.Discovery, 1024, nsid: 0), 1024);
        Assert.True(DiscoveryLog.TryReadHeader(header.Data, out ulong genctr, out ulong numrec, out _));
        Assert.Equal(4UL, numrec); // per port: the allowed subsystem + the current discovery subsystem
        Assert.Equal(target.DiscoveryGenerationCounter, genctr);
        int size = (int)DiscoveryLog.SizeFor(numrec);
        var full = await Core.Run(disc, NvmeAdminCommands.GetLogPage(NvmeLogPageId.Discovery, size, nsid: 0), size);
        Assert.True(DiscoveryLog.TryRead(full.Data, out var log));
        Assert.DoesNotContain(log!.Entries, e => e.SubNqn == hidden.Nqn);
        var e0 = log.Entries[0];
        Assert.Equal(TransportType.Tcp, e0.Trtype);
        Assert.Equal(AddressFamily.IPv4, e0.Adrfam);
        Assert.Equal(DiscoverySubsystemType.Nvm, e0.Subtype);
        Assert.Equal(Core.SubNqn, e0.SubNqn);
        Assert.Equal("127.0.0.1", e0.Traddr);
        Assert.Equal("4420", e0.Trsvcid);
        Assert.Equal(1, e0.PortId);
        Assert.Equal(0xFFFF, e0.Cntlid);
        Assert.Equal(DiscoverySubsystemType.CurrentDiscovery, log.Entries[1].Subtype);
        Assert.Equal("::1", log.Entries[2].Traddr);
        Assert.Equal(AddressFamily.IPv6, log.Entries[2].Adrfam);

        // DLPCN: allowing this host on the hidden subsystem changes the log and raises one AEN.
        Assert.True((await Core.Run(disc, NvmeAdminCommands.SetFeatures(NvmeFeatureId.AsynchronousEventConfiguration, (uint)NvmeAsyncEventConfig.DiscoveryLogPageChangeNotices))).Cqe.IsSuccess);
        var pending = disc.ProcessAsync(NvmeAdminCommands.AsyncEventRequest(), default, default).AsTask();
        hidden.AllowHost(Core.HostNqn);
        var aen = await pending.WaitAsync(TimeSpan.FromSeconds(15));
        Assert.Equal(new NvmeAsyncEvent(NvmeAsyncEventType.Notice, NvmeAsyncEvent.NoticeDiscoveryLogPageChange, NvmeLogPageId.Discovery), NvmeAsyncEvent.FromDword(aen.Completion.Dw0));
        var header2 = await Core.Run(disc, NvmeAdminCommands.GetLogPage(NvmeLogPageId.Discovery, 1024, nsid: 0), 1024);
        Assert.True(DiscoveryLog.TryReadHeader(header2.Data, out ulong genctr2, out ulong numrec2, out _));
        Assert.True(genctr2 > genctr);
        Assert.Equal(6UL, numrec2);

        // Discovery controllers have no I/O queues.
        var io = target.Connect(Core.ConnectSqe(1, 15), Core.ConnectBytes(disc.Controller.Cntlid, sub: FabricsCommand.DiscoveryNqn), null, out _);
        Assert.Equal(ConnectCommand.QidOffset, ConnectResponse.GetInvalidParameterOffset(io));
    }
}
