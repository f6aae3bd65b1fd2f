using NvmePS.Engine;
using NvmePS.Engine.Admin;
using NvmePS.Engine.Fabrics.Controller;

namespace NvmePS.Engine.Tests.Fabrics.Controller;

/// <summary>Namespace Management, Namespace Attachment and Format NVM on the controller core, through the shared Admin client.</summary>
public class NamespaceManagementTests
{
    private const string OtherHost = "nqn.2014-08.org.nvmexpress:uuid:99999999-2222-3333-4444-555555555555";
    private static readonly Guid OtherHostId = Guid.Parse("99999999-2222-3333-4444-555555555555");

    private static async Task<(NvmeTarget Target, NvmeSubsystem Subsystem, NvmeLocalAdminTransport Transport, NvmeAdminClient Client)> PoolAsync(long capacity = 64 << 20)
    {
        var target = Core.Target(out var sub);
        sub.NamespaceCapacity = capacity;
        var transport = await NvmeLocalAdminTransport.ConnectAsync(target, Core.SubNqn, Core.HostNqn, Core.HostId);
        return (target, sub, transport, new NvmeAdminClient(transport));
    }

    private static NvmeIdentifyNamespace Settings(ulong blocks, byte flbas = 0, byte nmic = 1) =>
        new() { Nsze = blocks, Ncap = blocks, Flbas = flbas, Nmic = nmic };

    private static async Task<NvmeStatus> StatusOf(Func<Task> action) =>
        (await Assert.ThrowsAsync<NvmeStatusException>(action)).Completion.Status;

    [Fact]
    public async Task A_created_namespace_is_allocated_but_inactive_until_attached_and_takes_its_size_from_the_pool()
    {
        var (target, sub, transport, client) = await PoolAsync();
        using var _ = target;
        using var __ = transport;
        var before = await client.IdentifyControllerAsync();
        Assert.Equal(0x000A, before.Oacs & 0x000A);
        Assert.Equal((UInt128)(64 << 20), before.Tnvmcap);
        Assert.Equal((UInt128)(64 << 20), before.Unvmcap);
        await client.SetAsyncEventConfigAsync(NvmeAsyncEventConfig.NamespaceAttributeNotices);

        uint nsid = await client.CreateNamespaceAsync(Settings(8192, flbas: 0));
        Assert.Equal(1u, nsid);
        Assert.Equal((UInt128)((64 << 20) - (8192 * 512)), (await client.IdentifyControllerAsync()).Unvmcap);
        Assert.Empty(await client.GetAllActiveNamespaceIdsAsync());
        Assert.Equal(0UL, (await client.IdentifyNamespaceAsync(nsid)).Nsze);
        var allocated = NvmeNamespaceList.Read(await client.IdentifyAsync(NvmeIdentifyCns.AllocatedNamespaceIdList));
        Assert.Equal(new uint[] { 1 }, allocated);
        Assert.True(NvmeIdentifyNamespace.TryRead(await client.IdentifyAsync(NvmeIdentifyCns.AllocatedNamespace, nsid), out var alloc));
        Assert.Equal(8192UL, alloc.Nsze);
        Assert.Equal(512, alloc.BlockSize);
        Assert.True(NvmeControllerList.TryRead(await client.IdentifyAsync(NvmeIdentifyCns.NamespaceAttachedControllerList, nsid), out var none));
        Assert.Empty(none);
        Assert.True(NvmeControllerList.TryRead(await client.IdentifyAsync(NvmeIdentifyCns.ControllerList), out var all));
        Assert.Equal(new[] { transport.Controller.Cntlid }, all);

        // Attaching makes it active on this controller, with a Namespace Attribute Changed notice and the NSID in the log.
        var aer = client.AsyncEventRequestAsync();
        await client.AttachNamespaceAsync(nsid, [transport.Controller.Cntlid]);
        var e = await aer.WaitAsync(TimeSpan.FromSeconds(10));
        Assert.Equal(NvmeLogPageId.ChangedNamespaceList, e.LogPage);
        Assert.Equal(new uint[] { 1 }, await client.GetChangedNamespaceListAsync());
        Assert.Equal(new uint[] { 1 }, (await client.GetAllActiveNamespaceIdsAsync()).ToArray());
        Assert.Equal(8192UL, (await client.IdentifyNamespaceAsync(nsid)).Nsze);
        Assert.True(NvmeControllerList.TryRead(await client.IdentifyAsync(NvmeIdentifyCns.NamespaceAttachedControllerList, nsid), out var attached));
        Assert.Equal(new[] { transport.Controller.Cntlid }, attached);

        // Detach, then delete: the pool gets its capacity back.
        await client.DetachNamespaceAsync(nsid, [transport.Controller.Cntlid]);
        Assert.Empty(await client.GetAllActiveNamespaceIdsAsync());
        await client.DeleteNamespaceAsync(nsid);
        Assert.Null(sub.GetNamespace(nsid));
        Assert.Equal((UInt128)(64 << 20), (await client.IdentifyControllerAsync()).Unvmcap);
    }

