using System.Net;
using System.Net.Sockets;
using NvmePS.Engine.Admin;
using NvmePS.Engine.Fabrics.Tcp;

namespace NvmePS.Engine.Fabrics.Host;

/// <summary>Association setup: the admin queue, Connect, controller enable, I/O queue creation.</summary>
public sealed partial class NvmeHostAssociation
{
    /// <summary>Connects to a discovery controller (SUBNQN <see cref="FabricsCommand.DiscoveryNqn"/>), with no I/O queues.</summary>
    public static Task<NvmeHostAssociation> ConnectDiscoveryAsync(EndPoint endPoint, NvmeHostAssociationParameters? parameters, CancellationToken cancellationToken) =>
        ConnectAsync(endPoint, FabricsCommand.DiscoveryNqn, (parameters ?? new NvmeHostAssociationParameters()) with { IoQueueCount = 0 }, cancellationToken);

    /// <summary>
    /// Associates with the controller of <paramref name="subsystemNqn"/> at <paramref name="endPoint"/>: admin queue
    /// (ICReq/ICResp, Fabrics Connect with CNTLID FFFFh), CAP/VS, controller enable, Identify Controller, Set Features
    /// Number of Queues and the I/O queues, then keep-alive. Errors: <see cref="NvmeStatusException"/> for a refused
    /// Connect (Fabrics status names), <see cref="NvmeProtocolException"/>, <see cref="NvmeConnectionException"/>,
    /// <see cref="NvmeTimeoutException"/>.
    /// </summary>
    public static async Task<NvmeHostAssociation> ConnectAsync(EndPoint endPoint, string subsystemNqn, NvmeHostAssociationParameters? parameters, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(endPoint);
        ArgumentNullException.ThrowIfNull(subsystemNqn);
        var p = parameters ?? new NvmeHostAssociationParameters();
        p.Validate();
        if (!Nqn.IsWellFormed(subsystemNqn))
        {
            throw new ArgumentException($"Subsystem NQN '{subsystemNqn}' is not a valid NQN.", nameof(subsystemNqn));
        }

        var admin = await ConnectQueueAsync(endPoint, subsystemNqn, p, qid: 0, p.AdminQueueSize, ConnectData.DynamicCntlid, cancellationToken).ConfigureAwait(false);
        var a = new NvmeHostAssociation(endPoint, subsystemNqn, p, admin.Queue) { Cntlid = admin.Cntlid };
        try
        {
            a.Capabilities = new ControllerCapabilities(await a.GetPropertyAsync(ControllerProperty.Cap, PropertySize.EightBytes, cancellationToken).ConfigureAwait(false));
            a.Version = new ControllerVersion((uint)await a.GetPropertyAsync(ControllerProperty.Vs, PropertySize.FourBytes, cancellationToken).ConfigureAwait(false));
            if (p.EnableController)
            {
                await a.EnableAsync(cancellationToken).ConfigureAwait(false);
                var id = await a.Admin.IdentifyControllerAsync(cancellationToken).ConfigureAwait(false);
                a.IdentifyController = id;
                a.ApplyIdentify(id);
            }

            if (p.KeepAliveTimeout > TimeSpan.Zero && p.SendKeepAlive)
            {
                a._keepAlive = Task.Run(a.KeepAliveLoopAsync);
            }

            if (!a.IsDiscovery && p.IoQueueCount > 0 && p.EnableController)
            {
                var granted = await a.Admin.SetNumberOfQueuesAsync(new NvmeNumberOfQueues(p.IoQueueCount, p.IoQueueCount), cancellationToken).ConfigureAwait(false);
                int count = Math.Min(p.IoQueueCount, Math.Min(granted.SubmissionQueues, granted.CompletionQueues));
                await a.CreateIoQueuesAsync(count, cancellationToken).ConfigureAwait(false);
            }

            return a;
        }
        catch
        {
            await a.CloseAsync(shutdown: false).ConfigureAwait(false);
            throw;
        }
    }

