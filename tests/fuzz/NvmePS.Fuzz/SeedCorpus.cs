using System.Net;
using System.Net.Sockets;
using System.Security.Cryptography;
using NvmePS.Engine;
using NvmePS.Engine.Admin;
using NvmePS.Engine.Fabrics;
using NvmePS.Engine.Fabrics.Host;
using NvmePS.Engine.Fabrics.Tcp;
using NvmePS.Engine.Mctp;
using NvmePS.Engine.Mi;
using NvmePS.Engine.Mi.Simulator;

namespace NvmePS.Fuzz;

/// <summary>Writes the seed corpora: real exchanges recorded on the wire (our host against our target through a
/// recording proxy, our MI requester against the simulator), and structures as the engine writes them. Each seed is
/// named by content hash, as libFuzzer names its corpus files.</summary>
public static class SeedCorpus
{
    public static async Task<int> WriteAsync(string root, CancellationToken cancellationToken = default)
    {
        int written = 0;
        void Save(string target, byte[] data)
        {
            var dir = Path.Combine(root, target);
            Directory.CreateDirectory(dir);
            File.WriteAllBytes(Path.Combine(dir, Convert.ToHexStringLower(SHA1.HashData(data))), data);
            written++;
        }

        var (target, tcp, endpoint) = ControllerStreamTarget.StartTarget();
        await using (tcp)
        using (target)
        {
            for (byte config = 0; config < 4; config++)
            {
                var connections = await RecordSessionAsync(endpoint, config, cancellationToken).ConfigureAwait(false);
                bool hd = (config & 1) != 0, dd = (config & 2) != 0;
                foreach (var (toController, toHost, _) in connections)
                {
                    Save(ControllerStreamTarget.TargetName, toController);
                    Save(TcpPduTarget.TargetName, [TcpPduTarget.Config(true, false, hd, dd), .. toController]);
                    Save(TcpPduTarget.TargetName, [TcpPduTarget.Config(false, false, hd, dd), .. toHost]);
                }

                Save(HostStreamTarget.TargetName, HostStreamTarget.Compose(config, connections[0].Script, connections.Count > 1 ? connections[1].Script : []));
            }

            await using var association = await NvmeHostAssociation.ConnectAsync(endpoint, ControllerStreamTarget.SubsystemNqn, HostStreamTarget.Parameters(0), cancellationToken).ConfigureAwait(false);
            var admin = association.Admin;
            Save(AdminStructuresTarget.TargetName, AdminStructuresTarget.Compose("identify-controller", await admin.IdentifyAsync(NvmeIdentifyCns.Controller, cancellationToken: cancellationToken).ConfigureAwait(false)));
            Save(AdminStructuresTarget.TargetName, AdminStructuresTarget.Compose("identify-namespace", await admin.IdentifyAsync(NvmeIdentifyCns.Namespace, 1, cancellationToken: cancellationToken).ConfigureAwait(false)));
            Save(AdminStructuresTarget.TargetName, AdminStructuresTarget.Compose("namespace-list", await admin.IdentifyAsync(NvmeIdentifyCns.ActiveNamespaceIdList, cancellationToken: cancellationToken).ConfigureAwait(false)));
            Save(AdminStructuresTarget.TargetName, AdminStructuresTarget.Compose("namespace-id-descriptors", await admin.IdentifyAsync(NvmeIdentifyCns.NamespaceIdDescriptorList, 1, cancellationToken: cancellationToken).ConfigureAwait(false)));
            // A subsystem without a capacity pool has no controller list to identify: two controllers, as the list is laid out.
            Save(AdminStructuresTarget.TargetName, AdminStructuresTarget.Compose("controller-list", [2, 0, 1, 0, 2, 0, .. new byte[4090]]));
            Save(AdminStructuresTarget.TargetName, AdminStructuresTarget.Compose("smart-log", await admin.GetLogPageAsync(NvmeLogPageId.SmartHealth, 512, cancellationToken: cancellationToken).ConfigureAwait(false)));
            Save(AdminStructuresTarget.TargetName, AdminStructuresTarget.Compose("error-log-entry", await admin.GetLogPageAsync(NvmeLogPageId.ErrorInformation, 64, cancellationToken: cancellationToken).ConfigureAwait(false)));
            Save(AdminStructuresTarget.TargetName, AdminStructuresTarget.Compose("firmware-slot-log", await admin.GetLogPageAsync(NvmeLogPageId.FirmwareSlot, 512, cancellationToken: cancellationToken).ConfigureAwait(false)));
            Save(AdminStructuresTarget.TargetName, AdminStructuresTarget.Compose("self-test-log", await admin.GetLogPageAsync(NvmeLogPageId.DeviceSelfTest, 564, cancellationToken: cancellationToken).ConfigureAwait(false)));
            Save(AdminStructuresTarget.TargetName, AdminStructuresTarget.Compose("sanitize-status-log", await admin.GetLogPageAsync(NvmeLogPageId.SanitizeStatus, 512, cancellationToken: cancellationToken).ConfigureAwait(false)));
        }

        foreach (var command in new[]
        {
            NvmeAdminCommands.Identify(NvmeIdentifyCns.Controller), NvmeAdminCommands.GetLogPage(NvmeLogPageId.SmartHealth, 512),
            NvmeAdminCommands.FormatNvm(1, 1), NvmeAdminCommands.FirmwareCommit(2, NvmeFirmwareCommitAction.ReplaceAndActivate),
            NvmeIoCommands.Read(1, 8, 8), new PropertyGetCommand(PropertySize.EightBytes, ControllerProperty.Cap).ToCommand(3),
        })
        {
            var sqe = new byte[64];
            command.WriteTo(sqe);
            Save(AdminStructuresTarget.TargetName, AdminStructuresTarget.Compose("sqe-records", sqe));
        }

        var connectData = new byte[ConnectData.Size];
        new ConnectData(Guid.NewGuid(), 0xFFFF, ControllerStreamTarget.SubsystemNqn, ControllerStreamTarget.HostNqn).WriteTo(connectData);
        Save(AdminStructuresTarget.TargetName, AdminStructuresTarget.Compose("connect-data", connectData));

        // NVMe-MI: every request the requester target sends, against the simulator, recorded both ways.
        var recorder = new RecordingResponder(new NvmeMiResponder(new SimulatedSubsystem()));
        await using (var transport = new InProcessMctpTransport())
        {
            transport.Register(new MctpEndpointAddress(1, 9), recorder);
            await using var mi = new NvmeMiEndpoint(transport, new MctpEndpointAddress(1, 9));
            var miAdmin = new NvmeAdminClient(mi.GetAdminTransport(1));
            for (int operation = 0; operation < MiResponseTarget.RequestOperations; operation++)
            {
                recorder.Clear();
                await MiResponseTarget.RunRequestAsync(mi, miAdmin, operation).ConfigureAwait(false);
                foreach (var request in recorder.Requests)
                {
                    Save(MiRequestTarget.TargetName, request);
                }

                Save(MiResponseTarget.TargetName, MiResponseTarget.Compose(operation, fixMic: true, recorder.Responses[^1]));
                if (operation == 5)
                {
                    Save(MctpDemuxTarget.TargetName, MctpDemuxTarget.Compose([[9, .. recorder.Responses[^1]]]));
                    Save(MctpDemuxTarget.TargetName, MctpDemuxTarget.Compose([[7, .. recorder.Responses[^1]], [9, .. recorder.Responses[^1]]]));
                }
            }
        }

        // The object tree: one 2.x endpoint, one 1.x endpoint with a UUID, and a network object (choices as the
        // target reads them: count, path kind, network, EID, interfaces, properties, value kinds).
        Save(DBusTreeTarget.TargetName, [1, 0, 1, 9, 1, 2, 0, 0, 9, 1, 1, 1, 0, 0, 0, 4, 2, 4, 5, 0]);
        Save(DBusTreeTarget.TargetName, [2, 1, 1, 10, 2, 2, 0, 0, 10, 1, 2, 1, 0, 0, 0, 0, 1, 3, 3, 16, 65, 66, 67, 68, 69, 70, 71, 72, 73, 74, 75, 76, 77, 78, 79, 80, 2, 2, 1, 4, 4, 1, 2, 3, 4, 3]);
        return written;
    }