    [Fact]
    public async Task An_attachment_follows_the_host_to_its_next_controller_and_not_to_other_hosts()
    {
        var (target, sub, transport, client) = await PoolAsync();
        using var _ = target;
        sub.AllowHost(OtherHost);
        uint nsid = await client.CreateNamespaceAsync(Settings(1024, flbas: 1));
        await client.AttachNamespaceAsync(nsid, [transport.Controller.Cntlid]);
        transport.Dispose();

        using var again = await NvmeLocalAdminTransport.ConnectAsync(target, Core.SubNqn, Core.HostNqn, Core.HostId);
        var next = new NvmeAdminClient(again);
        Assert.Equal(new uint[] { nsid }, (await next.GetAllActiveNamespaceIdsAsync()).ToArray());
        Assert.Equal(4096, (await next.IdentifyNamespaceAsync(nsid)).BlockSize);

        using var other = await NvmeLocalAdminTransport.ConnectAsync(target, Core.SubNqn, OtherHost, OtherHostId);
        var otherClient = new NvmeAdminClient(other);
        Assert.Empty(await otherClient.GetAllActiveNamespaceIdsAsync());
        // I/O from the other host's controller is refused: the namespace is not active there.
        var cqe = target.Connect(Core.ConnectSqe(1, 127), Core.ConnectBytes(other.Controller.Cntlid, host: OtherHost, hostId: OtherHostId), null, out var io);
        Assert.True(cqe.IsSuccess, cqe.Status.ToString());
        var read = await Core.Run(io!, Local(new ReadWriteCommand(NvmeIoOpcode.Read, nsid, 0, 1).ToCommand(), 4096), 4096);
        Core.AssertStatus(read.Cqe, NvmeStatusCodeType.Generic, NvmeStatusNames.InvalidNamespaceOrFormat);
    }

