using System.Globalization;
using System.Text;

namespace NvmePS.Interop.Tests.Infrastructure;

/// <summary>
/// The Linux nvme-tcp host driven through /dev/nvme-fabrics (what `nvme connect` does underneath): one write
/// of "transport=tcp,traddr=…,trsvcid=…,nqn=…[,options]" on an open fd, then a read of "instance=N,cntlid=M".
/// </summary>
public sealed class KernelNvmeHost : IDisposable
{
    public const string HostNqn = "nqn.2014-08.org.nvmexpress:uuid:6e766d65-7073-4000-8000-000000000001";

    /// <summary>nvmeN.</summary>
    public string Controller { get; }
    public int ControllerId { get; }
    public string SysDir => $"/sys/class/nvme/{Controller}";

    private KernelNvmeHost(string controller, int cntlid)
    {
        Controller = controller;
        ControllerId = cntlid;
    }

    /// <summary>Connects to <paramref name="nqn"/> at 127.0.0.1:<paramref name="port"/>. <paramref name="extraOptions"/>
    /// e.g. "hdr_digest,data_digest". Throws with the kernel's errno when the connect fails.</summary>
    public static KernelNvmeHost Connect(int port, string nqn, string? extraOptions = null)
    {
        var opts = $"transport=tcp,traddr=127.0.0.1,trsvcid={port.ToString(CultureInfo.InvariantCulture)},nqn={nqn},hostnqn={HostNqn}";
        if (!string.IsNullOrEmpty(extraOptions))
        {
            opts += "," + extraOptions;
        }

        using var fs = new FileStream("/dev/nvme-fabrics", FileMode.Open, FileAccess.ReadWrite, FileShare.ReadWrite, 1);
        var req = Encoding.ASCII.GetBytes(opts);
        try
        {
            fs.Write(req);
            fs.Flush();
        }
        catch (IOException e)
        {
            throw new IOException($"kernel nvme-tcp connect ({opts}) refused: {e.Message}", e);
        }

        var buf = new byte[256];
        var n = fs.Read(buf);
        var reply = Encoding.ASCII.GetString(buf, 0, n).Trim();
        // instance=N,cntlid=M
        var fields = reply.Split(',').Select(f => f.Split('=')).Where(kv => kv.Length == 2).ToDictionary(kv => kv[0], kv => kv[1]);
        return new KernelNvmeHost(
            "nvme" + fields["instance"],
            int.Parse(fields["cntlid"], CultureInfo.InvariantCulture));
    }

    public string Attr(string name) => File.ReadAllText($"{SysDir}/{name}").Trim();

    /// <summary>Waits for namespace <paramref name="nsid"/>'s block device and returns its /dev path.</summary>
    public async Task<string> WaitForBlockDeviceAsync(uint nsid, TimeSpan timeout)
    {
        string? found = null;
        await Guest.WaitUntilAsync(
            () =>
            {
                foreach (var d in Directory.Exists(SysDir) ? Directory.GetDirectories(SysDir, "nvme*n*") : [])
                {
                    var nsidFile = Path.Combine(d, "nsid");
                    if (File.Exists(nsidFile) && File.ReadAllText(nsidFile).Trim() == nsid.ToString(CultureInfo.InvariantCulture)
                        && File.Exists("/dev/" + Path.GetFileName(d)))
                    {
                        found = "/dev/" + Path.GetFileName(d);
                        return true;
                    }
                }

                // With native multipath the block device hangs off the subsystem (nvmeXnY), not the controller.
                foreach (var b in Directory.GetDirectories("/sys/block", "nvme*n*"))
                {
                    var dev = "/dev/" + Path.GetFileName(b);
                    if (File.Exists(Path.Combine(b, "nsid")) && File.ReadAllText(Path.Combine(b, "nsid")).Trim() == nsid.ToString(CultureInfo.InvariantCulture)
                        && Directory.Exists(Path.Combine(b, "device")) && File.Exists(dev)
                        && Directory.GetDirectories(Path.Combine(b, "device")).Length >= 0
                        && BelongsToUs(b))
                    {
                        found = dev;
                        return true;
                    }
                }

                return false;
            },
            timeout);
        return found ?? throw new TimeoutException($"no block device for {Controller} nsid {nsid} within {timeout}");
    }

    private bool BelongsToUs(string sysBlockDir)
    {
        // /sys/block/nvmeXnY/device -> the subsystem (multipath head) or the controller.
        var target = new DirectoryInfo(Path.Combine(sysBlockDir, "device")).ResolveLinkTarget(true)?.FullName ?? string.Empty;
        if (target.EndsWith("/" + Controller, StringComparison.Ordinal))
        {
            return true;
        }

        // Multipath head: the subsystem directory lists our controller.
        return Directory.Exists(Path.Combine(target, Controller)) || Directory.Exists(Path.Combine(SysDir, Path.GetFileName(sysBlockDir)));
    }

    /// <summary>Disconnects the way `nvme disconnect` does: writes 1 to sysfs delete_controller.</summary>
    public void Dispose()
    {
        if (Directory.Exists(SysDir))
        {
            try
            {
                Guest.WriteAttr($"{SysDir}/delete_controller", "1");
            }
            catch (IOException)
            {
            }
        }
    }

    public Task<bool> WaitGoneAsync(TimeSpan timeout) => Guest.WaitUntilAsync(() => !Directory.Exists(SysDir), timeout);
}
