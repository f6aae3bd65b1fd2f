using NvmePS.Engine;
using NvmePS.Engine.Mctp;
using NvmePS.Engine.Mi;

namespace NvmePS.Commands;

/// <summary>How an NVMe-MI endpoint is reached.</summary>
public enum NvmeMiTransport
{
    /// <summary>A simulator of this session at that address when there is one, else kernel AF_MCTP.</summary>
    Auto,

    /// <summary>Kernel AF_MCTP sockets (Linux 5.15+ with MCTP configured).</summary>
    AfMctp,

    /// <summary>OpenBMC's libmctp demux daemon socket (-SocketName).</summary>
    Demux,

    /// <summary>A simulated endpoint started in this session with Start-NvmeMiSimulator.</summary>
    Simulated,
}

/// <summary>Opens an engine NVMe-MI endpoint over the chosen transport and checks that it answers.</summary>
internal static class MiConnector
{
    public static async Task<NvmeMiConnection> ConnectAsync(NvmfSession session, uint network, byte eid, NvmeMiTransport transport, string socketName,
        NvmeMiEndpointOptions options, CancellationToken cancellationToken)
    {
        NvmeMiSimulator? simulator = session.Simulators.FirstOrDefault(s => s.Network == network && s.Eid == eid);
        if (transport == NvmeMiTransport.Auto)
        {
            transport = simulator is not null ? NvmeMiTransport.Simulated : NvmeMiTransport.AfMctp;
        }

        NvmeMiEndpoint endpoint = transport switch
        {
            NvmeMiTransport.Simulated => simulator is not null
                ? await simulator.Host.ConnectAsync(options, cancellationToken).ConfigureAwait(false)
                : throw new InvalidOperationException($"No simulated NVMe-MI endpoint at net {network} eid {eid} in this session; start one with Start-NvmeMiSimulator."),
            NvmeMiTransport.Demux => new NvmeMiEndpoint(await MctpDemuxTransport.ConnectAsync(socketName, cancellationToken: cancellationToken).ConfigureAwait(false),
                new MctpEndpointAddress(network, eid), options, ownsTransport: true),
            _ => new NvmeMiEndpoint(new AfMctpTransport(), new MctpEndpointAddress(network, eid), options, ownsTransport: true),
        };
        var connection = new NvmeMiConnection(endpoint, transport.ToString());
        try
        {
            // Connect proves the endpoint answers, so a wrong address fails here rather than at the first real command.
            _ = await endpoint.ReadSubsystemInformationAsync(cancellationToken).ConfigureAwait(false);
        }
        catch
        {
            await connection.CloseAsync().ConfigureAwait(false);
            throw;
        }

        return connection;
    }

    /// <summary>A connection of this session to (network, eid), or a new one made with the Auto transport and kept in the session.</summary>
    public static async Task<NvmeMiConnection> GetOrConnectAsync(NvmfSession session, uint network, byte eid, CancellationToken cancellationToken)
    {
        if (session.MiConnections.FirstOrDefault(c => c.Network == network && c.Eid == eid) is { } existing)
        {
            return existing;
        }

        var c = await ConnectAsync(session, network, eid, NvmeMiTransport.Auto, Engine.Mctp.MctpDemuxProtocol.DefaultSocketName, new NvmeMiEndpointOptions(), cancellationToken).ConfigureAwait(false);
        session.Add(c);
        return c;
    }
}
