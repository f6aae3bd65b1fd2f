using System.Net;
using System.Text;
using NvmePS.Engine.Fabrics.Controller;
using NvmePS.Engine.Fabrics.Controller.Tcp;
using NvmePS.Engine.Fabrics.Host;

namespace NvmePS.Engine.Tests.Fabrics.Host;

/// <summary>The pipelined raw-command window against a real loopback target.</summary>
public class CommandWindowTests
{
    private const string Nqn = "nqn.2024-01.io.nvmeps.test:window";

    [Fact]
    public async Task Many_commands_complete_in_submission_order_within_the_queue_depth()
    {
        await using var target = await NvmeTargetHost.StartAsync(new IPEndPoint(IPAddress.Loopback, 0), Nqn, new[] { NvmeNamespaceSpec.Parse("memory:1M") }, Array.Empty<string>());
        using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(30));
        await using var host = await NvmeHostAssociation.ConnectAsync(target.LocalEndPoint, Nqn, new NvmeHostAssociationParameters { IoQueueCount = 1, IoQueueSize = 8 }, cts.Token);

        var admin = NvmeCommandWindow<int>.SelectQueue(host, 0)!;
        var io = NvmeCommandWindow<int>.SelectQueue(host, 1)!;
        Assert.Same(host.AdminQueue, admin);
        Assert.Same(host.IoQueues[0], io);
        Assert.Null(NvmeCommandWindow<int>.SelectQueue(host, 2));
        Assert.Null(NvmeCommandWindow<int>.SelectQueue(host, -1));

        var window = new NvmeCommandWindow<int>();
        var taken = new List<int>();
        int maxOutstanding = 0;
        for (int i = 0; i < 40; i++)
        {
            while (window.IsFull(io))
            {
                Assert.True(window.TryTakeOldest(out var t, out _, out int s));
                Assert.True((await t).Completion.IsSuccess);
                taken.Add(s);
            }

            // Alternating: Identify Controller (admin, 4096 bytes back) and Flush (I/O, NSID 1, no data).
            if (i % 2 == 0)
            {
                window.Submit(admin, new NvmeCommand { Opcode = 0x06, Cdw10 = 1 }, ReadOnlyMemory<byte>.Empty, 4096, i, cts.Token);
            }
            else
            {
                window.Submit(io, new NvmeCommand { Opcode = 0x00, Nsid = 1 }, ReadOnlyMemory<byte>.Empty, 0, i, cts.Token);
            }

            maxOutstanding = Math.Max(maxOutstanding, window.Count);
        }

        while (window.TryTakeOldest(out var t, out byte[] data, out int s))
        {
            var r = await t;
            Assert.True(r.Completion.IsSuccess);
            if (s % 2 == 0)
            {
                // SUBNQN, Identify Controller bytes 1023:768.
                Assert.Equal(4096, r.BytesTransferred);
                Assert.Equal(Nqn, Encoding.UTF8.GetString(data, 768, 256).TrimEnd('\0'));
            }
            else
            {
                Assert.Empty(data);
            }

            taken.Add(s);
        }

        Assert.Equal(Enumerable.Range(0, 40), taken);
        Assert.Equal(io.QueueSize - 1, maxOutstanding);
        Assert.Equal(0, window.Count);
        Assert.False(window.TryTakeOldest(out _, out _, out _));
    }

    [Fact]
    public async Task Refuses_data_both_ways_and_submission_past_a_full_window()
    {
        await using var target = await NvmeTargetHost.StartAsync(new IPEndPoint(IPAddress.Loopback, 0), Nqn, new[] { NvmeNamespaceSpec.Parse("memory:1M") }, Array.Empty<string>());
        using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(30));
        await using var host = await NvmeHostAssociation.ConnectAsync(target.LocalEndPoint, Nqn, new NvmeHostAssociationParameters { IoQueueCount = 1, IoQueueSize = 2 }, cts.Token);
        var window = new NvmeCommandWindow<string>();
        var io = host.IoQueues[0];
        Assert.Throws<ArgumentException>(() => window.Submit(io, new NvmeCommand { Opcode = 0x01, Nsid = 1 }, new byte[512], 512, "both", cts.Token));
        Assert.Equal(0, window.Count);

        window.Submit(io, new NvmeCommand { Opcode = 0x00, Nsid = 1 }, ReadOnlyMemory<byte>.Empty, 0, "flush", cts.Token);
        Assert.True(window.IsFull(io)); // depth 2: one outstanding at most
        Assert.Throws<InvalidOperationException>(() => window.Submit(io, new NvmeCommand { Opcode = 0x00, Nsid = 1 }, ReadOnlyMemory<byte>.Empty, 0, "more", cts.Token));
        Assert.True(window.TryTakeOldest(out var t, out _, out string s));
        Assert.Equal("flush", s);
        Assert.True((await t).Completion.IsSuccess);
    }
}
