using System.Net;
using NvmePS.Engine;
using NvmePS.Engine.Fabrics.Controller;
using NvmePS.Engine.Fabrics.Controller.Tcp;
using NvmePS.Engine.Fabrics.Host;
using NvmePS.Interop.Tests.Infrastructure;

namespace NvmePS.Interop.Tests.Fabrics;

/// <summary>
/// A file-backed namespace whose disk fills (a 512 KiB tmpfs under a sparse 8 MiB file): the write that meets ENOSPC
/// completes with Write Fault (SCT 2h, SC 80h), data written before it reads back, and the target keeps serving this
/// and other associations. Root in the VM mounts the small filesystem; nothing here can run on the build machine.
/// </summary>
[Trait("Category", "Interop")]
public sealed class FileNamespaceFaultTests(ITestOutputHelper output)
{
    private const string Nqn = "nqn.2014-08.org.nvmexpress:nvmeps-disk-full";
    private const string HostNqn = "nqn.2014-08.org.nvmexpress:uuid:6e766d65-7073-4000-8000-0000000000f1";

    [InteropFact]
    public async Task A_full_disk_gives_write_fault_and_the_target_goes_on()
    {
        string mount = "/tmp/nvmeps-full";
        Directory.CreateDirectory(mount);
        await Guest.RunCheckedAsync("mount", "-t", "tmpfs", "-o", "size=512k", "tmpfs", mount);
        try
        {
            string file = Path.Combine(mount, "ns.img");
            using var target = new NvmeTarget();
            var sub = target.AddSubsystem(Nqn, allowAnyHost: true);
            sub.AddFileNamespace(file, 8 << 20);
            await using var tcp = new NvmeTcpTarget(target);
            await tcp.ListenAsync(new IPEndPoint(IPAddress.Loopback, 4483));
            var p = new NvmeHostAssociationParameters { HostNqn = HostNqn, IoQueueCount = 1 };
            await using var a = await NvmeHostAssociation.ConnectAsync(tcp.LocalEndPoints[0], Nqn, p, CancellationToken.None);

            byte[] first = Enumerable.Range(0, 64 << 10).Select(i => (byte)(i * 5 + 1)).ToArray();
            await a.WriteAsync(1, 0, first.Length / 512, first, fua: true, CancellationToken.None);

            // 1 MiB more than the filesystem holds, in 64 KiB writes: one of them meets ENOSPC.
            NvmeStatusException? fault = null;
            for (int i = 1; i <= 16 && fault is null; i++)
            {
                try
                {
                    await a.WriteAsync(1, (ulong)(i * 128), 128, new byte[64 << 10], fua: true, CancellationToken.None);
                }
                catch (NvmeStatusException e)
                {
                    fault = e;
                }
            }

            Assert.NotNull(fault);
            Assert.Equal((NvmeStatusCodeType.MediaAndDataIntegrity, NvmeStatusNames.WriteFault), (fault.Status.Sct, fault.Status.Sc));

            // What was written before the disk filled is intact, on this association and on a new one.
            await AssertReadsBackAsync(a, tcp, Nqn, p, first);
            output.WriteLine($"peer=our controller, file namespace on a full 512 KiB tmpfs: ENOSPC -> {fault.StatusName}; earlier data read back on this and a new association; no association failed");
        }
        finally
        {
            await Guest.RunAsync("umount", [mount]);
        }
    }
    /// <summary>After a fault: LBA 0 onwards holds <paramref name="expected"/> on <paramref name="a"/> and on a new
    /// association, and <paramref name="a"/> did not fail.</summary>
    private static async Task AssertReadsBackAsync(NvmeHostAssociation a, NvmeTcpTarget tcp, string nqn, NvmeHostAssociationParameters p, byte[] expected)
    {
        byte[] back = new byte[expected.Length];
        await a.ReadAsync(1, 0, back.Length / 512, back, CancellationToken.None);
        Assert.Equal(expected, back);
        await using (var b = await NvmeHostAssociation.ConnectAsync(tcp.LocalEndPoints[0], nqn, p, CancellationToken.None))
        {
            Array.Clear(back);
            await b.ReadAsync(1, 0, back.Length / 512, back, CancellationToken.None);
            Assert.Equal(expected, back);
        }

        Assert.Null(a.Failure);
    }

    [InteropFact]
    public async Task A_device_that_fails_reads_gives_unrecovered_read_error_and_the_target_goes_on()
    {
        // null_blk from configfs, backed by memory, with a range of sectors marked bad: the kernel fails I/O there with
        // EIO, as a disk with unreadable sectors does.
        string config = "/sys/kernel/config/nullb/nvmeps-bad";
        Directory.CreateDirectory(config);
        try
        {
            File.WriteAllText(Path.Combine(config, "size"), "16");
            File.WriteAllText(Path.Combine(config, "memory_backed"), "1");
            File.WriteAllText(Path.Combine(config, "blocksize"), "512");
            File.WriteAllText(Path.Combine(config, "power"), "1");
            // Linux 6.1 names a null_blk made in configfs after its directory.
            string device = "/dev/" + Path.GetFileName(config);
            Assert.True(await Guest.WaitUntilAsync(() => File.Exists(device), TimeSpan.FromSeconds(10)),
                $"{device} did not appear; power={File.ReadAllText(Path.Combine(config, "power")).Trim()}, block devices: {string.Join(' ', Directory.GetDirectories("/sys/block").Select(Path.GetFileName))}, /dev: {string.Join(' ', Directory.GetFiles("/dev", "nullb*").Select(Path.GetFileName))}");

            using var target = new NvmeTarget();
            var sub = target.AddSubsystem(Nqn + "-eio", allowAnyHost: true);
            var ns = sub.AddFileNamespace(device);
            Assert.Equal(16L << 20, ns.Storage.Length);
            await using var tcp = new NvmeTcpTarget(target);
            await tcp.ListenAsync(new IPEndPoint(IPAddress.Loopback, 4484));
            var p = new NvmeHostAssociationParameters { HostNqn = HostNqn, IoQueueCount = 1 };
            await using var a = await NvmeHostAssociation.ConnectAsync(tcp.LocalEndPoints[0], Nqn + "-eio", p, CancellationToken.None);
            byte[] good = Enumerable.Range(0, 64 << 10).Select(i => (byte)(i * 11 + 7)).ToArray();
            await a.WriteAsync(1, 0, good.Length / 512, good, fua: true, CancellationToken.None);

            // Sectors 16384..16511 (8 MiB in, never read or written, so nothing of them is cached) become unreadable.
            File.WriteAllText(Path.Combine(config, "badblocks"), "+16384-16511");
            var fault = await Assert.ThrowsAsync<NvmeStatusException>(() => a.ReadAsync(1, 16384, 128, new byte[64 << 10], CancellationToken.None).AsTask());
            Assert.Equal((NvmeStatusCodeType.MediaAndDataIntegrity, NvmeStatusNames.UnrecoveredReadError), (fault.Status.Sct, fault.Status.Sc));

            // The rest of the namespace reads as it was written, on this association and on a new one.
            await AssertReadsBackAsync(a, tcp, Nqn + "-eio", p, good);
            output.WriteLine($"peer=our controller, file namespace on {device} (null_blk, badblocks 16384-16511): EIO -> {fault.StatusName}; the rest read back on this and a new association; no association failed");
        }
        finally
        {
            try
            {
                File.WriteAllText(Path.Combine(config, "power"), "0");
            }
            catch (IOException)
            {
            }

            Directory.Delete(config);
        }
    }
}
