using System.Net;
using NvmePS.Engine.Fabrics;
using NvmePS.Engine.Fabrics.Controller;
using NvmePS.Engine.Fabrics.Controller.Tcp;
using NvmePS.Engine.Fabrics.Host;

namespace NvmePS.Engine.Tests.Fabrics.Oracle;

/// <summary>
/// Our host against our controller through a <see cref="RecordingProxy"/>: connect (ICReq/ICResp, Connect, Property
/// Get/Set, Identify, Set Features), in-capsule write, R2T + H2CData write, C2HData read, discovery log, disconnect. The
/// recording becomes a pcap for tshark; the scenario also returns what it intended so tests compare tshark's view with it.
/// </summary>
internal sealed record OracleScenario(
    string Pcap,
    IReadOnlyList<RecordedChunk> Chunks,
    string HostNqn,
    Guid HostId,
    string SubNqn,
    ushort Cntlid,
    byte[] SmallWrite,
    byte[] BigWrite,
    DiscoveryLog Discovery,
    int MaxH2CData,
    int InCapsule,
    int TargetPort,
    bool HeaderDigest,
    bool DataDigest,
    bool NoFlowControl,
    byte Hpda,
    byte Cpda)
{
    public const string Sub = "nqn.2026-11.io.nvmeps.review:oracle";
    public const string Host = "nqn.2014-08.org.nvmexpress:uuid:6d1a2f3e-0000-4000-8000-00000000beef";
    public static readonly Guid HostGuid = Guid.Parse("6d1a2f3e-0000-4000-8000-00000000beef");

    /// <summary>LBA (512-byte blocks) of the in-capsule write.</summary>
    public const ulong SmallLba = 8;

    /// <summary>LBA of the R2T write and of the read.</summary>
    public const ulong BigLba = 100;

    public static async Task<OracleScenario> RunAsync(bool headerDigest, bool dataDigest, bool disableFlowControl, byte hpda = 0, byte cpda = 0)
    {
        const int maxH2C = 16 * 1024;
        var options = new NvmeTargetOptions { MaxH2CData = maxH2C, InCapsuleDataSize = 8192, Cpda = cpda };
        using var target = new NvmeTarget(options);
        var sub = target.AddSubsystem(Sub);
        sub.AllowHost(Host);
        sub.AddMemoryNamespace(4 << 20, 512);
        await using var tcp = new NvmeTcpTarget(target);
        await tcp.ListenAsync(new IPEndPoint(IPAddress.Loopback, 0));
        int targetPort = tcp.LocalEndPoints[0].Port;
        var proxy = new RecordingProxy(tcp.LocalEndPoints[0]);
        await using var proxyScope = proxy;

        var p = new NvmeHostAssociationParameters
        {
            HostNqn = Host,
            HostId = HostGuid,
            HeaderDigest = headerDigest,
            DataDigest = dataDigest,
            DisableSqFlowControl = disableFlowControl,
            IoQueueCount = 1,
            IoQueueSize = 32,
            KeepAliveTimeout = TimeSpan.FromSeconds(30),
            SendKeepAlive = false,
            Hpda = hpda,
        };

        byte[] small = new byte[4096];
        byte[] big = new byte[40 * 1024];
        new Random(7).NextBytes(small);
        new Random(8).NextBytes(big);
        using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(30));
        ushort cntlid;
        await using (var a = await NvmeHostAssociation.ConnectAsync(proxy.EndPoint, Sub, p, cts.Token))
        {
            cntlid = a.Cntlid;
            await a.WriteAsync(1, SmallLba, small.Length / 512, small, fua: false, cts.Token);
            await a.WriteAsync(1, BigLba, big.Length / 512, big, fua: false, cts.Token);
            byte[] back = new byte[big.Length];
            await a.ReadAsync(1, BigLba, back.Length / 512, back, cts.Token);
            Assert.Equal(big, back);
            await a.DisconnectAsync(cts.Token);
        }

        DiscoveryLog log;
        await using (var d = await NvmeHostAssociation.ConnectDiscoveryAsync(proxy.EndPoint, p, cts.Token))
        {
            log = await d.GetDiscoveryLogAsync(cts.Token);
            await d.DisconnectAsync(cts.Token);
        }

        // Let the relay drain what is still in flight (the final shutdown completions were already received by the host).
        await Task.Delay(50);
        var chunks = proxy.Chunks;
        string pcap = Path.Combine(Path.GetTempPath(), $"nvmeps-oracle-{Guid.NewGuid():N}.pcap");
        PcapWriter.Write(pcap, chunks);
        // Kept for the test run (several tests decode it), removed when the test process exits.
        AppDomain.CurrentDomain.ProcessExit += (_, _) => File.Delete(pcap);
        return new OracleScenario(pcap, chunks, Host, HostGuid, Sub, cntlid, small, big, log, maxH2C, 8192, targetPort,
            headerDigest, dataDigest, disableFlowControl, hpda, cpda);
    }
}
