using System.Globalization;
using NvmePS.Engine.Admin;
using NvmePS.Interop.Tests.Infrastructure;

namespace NvmePS.Interop.Tests.Mi;

/// <summary>
/// Debian's libnvme-mi (libnvme1) as a second, independent client: tests/interop/libnvme-mi-client.c, built by the
/// harness, opens our simulated endpoint with nvme_mi_open_mctp over the kernel's AF_MCTP and reads the MI data
/// structures, subsystem health and (tunnelled) Identify Controller. Every field equals what our client reads.
/// </summary>
[Trait("Category", "Interop")]
public sealed class LibnvmeMiInteropTests(ITestOutputHelper output)
{
    [InteropFact]
    public async Task Libnvme_mi_reads_the_same_values_as_our_client()
    {
        await using var rig = await MiRig.StartAsync("lo");
        var ep = rig.Endpoint;

        // Our client reads everything first; that also warms the simulator up (JIT under emulation can exceed
        // libnvme's per-command timeout), so both clients then see the same, settled endpoint.
        var ss = await ep.ReadSubsystemInformationAsync();
        var ports = new List<NvmePS.Engine.Mi.PortInformation>();
        for (byte p = 0; p <= ss.Nump; p++)
        {
            ports.Add(await ep.ReadPortInformationAsync(p));
        }

        var ids = await ep.ReadControllerListAsync();
        var infos = new List<NvmePS.Engine.Mi.ControllerInformation>();
        foreach (var id in ids)
        {
            infos.Add(await ep.ReadControllerInformationAsync(id));
        }

        var hs = await ep.PollSubsystemHealthAsync();
        var idc = await new NvmeAdminClient(ep.GetAdminTransport(ids[0])).IdentifyControllerAsync();

        var tool = Path.Combine(Guest.ToolsDir, "libnvme-mi-client");
        Assert.True(File.Exists(tool), $"{tool} was not built by the harness");
        var r = await Guest.RunAsync(tool, ["1", MiRig.LoEid.ToString(CultureInfo.InvariantCulture), .. ids.Select(i => i.ToString(CultureInfo.InvariantCulture))], TimeSpan.FromSeconds(60));
        output.WriteLine($"libnvme-mi-client exit {r.ExitCode}\n{r.StdOut}{r.StdErr}");
        Assert.True(r.ExitCode == 0, $"libnvme-mi failed: {r}");
        var kv = r.StdOut.Split('\n', StringSplitOptions.RemoveEmptyEntries)
            .Select(l => l.Split('=', 2)).Where(p => p.Length == 2).ToDictionary(p => p[0], p => p[1]);
        int I(string k) => int.Parse(kv[k], CultureInfo.InvariantCulture);

        Assert.Equal(ss.Nump, I("subsys.nump"));
        Assert.Equal(ss.MajorVersion, I("subsys.mjr"));
        Assert.Equal(ss.MinorVersion, I("subsys.mnr"));
        for (var p = 0; p < ports.Count; p++)
        {
            Assert.Equal((int)ports[p].PortType, I($"port{p}.portt"));
            Assert.Equal(ports[p].MaxMctpTransmissionUnit, I($"port{p}.mmctptus"));
            Assert.Equal((long)ports[p].ManagementEndpointBufferSize, long.Parse(kv[$"port{p}.meb"], CultureInfo.InvariantCulture));
        }

        var listNote = "controller list equal";
        if (kv.ContainsKey("ctrl_list.error"))
        {
            // Only the known libnvme < 1.6 limitation may explain this: our Controller List response body is
            // 2 + 2n bytes, which is not a multiple of 4 exactly when n is even (spec-legal; libnvme PR #675).
            Assert.True(ids.Count % 2 == 0, $"libnvme-mi could not read a Controller List of {ids.Count} entries");
            listNote = $"controller list: libnvme 1.3 rejects the spec-legal {2 + (2 * ids.Count)}-byte (unaligned) response (fixed in libnvme PR #675), so its controller reads used our IDs";
        }
        else
        {
            Assert.Equal(string.Join(',', ids), kv["ctrl_list.ids"]);
        }

        foreach (var ci in infos.Zip(ids))
        {
            var (info, id) = ci;
            Assert.Equal(info.PortId, I($"ctrl{id}.portid"));
            Assert.Equal(info.PciRoutingId, I($"ctrl{id}.pri"));
            Assert.Equal(info.PciVendorId, I($"ctrl{id}.vid"));
            Assert.Equal(info.PciDeviceId, I($"ctrl{id}.did"));
            Assert.Equal(info.PciSubsystemVendorId, I($"ctrl{id}.ssvid"));
            Assert.Equal(info.PciSubsystemDeviceId, I($"ctrl{id}.ssid"));
        }

        Assert.Equal(hs.SubsystemStatus, I("health.nss"));
        Assert.Equal(hs.SmartWarnings, I("health.sw"));
        Assert.Equal((byte)hs.CompositeTemperatureCelsius, I("health.ctemp"));
        Assert.Equal(hs.PercentageDriveLifeUsed, I("health.pdlu"));
        Assert.Equal((int)hs.CompositeControllerStatus, I("health.ccs"));

        Assert.Equal(idc.Vid, I("identify.vid"));
        Assert.Equal(idc.Sn.Trim(), kv["identify.sn"].Trim());
        Assert.Equal(idc.Mn.Trim(), kv["identify.mn"].Trim());
        Assert.Equal(idc.Fr.Trim(), kv["identify.fr"].Trim());
        Assert.Equal(idc.Cntlid, I("identify.cntlid"));
        output.WriteLine($"peer=libnvme-mi {LibVersion()} (nvme_mi_open_mctp net 1 EID 0x{MiRig.LoEid:X2}) vs our client, both via Linux AF_MCTP to our simulator: " +
                         $"subsystem info, {ss.PortCount} ports, controller info for [{string.Join(',', ids)}], subsystem health, Identify Controller (SN/MN/FR/VID/CNTLID) all equal; {listNote}");
    }

    private static string LibVersion()
    {
        var f = Directory.GetFiles("/usr/lib/x86_64-linux-gnu", "libnvme-mi.so.*").OrderBy(x => x.Length).LastOrDefault();
        return f is null ? "(unknown version)" : Path.GetFileName(f);
    }
}
