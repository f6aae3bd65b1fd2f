using System.Net.Sockets;

namespace NvmePS.Engine.Fabrics.Tcp;

/// <summary>The ICReq/ICResp exchange that makes a connection a queue pair (NVMe/TCP Transport 1.0 §3.6.2.2-3).</summary>
public sealed partial class NvmeTcpQueuePair
{
    /// <summary>Host side: sends ICReq, reads and checks ICResp (PFV 0, no digest the host did not ask for, CPDA ≤ 31,
    /// MAXH2CDATA ≥ 4096 and a multiple of 4). A violation sends H2CTermReq and throws <see cref="NvmeProtocolException"/>;
    /// a closed or reset connection throws <see cref="NvmeConnectionException"/>.</summary>
    public static async Task<NvmeTcpQueuePair> ConnectAsync(Socket socket, NvmeTcpQueueOptions options, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(socket);
        ArgumentNullException.ThrowIfNull(options);
        if (options.Pda > IcReqPdu.MaxPda)
        {
            throw new ArgumentOutOfRangeException(nameof(options), "HPDA must be 0..31.");
        }

        var qp = new NvmeTcpQueuePair(socket, isController: false, options);
        try
        {
            qp._limits = new NvmeTcpReceiveLimits(false, false, false, false, 4, 0, 0, options.MaxC2HData);
            var icreq = new IcReqPdu(0, options.Pda, options.HeaderDigest, options.DataDigest, options.MaxR2T);
            byte[] b = new byte[IcReqPdu.Size];
            icreq.Write(b);
            await qp.SendRawAsync(b, cancellationToken).ConfigureAwait(false);

            var header = await qp.ReceiveHeaderAsync(cancellationToken).ConfigureAwait(false);
            if (header.Type != NvmeTcpPduType.ICResp)
            {
                throw await qp.TerminateAsync(NvmeTcpFatalErrorStatus.PduSequenceError, 0, $"expected ICResp, received {header.Type}").ConfigureAwait(false);
            }

            IcRespPdu.TryRead(qp.LastHeader, out var icresp);
            if ((icresp.HeaderDigest && !options.HeaderDigest) || (icresp.DataDigest && !options.DataDigest))
            {
                throw await qp.TerminateAsync(NvmeTcpFatalErrorStatus.UnsupportedParameter, IcRespPdu.DgstOffset, "the controller enabled a digest the host did not ask for").ConfigureAwait(false);
            }

            qp._negotiated = new NvmeTcpNegotiated(icresp.HeaderDigest, icresp.DataDigest, options.Pda, icresp.Cpda, options.MaxR2T, icresp.Maxh2cdata);
            qp._limits = new NvmeTcpReceiveLimits(false, true, icresp.HeaderDigest, icresp.DataDigest,
                qp._negotiated.C2HPdaBytes, 0, 0, options.MaxC2HData);
            qp.GrowReceiveBuffer();
            return qp;
        }
        catch
        {
            qp.Dispose();
            throw;
        }
    }

    /// <summary>Controller side: reads and checks ICReq, answers ICResp (digests enabled when asked for and allowed).
    /// A bad ICReq gets C2HTermReq and <see cref="NvmeProtocolException"/>.</summary>
    public static async Task<NvmeTcpQueuePair> AcceptAsync(Socket socket, NvmeTcpQueueOptions options, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(socket);
        ArgumentNullException.ThrowIfNull(options);
        if (options.MaxH2CData < IcRespPdu.MinMaxh2cdata || options.MaxH2CData % 4 != 0 || options.Pda > IcReqPdu.MaxPda)
        {
            throw new ArgumentOutOfRangeException(nameof(options), "MAXH2CDATA must be ≥ 4096 and a multiple of 4; CPDA 0..31.");
        }

        var qp = new NvmeTcpQueuePair(socket, isController: true, options);
        try
        {
            qp._limits = new NvmeTcpReceiveLimits(true, false, false, false, 4, 0, 0, 0);
            await qp.ReceiveHeaderAsync(cancellationToken).ConfigureAwait(false);
            IcReqPdu.TryRead(qp.LastHeader, out var icreq);
            bool hd = icreq.HeaderDigest && options.HeaderDigest;
            bool dd = icreq.DataDigest && options.DataDigest;
            var icresp = new IcRespPdu(0, options.Pda, hd, dd, options.MaxH2CData);
            byte[] b = new byte[IcRespPdu.Size];
            icresp.Write(b);
            qp._negotiated = new NvmeTcpNegotiated(hd, dd, icreq.Hpda, options.Pda, icreq.Maxr2t, options.MaxH2CData);
            qp._limits = new NvmeTcpReceiveLimits(true, true, hd, dd, qp._negotiated.H2CPdaBytes,
                options.MaxInCapsuleData, (int)Math.Min(options.MaxH2CData, int.MaxValue), 0);
            await qp.SendRawAsync(b, cancellationToken).ConfigureAwait(false);
            qp.GrowReceiveBuffer();
            return qp;
        }
        catch
        {
            qp.Dispose();
            throw;
        }
    }
}
