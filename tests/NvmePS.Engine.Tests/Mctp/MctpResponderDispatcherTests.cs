using NvmePS.Engine.Mctp;

namespace NvmePS.Engine.Tests.Mctp;

/// <summary>Review O-1: a responder host keeps serving while a slow request is in progress, with a bound on requests
/// in flight. Exercised over a real demux socket through <see cref="MctpDemuxResponderClient"/>, which shares
/// <see cref="MctpResponderDispatcher"/> with the AF_MCTP responder host.</summary>
public sealed class MctpResponderDispatcherTests
{
    /// <summary>Request byte 1: 0x01 = slow (waits for the gate), 0x02 = fast. The answer sets bit 7 of byte 1, so
    /// the responder ignores its own answers when the daemon loops them back.</summary>
    private sealed class GatedResponder : IMctpResponder
    {
        public TaskCompletionSource Gate { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);

        public async ValueTask HandleAsync(MctpEndpointAddress source, ReadOnlyMemory<byte> request, Func<ReadOnlyMemory<byte>, CancellationToken, ValueTask> respond, CancellationToken cancellationToken)
        {
            byte kind = request.Span[1];
            if (kind == 0x01)
            {
                await Gate.Task.WaitAsync(cancellationToken);
            }
            else if (kind != 0x02)
            {
                return;
            }

            await respond(new byte[] { 0x85, (byte)(kind | 0x80), 0, 0 }, cancellationToken);
        }
    }

    private static async Task<byte> ReceiveKindAsync(IMctpExchange x, byte want, TimeSpan timeout)
    {
        byte[] buf = new byte[64];
        var deadline = DateTime.UtcNow + timeout;
        while (true)
        {
            var left = deadline - DateTime.UtcNow;
            int n = await x.ReceiveAsync(buf, left > TimeSpan.Zero ? left : TimeSpan.FromMilliseconds(1), CancellationToken.None);
            if (n >= 2 && buf[1] == want)
            {
                return buf[1];
            }
        }
    }

    private static async Task<(MctpDemuxDaemon Daemon, MctpDemuxResponderClient Responder, GatedResponder Gated)> StartAsync(string name, int maxInFlight)
    {
        var daemon = MctpDemuxDaemon.Start(name, localEid: 8);
        var gated = new GatedResponder();
        var responder = await MctpDemuxResponderClient.ConnectAsync(gated, name, registeredType: 0x85, maxInFlight: maxInFlight);
        await NvmePS.Engine.Tests.Mi.SimulatorMiCommandTests.WaitFor(() => daemon.CountRegistered(0x85) == 1);
        return (daemon, responder, gated);
    }

    [Fact]
    public async Task A_slow_request_does_not_stop_the_responder_from_serving_another()
    {
        string name = $"nvmeps-disp-{Guid.NewGuid():N}";
        var (daemon, responder, gated) = await StartAsync(name, MctpResponderDispatcher.DefaultMaxInFlight);
        await using var d = daemon;
        await using var r = responder;
        await using var slowClient = await MctpDemuxTransport.ConnectAsync(name, registeredType: 0x85);
        await using var fastClient = await MctpDemuxTransport.ConnectAsync(name, registeredType: 0x85);
        await using var slow = await slowClient.OpenExchangeAsync(new MctpEndpointAddress(0, 8), 5, CancellationToken.None);
        await using var fast = await fastClient.OpenExchangeAsync(new MctpEndpointAddress(0, 8), 5, CancellationToken.None);

        await slow.SendAsync(new byte[] { 0x85, 0x01, 0, 0 }, CancellationToken.None);
        await NvmePS.Engine.Tests.Mi.SimulatorMiCommandTests.WaitFor(() => responder.Dispatcher.InFlight == 1);
        await fast.SendAsync(new byte[] { 0x85, 0x02, 0, 0 }, CancellationToken.None);
        Assert.Equal(0x82, await ReceiveKindAsync(fast, 0x82, TimeSpan.FromSeconds(10))); // served while 0x01 is held
        // Only the held request remains (looped-back answers are handled and end at once).
        await NvmePS.Engine.Tests.Mi.SimulatorMiCommandTests.WaitFor(() => responder.Dispatcher.InFlight == 1);
        Assert.False(gated.Gate.Task.IsCompleted);

        gated.Gate.SetResult();
        Assert.Equal(0x81, await ReceiveKindAsync(slow, 0x81, TimeSpan.FromSeconds(10)));
        Assert.Equal(0, responder.Dispatcher.DroppedRequests);
    }

    [Fact]
    public async Task Requests_past_the_bound_are_discarded_and_counted()
    {
        string name = $"nvmeps-disp-{Guid.NewGuid():N}";
        var (daemon, responder, gated) = await StartAsync(name, maxInFlight: 1);
        await using var d = daemon;
        await using var r = responder;
        await using var client = await MctpDemuxTransport.ConnectAsync(name, registeredType: 0x85);
        await using var x = await client.OpenExchangeAsync(new MctpEndpointAddress(0, 8), 5, CancellationToken.None);

        await x.SendAsync(new byte[] { 0x85, 0x01, 0, 0 }, CancellationToken.None);
        await NvmePS.Engine.Tests.Mi.SimulatorMiCommandTests.WaitFor(() => responder.Dispatcher.InFlight == 1);
        await x.SendAsync(new byte[] { 0x85, 0x02, 0, 0 }, CancellationToken.None);
        await NvmePS.Engine.Tests.Mi.SimulatorMiCommandTests.WaitFor(() => responder.Dispatcher.DroppedRequests == 1);
        await Assert.ThrowsAsync<NvmeTimeoutException>(() => ReceiveKindAsync(x, 0x82, TimeSpan.FromMilliseconds(300)));

        gated.Gate.SetResult();
        Assert.Equal(0x81, await ReceiveKindAsync(x, 0x81, TimeSpan.FromSeconds(10)));
        await NvmePS.Engine.Tests.Mi.SimulatorMiCommandTests.WaitFor(() => responder.Dispatcher.InFlight == 0);

        // Capacity is back. The daemon loops the 0x81 answer back to the responder, where it briefly takes the one
        // slot (the handler ignores it); a fast request that lands in that moment is dropped, as the bound says. So
        // the fast request is sent until one is served, and every one of ours that was dropped is counted (the looped-back
        // answer may itself be dropped and counted too).
        long droppedBefore = responder.Dispatcher.DroppedRequests;
        int sent = 0;
        byte? answer = null;
        while (answer is null && sent < 10)
        {
            await x.SendAsync(new byte[] { 0x85, 0x02, 0, 0 }, CancellationToken.None);
            sent++;
            try
            {
                answer = await ReceiveKindAsync(x, 0x82, TimeSpan.FromSeconds(2));
            }
            catch (NvmeTimeoutException)
            {
                // Dropped while the looped-back answer held the slot.
            }
        }

        Assert.Equal((byte)0x82, answer);
        Assert.True(responder.Dispatcher.DroppedRequests - droppedBefore >= sent - 1);
    }
}
