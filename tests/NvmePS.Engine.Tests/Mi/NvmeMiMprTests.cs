using NvmePS.Engine.Mctp;
using NvmePS.Engine.Mi;

namespace NvmePS.Engine.Tests.Mi;

/// <summary>More Processing Required handling on a fake clock: the waits chosen, the caps, the deadline.</summary>
public sealed class NvmeMiMprTests
{
    private static readonly MctpEndpointAddress Peer = new(1, 9);
    private static readonly byte[] Health = Responses.Mi(0, new byte[8]);

    private static (ScriptedTransport, NvmeMiEndpoint) Make(NvmeMiEndpointOptions options)
    {
        var clock = new ManualTimeProvider();
        var t = new ScriptedTransport(clock);
        return (t, new NvmeMiEndpoint(t, Peer, options, clock));
    }

    [Fact]
    public async Task Mprt_1234_waits_123400_ms()
    {
        var (t, ep) = Make(new NvmeMiEndpointOptions { MaxMprWait = TimeSpan.FromMinutes(5), CommandDeadline = TimeSpan.FromMinutes(10) });
        t.Script.Enqueue((TimeSpan.FromMilliseconds(10), Responses.Mpr(1234)));
        t.Script.Enqueue((TimeSpan.FromSeconds(100), Health));
        await ep.PollSubsystemHealthAsync();
        Assert.Equal([TimeSpan.FromSeconds(5), TimeSpan.FromMilliseconds(123_400)], t.ReceiveTimeouts);
        Assert.Equal(1, ep.LastMprCount);
        Assert.Equal(TimeSpan.FromMilliseconds(100_010), t.Clock.Now);
    }

    [Fact]
    public async Task Large_mprt_is_clamped_to_the_endpoint_cap()
    {
        var (t, ep) = Make(new NvmeMiEndpointOptions { MaxMprWait = TimeSpan.FromSeconds(30) });
        t.Script.Enqueue((TimeSpan.Zero, Responses.Mpr(1234)));
        t.Script.Enqueue((TimeSpan.FromSeconds(1), Health));
        await ep.PollSubsystemHealthAsync();
        Assert.Equal(TimeSpan.FromSeconds(30), t.ReceiveTimeouts[1]);
    }

    [Fact]
    public async Task Mprt_0_waits_the_endpoint_timeout()
    {
        var (t, ep) = Make(new NvmeMiEndpointOptions { Timeout = TimeSpan.FromMilliseconds(7_500) });
        t.Script.Enqueue((TimeSpan.Zero, Responses.Mpr(0)));
        t.Script.Enqueue((TimeSpan.FromSeconds(1), Health));
        await ep.PollSubsystemHealthAsync();
        Assert.Equal([TimeSpan.FromMilliseconds(7_500), TimeSpan.FromMilliseconds(7_500)], t.ReceiveTimeouts);
    }

    [Fact]
    public async Task Consecutive_mpr_cap_gives_a_timeout_error()
    {
        var (t, ep) = Make(new NvmeMiEndpointOptions { MaxConsecutiveMpr = 3 });
        for (int i = 0; i < 4; i++)
        {
            t.Script.Enqueue((TimeSpan.FromMilliseconds(1), Responses.Mpr(1)));
        }

        t.Script.Enqueue((TimeSpan.Zero, Health));
        var ex = await Assert.ThrowsAsync<NvmeTimeoutException>(() => ep.PollSubsystemHealthAsync());
        Assert.Contains("4 consecutive More Processing Required", ex.Message, StringComparison.Ordinal);
        Assert.Equal(4, t.ReceiveTimeouts.Count);
        Assert.Equal(NvmeErrorKind.Timeout, ex.Kind);
    }