    private void ApplyIdentify(NvmeIdentifyController id)
    {
        // MDTS is a power of two in units of CAP.MPSMIN pages (0..255): bound the shift before taking it, so a large
        // MDTS caps at 1 GiB instead of wrapping the 64-bit value.
        int shift = 12 + (int)Capabilities.Mpsmin + id.Mdts;
        long mdts = id.Mdts == 0 ? Parameters.UnlimitedMdtsTransferSize : shift >= 30 ? 1L << 30 : 1L << shift;
        _maxTransfer = (int)Math.Min(mdts, 1 << 30);
        long icd = id.Ioccsz >= 4 ? ((long)id.Ioccsz - 4) * 16 : 0;
        _ioInCapsule = (int)Math.Min(icd, Parameters.MaxInCapsuleData);
    }

    /// <summary>Connects I/O queues until <paramref name="count"/> are connected, each with the lowest free QID and this
    /// association's CNTLID.</summary>
    public async Task CreateIoQueuesAsync(int count, CancellationToken cancellationToken)
    {
        int size = Math.Min(Parameters.IoQueueSize, Capabilities.MaxQueueEntries);
        while (IoQueues.Count < count)
        {
            var used = IoQueues.Select(q => q.Qid).ToHashSet();
            ushort qid = 1;
            while (used.Contains(qid))
            {
                qid++;
            }

            var q = await ConnectQueueAsync(EndPoint, SubsystemNqn, Parameters, qid, size, Cntlid, cancellationToken).ConfigureAwait(false);
            q.Queue.MaxInCapsuleData = _ioInCapsule;
            if (q.Cntlid != Cntlid)
            {
                await q.Queue.DisposeAsync().ConfigureAwait(false);
                throw new NvmeProtocolException($"I/O queue {qid} Connect returned CNTLID {q.Cntlid:X4}h; the association's is {Cntlid:X4}h.");
            }

            lock (_ioQueuesLock)
            {
                _ioQueues = [.. _ioQueues, q.Queue];
            }

            q.Queue.Failed = OnQueueFailed;
        }
    }

    /// <summary>Deletes an I/O queue: Fabrics Disconnect on it (NVMe over Fabrics 1.1 §3.6), then its connection is closed.
    /// Commands still in flight on it fail. Throws <see cref="NvmeStatusException"/> when the controller refuses the Disconnect
    /// (the queue is closed anyway).</summary>
    public async Task DeleteIoQueueAsync(NvmeHostQueue queue, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(queue);
        lock (_ioQueuesLock)
        {
            if (Array.IndexOf(_ioQueues, queue) < 0)
            {
                throw new ArgumentException($"Queue {queue.Qid} is not an I/O queue of this association.", nameof(queue));
            }

            _ioQueues = _ioQueues.Where(q => q != queue).ToArray();
        }

        // Deleting a queue is not a failure of the association.
        queue.Failed = null;

        try
        {
            var r = await queue.ExecuteAsync(new DisconnectCommand(0).ToCommand(0), default, default, cancellationToken).ConfigureAwait(false);
            ThrowIfError(r.Completion, NvmeCommandContext.Fabrics, $"Disconnect of I/O queue {queue.Qid}");
        }
        finally
        {
            await queue.DisposeAsync().ConfigureAwait(false);
        }
    }

    private readonly record struct ConnectedQueue(NvmeHostQueue Queue, ushort Cntlid);

