using NvmePS.Engine.Admin;
using NvmePS.Engine.Mctp;
using NvmePS.Engine.Mi;
using NvmePS.Engine.Mi.Simulator;

namespace NvmePS.Engine.Tests.Mi;

/// <summary>Bounded, seeded fuzzing of the response parser and of the simulator's request parser: random and mutated
/// messages never crash, never hang, and never allocate in proportion to a length field they did not check.</summary>
public sealed class NvmeMiFuzzTests
{
    private const int Cases = 3000;
    private const long AllocationBudget = 64 * 1024; // per message; a 4 GiB "DLEN" must not be believed

    private static byte[] Mutate(Random rng, byte[] seed)
    {
        byte[] m = (byte[])seed.Clone();
        switch (rng.Next(5))
        {
            case 0:
                m[rng.Next(m.Length)] ^= (byte)(1 << rng.Next(8));
                break;
            case 1:
                m = m.AsSpan(0, rng.Next(m.Length + 1)).ToArray();
                break;
            case 2:
                Array.Resize(ref m, m.Length + rng.Next(1, 64));
                rng.NextBytes(m.AsSpan(seed.Length));
                break;
            case 3:
                for (int i = 0; i < 4 && m.Length > 0; i++)
                {
                    m[rng.Next(m.Length)] = (byte)rng.Next(256);
                }

                break;
            default:
                m = new byte[rng.Next(0, 200)];
                rng.NextBytes(m);
                if (m.Length > 0 && rng.Next(2) == 0)
                {
                    m[0] = 0x84;
                }

                break;
        }

        // Half of the mutants get a correct MIC so the parsers look past it.
        if (m.Length >= 8 && rng.Next(2) == 0)
        {
            NvmeMiMic.Append(m, m.Length - 4);
        }

        return m;
    }

    [Fact]
    public async Task Response_parser_survives_random_and_mutated_responses()
    {
        var rng = new Random(20261121);
        byte[] miSeed = Responses.Mi(32, new byte[32]);
        byte[] adminSeed = Responses.Admin(1, 2, 3, new byte[64]);
        byte[] chsSeed = Responses.Mi(2u << 16, new byte[32]);
        byte[] mprSeed = Responses.Mpr(3);
        byte[][] seeds = [miSeed, adminSeed, chsSeed, mprSeed];
        var clock = new ManualTimeProvider();
        var transport = new ScriptedTransport(clock);
        await using var ep = new NvmeMiEndpoint(transport, new MctpEndpointAddress(1, 9), new NvmeMiEndpointOptions { MaxConsecutiveMpr = 2 }, clock);
        var admin = ep.GetAdminTransport(1);

        for (int i = 0; i < Cases; i++)
        {
            byte[] message = Mutate(rng, seeds[rng.Next(seeds.Length)]);
            long before = GC.GetAllocatedBytesForCurrentThread();
            try
            {
                var r = NvmeMiResponse.Validate(message, (NvmeMiMessageType)rng.Next(3), 0);
                var body = message.AsSpan(0, r.BodyLength);
                NvmeMiResponse.IsMoreProcessingRequired(body, out _);
                var data = body.Length > 8 ? body[8..] : default;
                NvmSubsystemInformation.TryRead(data, out _);
                PortInformation.TryRead(data, out _);
                ControllerInformation.TryRead(data, out _);
                NvmSubsystemHealthStatus.TryRead(data, out _);
                ControllerHealthStatus.TryRead(data, out _);
                NvmeControllerList.TryRead(data, out _);
                OptionalCommandList.TryRead(data, out _);
                AsyncEventList.TryRead(data, out _);
                NvmeMiAdminTransport.ParseResponse(body, new byte[64], "fuzz");
            }
            catch (NvmeException)
            {
            }

            Assert.True(GC.GetAllocatedBytesForCurrentThread() - before < AllocationBudget, $"case {i} allocated too much");

            // The same bytes through the endpoint: only engine errors come out.
            transport.Script.Clear();
            transport.Script.Enqueue((TimeSpan.Zero, message));
            try
            {
                switch (i % 4)
                {
                    case 0:
                        await ep.ReadControllerListAsync();
                        break;
                    case 1:
                        await ep.PollControllerHealthAsync();
                        break;
                    case 2:
                        await admin.ExecuteAdminAsync(new NvmeCommand { Opcode = 0x06 }, default, new byte[64], CancellationToken.None);
                        break;
                    default:
                        await ep.GetAsyncEventsAsync();
                        break;
                }
            }
            catch (NvmeException)
            {
            }
        }
    }