    [Fact]
    public async Task Total_deadline_bounds_an_mpr_chain()
    {
        var (t, ep) = Make(new NvmeMiEndpointOptions { Timeout = TimeSpan.FromMilliseconds(500), CommandDeadline = TimeSpan.FromSeconds(1), MaxConsecutiveMpr = 100 });
        for (int i = 0; i < 10; i++)
        {
            t.Script.Enqueue((TimeSpan.FromMilliseconds(400), Responses.Mpr(5)));
        }

        var ex = await Assert.ThrowsAsync<NvmeTimeoutException>(() => ep.PollSubsystemHealthAsync());
        // Waits: 500 ms, then 500 ms (MPRT 5), then only the 200 ms left of the 1 s deadline.
        Assert.Equal([TimeSpan.FromMilliseconds(500), TimeSpan.FromMilliseconds(500), TimeSpan.FromMilliseconds(200)], t.ReceiveTimeouts);
        Assert.Contains("deadline", ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Per_command_timeout_override_applies_to_admin_commands()
    {
        var options = new NvmeMiEndpointOptions { AdminTimeout = c => c.Opcode == 0x10 ? TimeSpan.FromMinutes(3) : null };
        var (t, ep) = Make(options);
        t.Script.Enqueue((TimeSpan.FromSeconds(90), Responses.Admin(0, 0, 0)));
        t.Script.Enqueue((TimeSpan.Zero, Responses.Admin(0, 0, 0)));
        await ep.GetAdminTransport(1).ExecuteAdminAsync(new NvmeCommand { Opcode = 0x10 }, default, default, CancellationToken.None);
        await ep.GetAdminTransport(1).ExecuteAdminAsync(new NvmeCommand { Opcode = 0x0A }, default, default, CancellationToken.None);
        Assert.Equal([TimeSpan.FromMinutes(3), TimeSpan.FromSeconds(5)], t.ReceiveTimeouts);
    }

    [Fact]
    public async Task Kernel_owned_tag_during_mpr_raises_a_warning()
    {
        var (t, ep) = Make(new NvmeMiEndpointOptions());
        t.HoldsTag = false;
        var warnings = new List<string>();
        ep.Warning = warnings.Add;
        t.Script.Enqueue((TimeSpan.Zero, Responses.Mpr(2)));
        t.Script.Enqueue((TimeSpan.Zero, Health));
        await ep.PollSubsystemHealthAsync();
        Assert.Contains("kernel-owned", Assert.Single(warnings), StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_response_for_the_other_slot_or_of_another_type_is_a_protocol_error_and_the_endpoint_goes_on()
    {
        var (t, ep) = Make(new NvmeMiEndpointOptions { Timeout = TimeSpan.FromSeconds(2) });
        t.Script.Enqueue((TimeSpan.Zero, Responses.Mi(0, new byte[8], csi: 1)));
        var slot = await Assert.ThrowsAsync<NvmeProtocolException>(() => ep.PollSubsystemHealthAsync());
        Assert.Contains("slot", slot.Message, StringComparison.OrdinalIgnoreCase);
        t.Script.Enqueue((TimeSpan.Zero, Responses.Admin(0, 0, 0)));
        var type = await Assert.ThrowsAsync<NvmeProtocolException>(() => ep.PollSubsystemHealthAsync());
        Assert.Contains("NMIMT", type.Message, StringComparison.Ordinal);

        // Nothing is left behind: the next command gets its own answer.
        t.Script.Enqueue((TimeSpan.Zero, Health));
        Assert.NotNull(await ep.PollSubsystemHealthAsync());
    }

    [Fact]
    public async Task Silence_is_a_timeout()
    {
        var (t, ep) = Make(new NvmeMiEndpointOptions { Timeout = TimeSpan.FromSeconds(2) });
        await Assert.ThrowsAsync<NvmeTimeoutException>(() => ep.PollSubsystemHealthAsync());
        Assert.Equal([TimeSpan.FromSeconds(2)], t.ReceiveTimeouts);
    }

    [Fact]
    public async Task Minimum_inter_command_delay_holds_the_next_request_on_the_clock()
    {
        var (t, ep) = Make(new NvmeMiEndpointOptions { MinimumInterCommandDelay = TimeSpan.FromMilliseconds(50) });
        t.Script.Enqueue((TimeSpan.Zero, Health));
        t.Script.Enqueue((TimeSpan.Zero, Health));
        await ep.PollSubsystemHealthAsync();
        t.Clock.Advance(TimeSpan.FromMilliseconds(20));
        var second = ep.PollSubsystemHealthAsync();
        Assert.Single(t.Sent); // still waiting: only 20 of 50 ms have passed
        Assert.False(second.IsCompleted);
        t.Clock.Advance(TimeSpan.FromMilliseconds(29));
        Assert.Single(t.Sent);
        t.Clock.Advance(TimeSpan.FromMilliseconds(1));
        await second.WaitAsync(TimeSpan.FromSeconds(10));
        Assert.Equal(2, t.Sent.Count);
    }

    [Theory]
    [InlineData(1234, 60_000, 5_000, 60_000)]
    [InlineData(1234, 200_000, 5_000, 123_400)]
    [InlineData(0, 60_000, 5_000, 5_000)]
    [InlineData(1, 60_000, 5_000, 100)]
    [InlineData(65535, 60_000, 5_000, 60_000)]
    public void MprWait_formula(int mprt, int capMs, int timeoutMs, int expectedMs) =>
        Assert.Equal(TimeSpan.FromMilliseconds(expectedMs), NvmeMiEndpoint.MprWait((ushort)mprt, TimeSpan.FromMilliseconds(timeoutMs), TimeSpan.FromMilliseconds(capMs)));
}