    private static async Task<ConnectedQueue> ConnectQueueAsync(EndPoint endPoint, string subnqn, NvmeHostAssociationParameters p, ushort qid, int size, ushort cntlid, CancellationToken cancellationToken)
    {
        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        timeout.CancelAfter(p.ConnectTimeout);
        var socket = new Socket(endPoint.AddressFamily == System.Net.Sockets.AddressFamily.Unspecified ? System.Net.Sockets.AddressFamily.InterNetwork : endPoint.AddressFamily,
            SocketType.Stream, ProtocolType.Tcp);
        NvmeHostQueue? queue = null;
        try
        {
            try
            {
                if (p.HostTransportAddress is { } local)
                {
                    socket.Bind(new IPEndPoint(local, 0));
                }

                await socket.ConnectAsync(endPoint, timeout.Token).ConfigureAwait(false);
            }
            catch (SocketException e)
            {
                throw new NvmeConnectionException($"Cannot connect to {endPoint}{(p.HostTransportAddress is { } from ? $" from {from}" : "")}: {e.SocketErrorCode}", e);
            }

            var options = new NvmeTcpQueueOptions
            {
                HeaderDigest = p.HeaderDigest,
                DataDigest = p.DataDigest,
                Pda = p.Hpda,
                MaxR2T = p.MaxR2T,
                MaxC2HData = p.MaxC2HData,
                PduTimeout = p.PduTimeout,
                IdleTrimAfter = p.IdleTrimAfter,
            };
            var qp = await NvmeTcpQueuePair.ConnectAsync(socket, options, timeout.Token).ConfigureAwait(false);
            queue = new NvmeHostQueue(qp, qid, size);
            queue.Start();

            uint kato = qid == 0 ? (uint)p.KeepAliveTimeout.TotalMilliseconds : 0;
            var connect = new ConnectCommand(0, qid, (ushort)(size - 1), p.DisableSqFlowControl ? ConnectCommand.CattrDisableSqFlowControl : (byte)0, kato);
            byte[] data = new ConnectData(p.HostId, cntlid, subnqn, p.EffectiveHostNqn).ToArray();
            var result = await queue.ExecuteAsync(connect.ToCommand(0, default), data, default, timeout.Token).ConfigureAwait(false);
            var cqe = result.Completion;
            if (!cqe.IsSuccess)
            {
                string where = cqe.Status.Sct == NvmeStatusCodeType.CommandSpecific && cqe.Status.Sc == NvmeStatusNames.ConnectInvalidParameters
                    ? $" (invalid parameter at byte {ConnectResponse.GetInvalidParameterOffset(cqe)} of the {(ConnectResponse.GetInvalidParameterAttributes(cqe) == ConnectResponse.IattrInData ? "Connect data" : "SQE")})"
                    : string.Empty;
                throw new NvmeStatusException(cqe, NvmeCommandContext.Fabrics, $"Fabrics Connect to {subnqn} queue {qid}{where}");
            }

            ushort got = ConnectResponse.GetCntlid(cqe);
            if (qid == 0 && got == ConnectData.DynamicCntlid)
            {
                throw new NvmeProtocolException("Connect response CNTLID is FFFFh; a controller must be allocated.");
            }

            if ((cqe.Dw0 & ConnectResponse.AscrBit) != 0)
            {
                throw new NvmeAuthenticationException($"The controller requires a secure channel (ASCR) on queue {qid}, which this host does not offer.");
            }

            if (ConnectResponse.GetAuthreq(cqe) != 0)
            {
                await AuthenticateQueueAsync(queue, subnqn, p, qid, timeout.Token).ConfigureAwait(false);
            }
            else if (p.DhchapControllerSecret is not null)
            {
                // The host asked the controller to prove its secret; a controller that skips authentication proves
                // nothing, and an impostor would do exactly that.
                throw new NvmeAuthenticationException($"The controller did not ask for authentication on queue {qid}, so it cannot prove the controller secret; refusing it.");
            }

            if (cqe.Sqhd == 0xFFFF && !p.DisableSqFlowControl)
            {
                throw new NvmeProtocolException("The controller disabled SQ flow control (SQHD FFFFh) though the host did not ask for it.");
            }

            return new ConnectedQueue(queue, got);
        }
        catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
        {
            await DisposeQuietlyAsync(queue, socket).ConfigureAwait(false);
            throw new NvmeTimeoutException($"Connecting queue {qid} to {endPoint} took longer than {p.ConnectTimeout.TotalSeconds:0.#} s.");
        }
        catch
        {
            await DisposeQuietlyAsync(queue, socket).ConfigureAwait(false);
            throw;
        }
    }

