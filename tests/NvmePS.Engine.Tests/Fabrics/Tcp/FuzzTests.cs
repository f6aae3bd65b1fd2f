using System.Buffers.Binary;
using System.Net.Sockets;
using NvmePS.Engine.Fabrics;
using NvmePS.Engine.Fabrics.Tcp;

namespace NvmePS.Engine.Tests.Fabrics.Tcp;

/// <summary>Seeded, bounded fuzzing: mutated PDU streams must end in a typed engine error, never another exception,
/// and a "valid" verdict must never let a length exceed the negotiated limits.</summary>
public class FuzzTests
{
    [Fact]
    public void Validator_never_throws_and_valid_verdicts_respect_limits()
    {
        var rnd = new Random(20261121);
        byte[] h = new byte[TermReqPdu.MaxPduSize];
        for (int i = 0; i < 200_000; i++)
        {
            var limits = new NvmeTcpReceiveLimits(rnd.Next(2) == 0, rnd.Next(4) != 0, rnd.Next(2) == 0, rnd.Next(2) == 0,
                4 * (1 + rnd.Next(4)), rnd.Next(0, 20000), rnd.Next(4096, 70000), rnd.Next(0, 70000));
            rnd.NextBytes(h);
            // Bias toward plausible headers so deep checks run too.
            h[0] = (byte)rnd.Next(0, 11);
            if (rnd.Next(2) == 0)
            {
                h[1] &= 0x0F;
                h[2] = (byte)NvmeTcpCommonHeader.HeaderLengthOf((NvmeTcpPduType)h[0]);
                BinaryPrimitives.WriteUInt32LittleEndian(h.AsSpan(4), (uint)rnd.Next(0, 80000));
            }

            int len = rnd.Next(8, h.Length + 1);
            var check = NvmeTcpPduValidator.Validate(h.AsSpan(0, len), limits);
            if (check.Outcome == NvmeTcpValidationOutcome.Valid && h[0] is (byte)NvmeTcpPduType.CapsuleCmd or (byte)NvmeTcpPduType.H2CData or (byte)NvmeTcpPduType.C2HData)
            {
                int max = h[0] == (byte)NvmeTcpPduType.CapsuleCmd ? limits.MaxInCapsuleData : h[0] == (byte)NvmeTcpPduType.H2CData ? limits.MaxH2CData : limits.MaxC2HData;
                Assert.InRange(check.Layout.DataLength, 0, max);
                Assert.True(check.Layout.Pdo <= check.Header.Plen);
            }

            if (check.Outcome == NvmeTcpValidationOutcome.Fatal)
            {
                Assert.InRange(check.FieldOffset, 0, 131);
                Assert.InRange(check.ErrorDataLength, 8, 128);
            }
        }
    }

    [Fact]
    public async Task Mutated_streams_end_in_typed_errors()
    {
        var rnd = new Random(7);
        for (int iteration = 0; iteration < 60; iteration++)
        {
            // A valid stream: ICReq, a capsule with in-capsule data, an H2CData without R2T (the queue pair passes it up).
            byte[] stream = new byte[4096];
            var ic = new IcReqPdu(0, 0, rnd.Next(2) == 0, rnd.Next(2) == 0, 0);
            ic.Write(stream);
            int n = 128;
            var sqe = new NvmeCommand { Opcode = 1, Cid = 1, Nsid = 1 };
            SglDescriptor.InCapsule(600).WriteTo(ref sqe);
            n += NvmeTcpPduWriter.WriteCapsuleCommand(stream.AsSpan(n), sqe, new byte[600], ic.HeaderDigest, ic.DataDigest, 4);
            n += NvmeTcpPduWriter.WriteH2CData(stream.AsSpan(n), new H2CDataPdu(1, 0, 0, 512), new byte[512], true, ic.HeaderDigest, ic.DataDigest, 4);
            int mutations = 1 + rnd.Next(4);
            for (int m = 0; m < mutations; m++)
            {
                stream[rnd.Next(n)] = (byte)rnd.Next(256);
            }

            var (c, s) = await Loopback.PairAsync();
            using var client = c;
            var accept = NvmeTcpQueuePair.AcceptAsync(s, new NvmeTcpQueueOptions { HeaderDigest = true, DataDigest = true, MaxInCapsuleData = 8192 }, CancellationToken.None);
            await Loopback.SendAsync(client, stream.AsMemory(0, n));
            client.Shutdown(SocketShutdown.Send); // EOF after the stream: nothing waits forever
            var drain = Loopback.IsClosedByPeerAsync(client);
            try
            {
                await using var qp = await accept;
                for (int k = 0; k < 10; k++)
                {
                    using var pdu = await qp.ReceivePduAsync(CancellationToken.None);
                    Assert.InRange(pdu.Data.Length, 0, 8192);
                }
            }
            catch (NvmeException)
            {
                // Expected: protocol violation or the EOF after the stream.
            }

            await drain;
        }
    }
}
