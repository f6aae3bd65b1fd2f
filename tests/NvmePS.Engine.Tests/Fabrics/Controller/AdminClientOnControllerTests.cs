using NvmePS.Engine;
using NvmePS.Engine.Admin;
using NvmePS.Engine.Fabrics.Controller;

namespace NvmePS.Engine.Tests.Fabrics.Controller;

/// <summary>The shared Admin client against the real controller core (no fake on either side of the seam).</summary>
public class AdminClientOnControllerTests
{
    [Fact]
    public async Task Typed_identify_logs_and_features_through_the_admin_client()
    {
        using var target = Core.Target(out var sub);
        sub.AddMemoryNamespace(4 << 20, 4096, nsid: 2);
        using var transport = await NvmeLocalAdminTransport.ConnectAsync(target, Core.SubNqn, Core.HostNqn, Core.HostId);
        var client = new NvmeAdminClient(transport);

        var id = await client.IdentifyControllerAsync();
        Assert.Equal(transport.Controller.Cntlid, id.Cntlid);
        Assert.Equal(Core.SubNqn, id.Subnqn);
        Assert.Equal(131072L, id.MaxDataTransferBytes());
        Assert.Equal(new uint[] { 2 }, (await client.GetAllActiveNamespaceIdsAsync()).ToArray());
        var ns = await client.IdentifyNamespaceAsync(2);
        Assert.Equal(1024UL, ns.Nsze);
        Assert.Equal(4096, ns.BlockSize);
        var descriptors = await client.GetNamespaceIdDescriptorsAsync(2);
        Assert.Equal(sub.GetNamespace(2)!.Uuid.ToByteArray(bigEndian: true), descriptors.Single(d => d.Nidt == NvmeNamespaceIdType.Uuid).Nid);

        Assert.Equal(new NvmeNumberOfQueues(4, 4), await client.SetNumberOfQueuesAsync(new NvmeNumberOfQueues(4, 6)));
        await client.SetKeepAliveTimerAsync(2550);
        Assert.Equal(2600u, await client.GetKeepAliveTimerAsync());
        await client.SetTemperatureThresholdAsync(new NvmeTemperatureThreshold(360));
        Assert.Equal(360, (await client.GetTemperatureThresholdAsync(new NvmeTemperatureThreshold(0))).Tmpth);
        Assert.Equal(Core.HostId.ToByteArray(bigEndian: true), await client.GetHostIdentifierAsync());
        var fw = await client.GetFirmwareSlotLogAsync();
        Assert.Equal("0.1.0", fw.Frs[0]);
        var smart = await client.GetSmartLogAsync();
        Assert.Equal(100, smart.AvailableSpare);

        // Unsupported commands surface as typed status errors.
        var ex = await Assert.ThrowsAsync<NvmeStatusException>(() => client.SecuritySendAsync(0xEA, 0, new byte[16]));
        Assert.Equal("Invalid Command Opcode", ex.StatusName);
        var ex2 = await Assert.ThrowsAsync<NvmeStatusException>(() => client.IdentifyNamespaceAsync(0));
        Assert.Equal("Invalid Namespace or Format", ex2.StatusName);
        var errors = await client.GetErrorLogAsync(2);
        Assert.Equal(2UL, errors[0].ErrorCount);
        Assert.Equal(NvmeStatusNames.InvalidNamespaceOrFormat, errors[0].Status.Sc);
        Assert.Equal(NvmeStatusNames.InvalidCommandOpcode, errors[1].Status.Sc);
    }

    [Fact]
    public async Task Chunked_log_reads_with_an_mi_sized_limit_match_one_big_read()
    {
        using var target = Core.Target(out _);
        using var small = await NvmeLocalAdminTransport.ConnectAsync(target, Core.SubNqn, Core.HostNqn, Core.HostId, maxDataTransferSize: 1024);
        var client = new NvmeAdminClient(small);
        // Make a few errors so the error log has content.
        for (int i = 0; i < 5; i++)
        {
            await Assert.ThrowsAsync<NvmeStatusException>(() => client.GetLogPageAsync(0x33, 4));
        }

        var chunked = await client.GetLogPageAsync(NvmeLogPageId.ErrorInformation, 64 * 64);
        var whole = new byte[64 * 64];
        var r = await small.Queue.ProcessAsync(
            NvmeLocalCommand(NvmeAdminCommands.GetLogPage(NvmeLogPageId.ErrorInformation, whole.Length, rae: true), whole.Length), default, whole);
        Assert.True(r.Completion.IsSuccess);
        Assert.Equal(whole, chunked);
        Assert.True(NvmeErrorLogEntry.TryRead(chunked, out var newest));
        Assert.Equal(5UL, newest.ErrorCount);
        Assert.Equal(NvmeStatusNames.InvalidLogPage, newest.Status.Sc);
    }

    [Fact]
    public async Task Async_event_request_completes_on_a_namespace_change()
    {
        using var target = Core.Target(out var sub);
        using var transport = await NvmeLocalAdminTransport.ConnectAsync(target, Core.SubNqn, Core.HostNqn, Core.HostId);
        var client = new NvmeAdminClient(transport);
        await client.SetAsyncEventConfigAsync(NvmeAsyncEventConfig.NamespaceAttributeNotices);
        var pending = client.AsyncEventRequestAsync();
        Assert.False(pending.IsCompleted);
        sub.AddMemoryNamespace(1 << 20, nsid: 5);
        var e = await pending.WaitAsync(TimeSpan.FromSeconds(15));
        Assert.Equal(NvmeAsyncEventType.Notice, e.Type);
        Assert.Equal(NvmeLogPageId.ChangedNamespaceList, e.LogPage);
        Assert.Equal(new uint[] { 5 }, await client.GetChangedNamespaceListAsync());
    }

    [Fact]
    public async Task Refused_connect_raises_a_fabrics_status()
    {
        using var target = Core.Target(out _);
        var ex = await Assert.ThrowsAsync<NvmeStatusException>(() => NvmeLocalAdminTransport.ConnectAsync(target, Core.SubNqn,
            "nqn.2014-08.org.nvmexpress:uuid:deadbeef-0000-0000-0000-000000000000", Guid.NewGuid()));
        Assert.Equal("Connect Invalid Host", ex.StatusName);
    }

    private static NvmeCommand NvmeLocalCommand(NvmeCommand c, int length)
    {
        c.Cid = 0x4000;
        c.Psdt = 1;
        NvmePS.Engine.Fabrics.SglDescriptor.Transport((uint)length).WriteTo(ref c);
        return c;
    }
}