    private static int _transactionId;

    /// <summary>Runs a new DH-HMAC-CHAP transaction on every queue, admin first (NVMe Base 2.0 §8.13.4: a host may
    /// re-authenticate at any time, e.g. after a key change). Commands in flight carry on meanwhile; a failure
    /// leaves that queue unauthenticated and throws.</summary>
    /// <exception cref="InvalidOperationException">The controller never asked this association to authenticate.</exception>
    public async Task ReauthenticateAsync(CancellationToken cancellationToken = default)
    {
        if (AdminQueue.Authentication is null)
        {
            throw new InvalidOperationException($"{SubsystemNqn}: the controller did not ask for authentication, so there is nothing to renew.");
        }

        await AuthenticateQueueAsync(AdminQueue, SubsystemNqn, Parameters, 0, cancellationToken).ConfigureAwait(false);
        foreach (var queue in IoQueues)
        {
            await AuthenticateQueueAsync(queue, SubsystemNqn, Parameters, queue.Qid, cancellationToken).ConfigureAwait(false);
        }
    }

    /// <summary>The DH-HMAC-CHAP transaction of one queue (NVMe Base 2.0 §8.13.4), run right after its Connect.</summary>
    private static async Task AuthenticateQueueAsync(NvmeHostQueue queue, string subnqn, NvmeHostAssociationParameters p, ushort qid, CancellationToken cancellationToken)
    {
        if (p.DhchapSecret is null)
        {
            throw new NvmeAuthenticationException($"The controller requires in-band authentication (DH-HMAC-CHAP) on queue {qid}; give the host's secret (-DhchapSecret).");
        }

        var credentials = new Auth.DhchapHostCredentials(p.DhchapSecret, p.DhchapControllerSecret);
        credentials = credentials with
        {
            Hashes = p.DhchapHashes ?? credentials.Hashes,
            Groups = p.DhchapGroups ?? credentials.Groups,
        };
        ushort tid = (ushort)Interlocked.Increment(ref _transactionId);
        var outcome = await Auth.DhchapHostAuthenticator.AuthenticateAsync(new QueueAuthenticationChannel(queue), credentials, p.EffectiveHostNqn, subnqn, tid, cancellationToken)
            .ConfigureAwait(false);
        queue.Authentication = outcome;
    }

    /// <summary>Authentication Send and Receive (SECP E9h, SPSP 0101h) on one host queue.</summary>
    private sealed class QueueAuthenticationChannel(NvmeHostQueue queue) : Auth.INvmeAuthenticationChannel
    {
        public async ValueTask SendAsync(ReadOnlyMemory<byte> message, CancellationToken cancellationToken)
        {
            var command = new AuthenticationCommand(true, AuthenticationCommand.SecpNvme, 1, 1, (uint)message.Length).ToCommand(0, default);
            var r = await queue.ExecuteAsync(command, message, default, cancellationToken).ConfigureAwait(false);
            if (!r.Completion.IsSuccess)
            {
                throw new NvmeStatusException(r.Completion, NvmeCommandContext.Fabrics, "Authentication Send");
            }
        }

        public async ValueTask<int> ReceiveAsync(Memory<byte> buffer, CancellationToken cancellationToken)
        {
            var command = new AuthenticationCommand(false, AuthenticationCommand.SecpNvme, 1, 1, (uint)buffer.Length).ToCommand(0, default);
            var r = await queue.ExecuteAsync(command, default, buffer, cancellationToken).ConfigureAwait(false);
            if (!r.Completion.IsSuccess)
            {
                throw new NvmeStatusException(r.Completion, NvmeCommandContext.Fabrics, "Authentication Receive");
            }

            return r.BytesTransferred;
        }
    }

    private static async ValueTask DisposeQuietlyAsync(NvmeHostQueue? queue, Socket socket)
    {
        if (queue is not null)
        {
            await queue.DisposeAsync().ConfigureAwait(false);
        }

        socket.Dispose();
    }
}