    [Fact]
    public async Task Refusals_carry_the_status_the_specification_names()
    {
        var (target, sub, transport, client) = await PoolAsync(capacity: 1 << 20);
        using var _ = target;
        using var __ = transport;
        sub.AllowHost(OtherHost);
        ushort me = transport.Controller.Cntlid;

        Assert.Equal(NvmeStatusNames.NamespaceInsufficientCapacity, (await StatusOf(() => client.CreateNamespaceAsync(Settings(4096)))).Sc);
        Assert.Equal(NvmeStatusNames.InvalidFormat, (await StatusOf(() => client.CreateNamespaceAsync(Settings(16, flbas: 2)))).Sc);
        var thin = Settings(16);
        thin.Ncap = 8;
        Assert.Equal(NvmeStatusNames.ThinProvisioningNotSupported, (await StatusOf(() => client.CreateNamespaceAsync(thin))).Sc);
        Assert.Equal(NvmeStatusNames.InvalidFieldInCommand, (await StatusOf(() => client.CreateNamespaceAsync(Settings(0)))).Sc);

        uint nsid = await client.CreateNamespaceAsync(Settings(256, nmic: 0));
        Assert.Equal(NvmeStatusNames.NamespaceNotAttached, (await StatusOf(() => client.DetachNamespaceAsync(nsid, [me]))).Sc);
        Assert.Equal(NvmeStatusNames.ControllerListInvalid, (await StatusOf(() => client.AttachNamespaceAsync(nsid, [0x7777]))).Sc);
        Assert.Equal(NvmeStatusNames.ControllerListInvalid, (await StatusOf(() => client.AttachNamespaceAsync(nsid, []))).Sc);
        await client.AttachNamespaceAsync(nsid, [me]);
        Assert.Equal(NvmeStatusNames.NamespaceAlreadyAttached, (await StatusOf(() => client.AttachNamespaceAsync(nsid, [me]))).Sc);

        // NMIC 0: a private namespace cannot be attached to a second host's controller.
        using var other = await NvmeLocalAdminTransport.ConnectAsync(target, Core.SubNqn, OtherHost, OtherHostId);
        Assert.Equal(NvmeStatusNames.NamespaceIsPrivate, (await StatusOf(() => client.AttachNamespaceAsync(nsid, [other.Controller.Cntlid]))).Sc);
        Assert.Equal(NvmeStatusNames.InvalidNamespaceOrFormat, (await StatusOf(() => client.DeleteNamespaceAsync(77))).Sc);
        Assert.Equal(NvmeStatusNames.InvalidNamespaceOrFormat, (await StatusOf(() => client.AttachNamespaceAsync(77, [me]))).Sc);

        // The refusals changed nothing.
        Assert.Equal(new uint[] { nsid }, (await client.GetAllActiveNamespaceIdsAsync()).ToArray());
        Assert.Equal(256L * 512, sub.AllocatedCapacity);
    }

    [Fact]
    public async Task Without_a_capacity_pool_namespace_management_is_not_offered()
    {
        using var target = Core.Target(out var sub);
        sub.AddMemoryNamespace(1 << 20);
        using var transport = await NvmeLocalAdminTransport.ConnectAsync(target, Core.SubNqn, Core.HostNqn, Core.HostId);
        var client = new NvmeAdminClient(transport);
        Assert.Equal(0, (await client.IdentifyControllerAsync()).Oacs & 0x0008);
        Assert.Equal(NvmeStatusNames.InvalidCommandOpcode, (await StatusOf(() => client.CreateNamespaceAsync(Settings(16)))).Sc);
        Assert.Equal(NvmeStatusNames.InvalidCommandOpcode, (await StatusOf(() => client.AttachNamespaceAsync(1, [transport.Controller.Cntlid]))).Sc);
        Assert.Equal(NvmeStatusNames.InvalidFieldInCommand, (await StatusOf(() => client.IdentifyAsync(NvmeIdentifyCns.AllocatedNamespaceIdList))).Sc);
    }

