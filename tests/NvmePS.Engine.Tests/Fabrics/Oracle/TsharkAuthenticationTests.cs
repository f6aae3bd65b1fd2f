using System.Net;
using NvmePS.Engine.Fabrics.Auth;
using NvmePS.Engine.Fabrics.Controller;
using NvmePS.Engine.Fabrics.Controller.Tcp;
using NvmePS.Engine.Fabrics.Host;

namespace NvmePS.Engine.Tests.Fabrics.Oracle;

/// <summary>tshark's NVMe/TCP dissector reads a recorded DH-HMAC-CHAP exchange (ffdhe2048, bidirectional, every queue)
/// as Authentication Send and Receive commands with nothing malformed.</summary>
[Trait("Category", "Oracle")]
public class TsharkAuthenticationTests
{
    [TsharkFact]
    public async Task An_authenticated_association_dissects_cleanly()
    {
        var hostSecret = DhchapSecret.Generate(32, 1, OracleScenario.Host);
        var controllerSecret = DhchapSecret.Generate(48);
        using var target = new NvmeTarget();
        var sub = target.AddSubsystem(OracleScenario.Sub);
        sub.AllowHost(OracleScenario.Host, new DhchapHostKey(hostSecret, controllerSecret, DhchapHash.Sha256, DhchapGroup.Ffdhe2048));
        sub.AddMemoryNamespace(1 << 20, 512);
        await using var tcp = new NvmeTcpTarget(target);
        await tcp.ListenAsync(new IPEndPoint(IPAddress.Loopback, 0));
        var proxy = new RecordingProxy(tcp.LocalEndPoints[0]);
        await using var proxyScope = proxy;
        var p = new NvmeHostAssociationParameters
        {
            HostNqn = OracleScenario.Host,
            HostId = OracleScenario.HostGuid,
            HeaderDigest = true,
            DataDigest = true,
            IoQueueCount = 1,
            SendKeepAlive = false,
            DhchapSecret = hostSecret,
            DhchapControllerSecret = controllerSecret,
        };
        await using (var a = await NvmeHostAssociation.ConnectAsync(proxy.EndPoint, OracleScenario.Sub, p, CancellationToken.None))
        {
            Assert.True(a.AdminQueue.Authentication?.Bidirectional);
            await a.DisconnectAsync(CancellationToken.None);
        }

        await Task.Delay(50);
        string pcap = Path.Combine(Path.GetTempPath(), $"nvmeps-auth-{Guid.NewGuid():N}.pcap");
        PcapWriter.Write(pcap, proxy.Chunks);
        try
        {
            var frames = Tshark.Decode(pcap);
            Assert.NotEmpty(frames);
            foreach (var f in frames)
            {
                foreach (var (key, value) in OracleSupport.Keys(f.Layers))
                {
                    Assert.False(key.StartsWith("_ws.malformed", StringComparison.Ordinal), $"frame {f.Frame} is malformed: {f.Layers}");
                    if (key == "_ws.expert.severity")
                    {
                        Assert.True(OracleSupport.ParseNumber(value.GetString()!) < 0x00600000, $"frame {f.Frame} has an expert warning: {f.Layers}");
                    }
                }
            }

            // Per queue: Negotiate, Challenge, Reply, Success1, Success2 = 3 Sends and 2 Receives, decoded as such.
            var fctypes = OracleSupport.TsharkPdus(frames).Where(t => t.FromHost && t.Type == 4)
                .Select(t => t.Get("nvme.fabrics.cmd.fctype")).Where(v => v is not null).Select(v => OracleSupport.ParseNumber(v!)).ToList();
            Assert.Equal(2 * 3, fctypes.Count(v => v == 5));
            Assert.Equal(2 * 2, fctypes.Count(v => v == 6));
        }
        finally
        {
            File.Delete(pcap);
        }
    }
}