    /// <summary>Runs the host target's session against the real target through a proxy; returns each connection's
    /// two byte streams, and the controller's as a host-stream script (CIDs as ordinals), in the order the host opened
    /// them.</summary>
    private static async Task<List<(byte[] ToController, byte[] ToHost, byte[] Script)>> RecordSessionAsync(IPEndPoint target, byte config, CancellationToken cancellationToken)
    {
        using var listener = new Socket(System.Net.Sockets.AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
        listener.Bind(new IPEndPoint(IPAddress.Loopback, 0));
        listener.Listen(4);
        var pumps = new List<Task<(byte[], byte[], byte[])>>();
        using var stop = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        var acceptLoop = Task.Run(async () =>
        {
            while (true)
            {
                Socket host;
                try
                {
                    host = await listener.AcceptAsync(stop.Token).ConfigureAwait(false);
                }
                catch (OperationCanceledException)
                {
                    return;
                }

                var controller = new Socket(System.Net.Sockets.AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp) { NoDelay = true };
                await controller.ConnectAsync(target, cancellationToken).ConfigureAwait(false);
                lock (pumps)
                {
                    pumps.Add(ProxyAsync(host, controller));
                }
            }
        }, CancellationToken.None);
        await HostStreamTarget.SessionAsync(listener.LocalEndPoint!, config, cancellationToken).ConfigureAwait(false);
        Task<(byte[], byte[], byte[])>[] all;
        lock (pumps)
        {
            all = [.. pumps];
        }

        var streams = await Task.WhenAll(all).ConfigureAwait(false);
        stop.Cancel();
        await acceptLoop.ConfigureAwait(false);
        return [.. streams];
    }

    /// <summary>Forwards both ways. Returns both streams, and the controller's with each CID replaced by the ordinal
    /// of the host's command it names.</summary>
    private static async Task<(byte[], byte[], byte[])> ProxyAsync(Socket host, Socket controller)
    {
        using (host)
        using (controller)
        {
            var hostCids = new List<ushort>();
            var up = CopyAsync(host, controller, pdu =>
            {
                if (pdu[0] == (byte)NvmeTcpPduType.CapsuleCmd && pdu.Length >= 12)
                {
                    lock (hostCids)
                    {
                        hostCids.Add(System.Buffers.Binary.BinaryPrimitives.ReadUInt16LittleEndian(pdu.AsSpan(10)));
                    }
                }
            });
            var script = new MemoryStream();
            var down = CopyAsync(controller, host, pdu =>
            {
                lock (hostCids)
                {
                    HostStreamTarget.RewriteCids(pdu, cid => (ushort)hostCids.LastIndexOf(cid));
                }

                script.Write(pdu);
            });
            byte[] toHost = await down.ConfigureAwait(false);
            return (await up.ConfigureAwait(false), toHost, script.ToArray());
        }
    }

    /// <summary>Copies a stream, calling <paramref name="onPdu"/> for each whole PDU (framed by the common header's
    /// PLEN) before forwarding it.</summary>
    private static async Task<byte[]> CopyAsync(Socket from, Socket to, Action<byte[]> onPdu)
    {
        var recorded = new MemoryStream();
        var buffer = new byte[64 * 1024];
        int framed = 0;
        try
        {
            int n;
            while ((n = await from.ReceiveAsync(buffer, SocketFlags.None).ConfigureAwait(false)) > 0)
            {
                recorded.Write(buffer, 0, n);
                var all = recorded.GetBuffer().AsSpan(0, (int)recorded.Length);
                while (all.Length - framed >= 8)
                {
                    int plen = (int)System.Buffers.Binary.BinaryPrimitives.ReadUInt32LittleEndian(all[(framed + 4)..]);
                    if (plen < 8 || all.Length - framed < plen)
                    {
                        break;
                    }

                    onPdu(all.Slice(framed, plen).ToArray()); // a copy: the callback may rewrite it
                    framed += plen;
                }

                await to.SendAsync(buffer.AsMemory(0, n), SocketFlags.None).ConfigureAwait(false);
            }

            to.Shutdown(SocketShutdown.Send);
        }
        catch (SocketException)
        {
        }

        return recorded.ToArray();
    }

    private sealed class RecordingResponder(IMctpResponder inner) : IMctpResponder
    {
        public List<byte[]> Requests { get; } = [];

        public List<byte[]> Responses { get; } = [];

        public void Clear()
        {
            Requests.Clear();
            Responses.Clear();
        }

        public ValueTask HandleAsync(MctpEndpointAddress source, ReadOnlyMemory<byte> request, Func<ReadOnlyMemory<byte>, CancellationToken, ValueTask> respond, CancellationToken cancellationToken)
        {
            Requests.Add(request.ToArray());
            return inner.HandleAsync(source, request, (r, ct) =>
            {
                Responses.Add(r.ToArray());
                return respond(r, ct);
            }, cancellationToken);
        }
    }
}