    [Fact]
    public async Task Simulator_request_parser_survives_random_and_mutated_requests()
    {
        var rng = new Random(4224);
        var subsystem = new SimulatedSubsystem(new SimulatorOptions { SlowCommandTime = TimeSpan.Zero, MaxVpdWrites = int.MaxValue });
        var responder = new NvmeMiResponder(subsystem);
        var seeds = new List<byte[]>();
        foreach (NvmeMiOpcode op in Enum.GetValues<NvmeMiOpcode>())
        {
            byte[] b = new byte[40];
            int n = NvmeMiCodec.WriteMiRequest(b, op, (uint)rng.Next(), (uint)rng.Next(4), new byte[] { 1, 0, 8, 0, 5, 3, 2, 0x80 }.AsSpan(0, rng.Next(9)));
            seeds.Add(b.AsSpan(0, n).ToArray());
        }

        foreach (byte opc in new byte[] { 0x02, 0x06, 0x09, 0x0A, 0x0D, 0x10, 0x11, 0x15, 0x80, 0x81, 0x82, 0x84 })
        {
            byte[] b = new byte[68 + 16 + 4];
            int n = NvmeMiCodec.WriteAdminRequest(b, new NvmeCommand { Opcode = opc, Nsid = 1, Cdw10 = (uint)rng.Next() }, 1, 0, 16, 1, new byte[16]);
            seeds.Add(b.AsSpan(0, n).ToArray());
        }

        for (byte cp = 0; cp < 6; cp++)
        {
            byte[] b = new byte[12];
            NvmeMiCodec.WriteControlPrimitive(b, (NvmeMiControlOpcode)cp, cp, 1);
            seeds.Add(b);
        }

        int responses = 0;
        ValueTask Respond(ReadOnlyMemory<byte> r, CancellationToken ct)
        {
            // Every response the simulator produces is itself well formed.
            NvmeMiMessageHeader.TryRead(r.Span, out var h);
            Assert.True(h.IsResponse);
            Assert.True(NvmeMiMic.Verify(r.Span));
            Assert.True(r.Length <= NvmeMiCodec.MaxMessageSize);
            responses++;
            return ValueTask.CompletedTask;
        }

        for (int i = 0; i < Cases; i++)
        {
            byte[] message = Mutate(rng, seeds[rng.Next(seeds.Count)]);
            long before = GC.GetAllocatedBytesForCurrentThread();
            var handled = responder.HandleAsync(new MctpEndpointAddress(1, 8), message, Respond, CancellationToken.None);
            await handled.AsTask().WaitAsync(TimeSpan.FromSeconds(5));
            Assert.True(GC.GetAllocatedBytesForCurrentThread() - before < AllocationBudget, $"case {i} allocated too much");
        }

        Assert.True(responses > Cases / 10, $"only {responses} responses: the mutants are too rarely valid to reach the command handlers");
        Assert.True(responder.DroppedMessages > 0);
        // The endpoint is still healthy afterwards (a fuzzed Pause may have paused it: resume first).
        byte[] resume = new byte[12];
        NvmeMiCodec.WriteControlPrimitive(resume, NvmeMiControlOpcode.Resume, 0x55, 0);
        await responder.HandleAsync(new MctpEndpointAddress(1, 8), resume, Respond, CancellationToken.None);
        byte[] req = new byte[20];
        NvmeMiCodec.WriteMiRequest(req, NvmeMiOpcode.ReadDataStructure, 0, 0, default);
        byte[]? answer = null;
        await responder.HandleAsync(new MctpEndpointAddress(1, 8), req, (r, ct) => { answer = r.ToArray(); return ValueTask.CompletedTask; }, CancellationToken.None);
        Assert.NotNull(answer);
        Assert.Equal(0, answer[4]);
    }
}