    [Fact]
    public async Task Format_changes_the_lba_size_and_user_data_erase_zeroes_what_was_written()
    {
        using var target = Core.Target(out var sub);
        var ns = sub.AddMemoryNamespace(1 << 20, 512);
        using var transport = await NvmeLocalAdminTransport.ConnectAsync(target, Core.SubNqn, Core.HostNqn, Core.HostId);
        var client = new NvmeAdminClient(transport);
        var io = Core.Io(target, transport.Queue);
        byte[] pattern = Enumerable.Range(0, 4096).Select(i => (byte)(i * 7 + 1)).ToArray();
        var write = await Core.Run(io, Local(new ReadWriteCommand(NvmeIoOpcode.Write, 1, 8, 8).ToCommand(), 4096), write: pattern);
        Assert.True(write.Cqe.IsSuccess);
        await client.SetAsyncEventConfigAsync(NvmeAsyncEventConfig.NamespaceAttributeNotices);

        var id0 = await client.IdentifyNamespaceAsync(1);
        Assert.Equal(1, id0.Nlbaf);
        Assert.Equal(new[] { 512, 4096 }, id0.Lbaf.Select(f => 1 << f.Lbads).ToArray());

        // To 4096-byte blocks, keeping data: NSZE follows, and block 1 holds what 512-byte blocks 8..15 held.
        var aer = client.AsyncEventRequestAsync();
        await client.FormatNvmAsync(1, 1);
        Assert.Equal(NvmeLogPageId.ChangedNamespaceList, (await aer.WaitAsync(TimeSpan.FromSeconds(10))).LogPage);
        var id1 = await client.IdentifyNamespaceAsync(1);
        Assert.Equal(1, id1.Flbas & 0xF);
        Assert.Equal(256UL, id1.Nsze);
        Assert.Equal(4096, ns.BlockSize);
        var kept = await Core.Run(io, Local(new ReadWriteCommand(NvmeIoOpcode.Read, 1, 1, 1).ToCommand(), 4096), 4096);
        Assert.True(kept.Cqe.IsSuccess);
        Assert.Equal(pattern, kept.Data);
        var beyond = await Core.Run(io, Local(new ReadWriteCommand(NvmeIoOpcode.Read, 1, 256, 1).ToCommand(), 4096), 4096);
        Core.AssertStatus(beyond.Cqe, NvmeStatusCodeType.Generic, NvmeStatusNames.LbaOutOfRange);

        // Back to 512 with SES 001b: every block reads as zeroes.
        await client.FormatNvmAsync(1, 0, NvmeSecureErase.UserData);
        var erased = await Core.Run(io, Local(new ReadWriteCommand(NvmeIoOpcode.Read, 1, 8, 8).ToCommand(), 4096), 4096);
        Assert.True(erased.Cqe.IsSuccess);
        Assert.Equal(new byte[4096], erased.Data);
        Assert.Equal(2048UL, (await client.IdentifyNamespaceAsync(1)).Nsze);

        Assert.Equal(NvmeStatusNames.InvalidFormat, (await StatusOf(() => client.FormatNvmAsync(1, 2))).Sc);
        Assert.Equal(NvmeStatusNames.InvalidFormat, (await StatusOf(() => client.FormatNvmAsync(1, 0, pi: 1))).Sc);
        Assert.Equal(NvmeStatusNames.InvalidFieldInCommand, (await StatusOf(() => client.FormatNvmAsync(1, 0, NvmeSecureErase.Cryptographic))).Sc);
        Assert.Equal(NvmeStatusNames.InvalidNamespaceOrFormat, (await StatusOf(() => client.FormatNvmAsync(9, 0))).Sc);
    }

    [Fact]
    public async Task Compare_succeeds_on_equal_blocks_and_fails_with_compare_failure_on_one_different_byte()
    {
        using var target = Core.Target(out var sub);
        sub.AddMemoryNamespace(1 << 20, 512);
        using var transport = await NvmeLocalAdminTransport.ConnectAsync(target, Core.SubNqn, Core.HostNqn, Core.HostId);
        Assert.Equal(0x1, (await new NvmeAdminClient(transport).IdentifyControllerAsync()).Oncs & 0x1);
        var io = Core.Io(target, transport.Queue);
        byte[] data = Enumerable.Range(0, 2048).Select(i => (byte)(i * 5)).ToArray();
        Assert.True((await Core.Run(io, Local(new ReadWriteCommand(NvmeIoOpcode.Write, 1, 100, 4).ToCommand(), 2048), write: data)).Cqe.IsSuccess);

        var same = await Core.Run(io, Local(new ReadWriteCommand(NvmeIoOpcode.Compare, 1, 100, 4).ToCommand(), 2048), write: data);
        Assert.True(same.Cqe.IsSuccess, same.Cqe.Status.ToString());
        byte[] other = (byte[])data.Clone();
        other[1500] ^= 1;
        var differ = await Core.Run(io, Local(new ReadWriteCommand(NvmeIoOpcode.Compare, 1, 100, 4).ToCommand(), 2048), write: other);
        Core.AssertStatus(differ.Cqe, NvmeStatusCodeType.MediaAndDataIntegrity, NvmeStatusNames.CompareFailure);
        var beyond = await Core.Run(io, Local(new ReadWriteCommand(NvmeIoOpcode.Compare, 1, 2047, 4).ToCommand(), 2048), write: data);
        Core.AssertStatus(beyond.Cqe, NvmeStatusCodeType.Generic, NvmeStatusNames.LbaOutOfRange);
    }

