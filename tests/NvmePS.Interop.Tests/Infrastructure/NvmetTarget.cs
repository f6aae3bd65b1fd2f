using System.Globalization;

namespace NvmePS.Interop.Tests.Infrastructure;

/// <summary>
/// A Linux nvmet-tcp target set up through configfs (/sys/kernel/config/nvmet): one subsystem with
/// file-backed namespaces in tmpfs (buffered_io=1, as O_DIRECT is not possible on tmpfs) exposed on one
/// TCP port on 127.0.0.1. Dispose tears it all down in reverse order.
/// </summary>
public sealed class NvmetTarget : IDisposable
{
    private const string Root = "/sys/kernel/config/nvmet";
    private static int s_next;
    private readonly List<string> _files = [];
    private readonly List<int> _nsids = [];

    public string SubsystemNqn { get; }
    public int Port { get; }
    public int PortId { get; }
    public string SubsystemDir => $"{Root}/subsystems/{SubsystemNqn}";
    public string PortDir => $"{Root}/ports/{PortId}";

    /// <summary>Creates the subsystem and port; add namespaces before hosts connect.</summary>
    public NvmetTarget(int port, string? nqn = null)
    {
        var n = Interlocked.Increment(ref s_next);
        SubsystemNqn = nqn ?? $"nqn.2014-08.org.nvmexpress:nvmeps-interop-{n}";
        Port = port;
        PortId = port; // configfs port ids are free-form numbers; the TCP port is unique per test.
        Directory.CreateDirectory(SubsystemDir);
        Guest.WriteAttr($"{SubsystemDir}/attr_allow_any_host", "1");
        Guest.WriteAttr($"{SubsystemDir}/attr_serial", $"NVMEPSIOP{n:D4}");
        Directory.CreateDirectory(PortDir);
        Guest.WriteAttr($"{PortDir}/addr_trtype", "tcp");
        Guest.WriteAttr($"{PortDir}/addr_adrfam", "ipv4");
        Guest.WriteAttr($"{PortDir}/addr_traddr", "127.0.0.1");
        Guest.WriteAttr($"{PortDir}/addr_trsvcid", port.ToString(CultureInfo.InvariantCulture));
    }

    /// <summary>Adds namespace <paramref name="nsid"/> backed by a sparse file of <paramref name="sizeBytes"/> in /tmp
    /// and returns the backing file's path (the oracle for what reached the target's media).</summary>
    public string AddFileNamespace(uint nsid, long sizeBytes)
    {
        var file = $"/tmp/nvmet-{SubsystemNqn.Split(':')[^1]}-ns{nsid}.img";
        using (var fs = new FileStream(file, FileMode.Create, FileAccess.ReadWrite))
        {
            fs.SetLength(sizeBytes);
        }

        _files.Add(file);
        var ns = $"{SubsystemDir}/namespaces/{nsid}";
        Directory.CreateDirectory(ns);
        Guest.WriteAttr($"{ns}/device_path", file);
        Guest.WriteAttr($"{ns}/buffered_io", "1");
        Guest.WriteAttr($"{ns}/enable", "1");
        _nsids.Add((int)nsid);
        return file;
    }

    /// <summary>Links the subsystem to the port: from here on the target listens.</summary>
    public void Enable()
    {
        File.CreateSymbolicLink($"{PortDir}/subsystems/{SubsystemNqn}", SubsystemDir);
    }

    public void Dispose()
    {
        TryDo(() => File.Delete($"{PortDir}/subsystems/{SubsystemNqn}"));
        TryDo(() => Directory.Delete(PortDir));
        foreach (var ns in _nsids)
        {
            TryDo(() => Guest.WriteAttr($"{SubsystemDir}/namespaces/{ns}/enable", "0"));
            TryDo(() => Directory.Delete($"{SubsystemDir}/namespaces/{ns}"));
        }

        TryDo(() => Directory.Delete(SubsystemDir));
        foreach (var f in _files)
        {
            TryDo(() => File.Delete(f));
        }
    }

    private static void TryDo(Action a)
    {
        try
        {
            a();
        }
        catch (IOException)
        {
        }
        catch (UnauthorizedAccessException)
        {
        }
    }
}