    [Fact]
    public void The_management_commands_build_and_parse_through_one_record_each()
    {
        var format = new FormatNvmCommand(5, 0x23, NvmeSecureErase.UserData, 3, Pil: true, Mset: true);
        var sqe = format.ToCommand();
        Assert.Equal(0x3u | (1u << 4) | (3u << 5) | (1u << 8) | (1u << 9) | (2u << 12), sqe.Cdw10);
        Assert.True(FormatNvmCommand.TryRead(sqe, out var back));
        Assert.Equal(format, back);

        var sanitize = new SanitizeCommand(NvmeSanitizeAction.Overwrite, Ause: true, Owpass: 5, Oipbp: true, Ndas: true, Ovrpat: 0xDEADBEEF);
        Assert.True(SanitizeCommand.TryRead(sanitize.ToCommand(), out var s2));
        Assert.Equal(sanitize, s2);
        Assert.Equal(0x3u | 8 | (5u << 4) | (1u << 8) | (1u << 9), sanitize.ToCommand().Cdw10);

        var commit = new FirmwareCommitCommand(2, NvmeFirmwareCommitAction.ReplaceAndActivate, Bpid: true);
        Assert.Equal(2u | (1u << 3) | (1u << 31), commit.ToCommand().Cdw10);
        Assert.True(FirmwareCommitCommand.TryRead(commit.ToCommand(), out var c2));
        Assert.Equal(commit, c2);

        var download = FirmwareImageDownloadCommand.ForBytes(4096, 8192);
        Assert.Equal((1023u, 2048u), (download.ToCommand().Cdw10, download.ToCommand().Cdw11));
        Assert.True(FirmwareImageDownloadCommand.TryRead(download.ToCommand(), out var d2));
        Assert.Equal((4096L, 8192L), (d2.LengthBytes, d2.OffsetBytes));

        Assert.True(NamespaceManagementCommand.TryRead(new NamespaceManagementCommand(NvmeNamespaceManagementSelect.Delete, 7, 2).ToCommand(), out var m));
        Assert.Equal(new NamespaceManagementCommand(NvmeNamespaceManagementSelect.Delete, 7, 2), m);
        Assert.Equal(2u << 24, new NamespaceManagementCommand(NvmeNamespaceManagementSelect.Create, 0, 2).ToCommand().Cdw11);
        Assert.True(NamespaceAttachmentCommand.TryRead(new NamespaceAttachmentCommand(NvmeNamespaceAttachmentSelect.Detach, 3).ToCommand(), out var a));
        Assert.Equal(NvmeNamespaceAttachmentSelect.Detach, a.Sel);
        Assert.True(DeviceSelfTestCommand.TryRead(new DeviceSelfTestCommand(NvmeSelfTestCode.Extended, 1).ToCommand(), out var st));
        Assert.Equal(new DeviceSelfTestCommand(NvmeSelfTestCode.Extended, 1), st);
        Assert.False(FormatNvmCommand.TryRead(sanitize.ToCommand(), out _));
    }

    private static NvmeCommand Local(NvmeCommand c, int length)
    {
        c.Cid = 0x2000;
        c.Psdt = 1;
        NvmePS.Engine.Fabrics.SglDescriptor.Transport((uint)length).WriteTo(ref c);
        return c;
    }
}
