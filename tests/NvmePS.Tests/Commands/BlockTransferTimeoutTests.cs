using System.Management.Automation;
using NvmePS.Engine.Admin;
using NvmePS.Engine.Tests.Fabrics.Host;
using NvmePS.Tests.Support;

namespace NvmePS.Tests.Commands;

/// <summary>Read-/Write-NvmeBlock's -TimeoutSec bounds the time without progress, not the whole transfer, and a
/// failed -Path read leaves neither a partial file nor a damaged destination. A controller that answers each read
/// slowly (one command per 1 MiB chunk) or never answers past an LBA plays the device.</summary>
[Collection(ModuleSessionCollection.Name)]
public sealed class BlockTransferTimeoutTests : IAsyncLifetime
{
    private const int BlocksPerChunk = (1 << 20) / 512;
    private readonly ModuleSession _s;
    private readonly CancellationTokenSource _release = new();
    private ScriptedController _ctrl = null!;
    private int _delayMs;
    private long _hangFromLba = long.MaxValue;

    public BlockTransferTimeoutTests(ModuleSession session) => _s = session;

    public Task InitializeAsync()
    {
        _ctrl = new ScriptedController(async (c, qp, cmd, icd) =>
        {
            if (cmd.Opcode is not (NvmeIoOpcode.Read or NvmeIoOpcode.Write) || qp is null || (cmd.Opcode == NvmeIoOpcode.Write && Volatile.Read(ref _hangFromLba) == long.MaxValue))
            {
                return false;
            }

            long slba = (long)(cmd.Cdw10 | ((ulong)cmd.Cdw11 << 32));
            if (slba >= Volatile.Read(ref _hangFromLba))
            {
                await Task.Delay(Timeout.Infinite, _release.Token).ContinueWith(_ => { }, TaskScheduler.Default);
                return true;
            }

            // Served one at a time in the queue's receive loop, so the delays add up.
            await Task.Delay(_delayMs, _release.Token).ContinueWith(_ => { }, TaskScheduler.Default);
            return false;
        })
        {
            Mdts = 8, // 1 MiB: one command per chunk of the transfer
            Media = new byte[8 << 20],
        };
        return Task.CompletedTask;
    }

    public async Task DisposeAsync()
    {
        await _release.CancelAsync();
        await _ctrl.DisposeAsync();
        _release.Dispose();
    }

    private int ReadsSeen()
    {
        lock (_ctrl.Commands)
        {
            return _ctrl.Commands.Count(x => x.Opcode == NvmeIoOpcode.Read);
        }
    }

    private NvmfController Connect() =>
        Assert.IsType<NvmfController>(Assert.Single(_s.Host.Command("Connect-NvmfController").Arg("127.0.0.1").Arg("nqn.2024-01.io.nvmeps.test:slow")
            .Param("ServiceId", _ctrl.EndPoint.Port).Invoke().ThrowIfFailed()));

    [Fact]
    public void A_transfer_longer_than_TimeoutSec_succeeds_while_it_makes_progress()
    {
        _delayMs = 700;
        var c = Connect();
        try
        {
            // Six chunks of 700 ms each: about 4 s in all, never 2 s without a chunk completing.
            var r = _s.Host.Command("Read-NvmeBlock").Arg(c).Arg(0L).Arg(6L * BlocksPerChunk).Param("TimeoutSec", 2).Invoke();
            var t = Assert.IsType<NvmeBlockTransfer>(Assert.Single(r.ThrowIfFailed()));
            Assert.Equal(6L * BlocksPerChunk * 512, t.Data.Length);

        }
        finally
        {
            _s.Disconnect(c);
        }
    }

    [Fact]
    public void A_read_that_stops_moving_fails_and_leaves_the_destination_as_it_was()
    {
        _delayMs = 0;
        Volatile.Write(ref _hangFromLba, 3L * BlocksPerChunk);
        string dir = Directory.CreateTempSubdirectory("nvmeps-read").FullName;
        string path = Path.Combine(dir, "copy.img");
        File.WriteAllText(path, "the previous copy");
        var c = Connect();
        try
        {
            var r = _s.Host.Command("Read-NvmeBlock").Arg(c).Arg(0L).Arg(8L * BlocksPerChunk).Param("Path", path).Param("TimeoutSec", 1).Invoke();
            var e = ErrorAssert.Single(r, "NvmeTimeout", ErrorCategory.OperationTimeout);
            Assert.Equal($"No progress for 1 s (-TimeoutSec bounds the time without progress): {3 * BlocksPerChunk} of {8 * BlocksPerChunk} blocks were transferred.", e.Exception.Message);
            Assert.Same(c, e.TargetObject);

            // The old file is intact and no temporary file is left behind.
            Assert.Equal("the previous copy", File.ReadAllText(path));
            Assert.Equal(new[] { path }, Directory.GetFiles(dir));

            // A write that never completes says the same, from its own count.
            r = _s.Host.Command("Write-NvmeBlock").Arg(c).Arg(4L * BlocksPerChunk).Arg(new byte[1 << 20]).Param("TimeoutSec", 1).Invoke();
            e = ErrorAssert.Single(r, "NvmeTimeout", ErrorCategory.OperationTimeout);
            Assert.Equal($"No progress for 1 s (-TimeoutSec bounds the time without progress): 0 of {BlocksPerChunk} blocks were transferred.", e.Exception.Message);
        }
        finally
        {
            _s.Host.Command("Disconnect-NvmfController").Param("InputObject", c).Invoke();
            Directory.Delete(dir, recursive: true);
        }
    }

    [Fact]
    public void A_stopped_read_leaves_no_partial_file()
    {
        _delayMs = 0;
        Volatile.Write(ref _hangFromLba, 2L * BlocksPerChunk);
        string dir = Directory.CreateTempSubdirectory("nvmeps-read").FullName;
        string path = Path.Combine(dir, "copy.img");
        var c = Connect();
        try
        {
            var running = _s.Host.Command("Read-NvmeBlock").Arg(c).Arg(0L).Arg(8L * BlocksPerChunk).Param("Path", path).Start();
            Assert.True(SpinWait.SpinUntil(() => ReadsSeen() >= 3, TimeSpan.FromSeconds(20)));
            Assert.Single(Directory.GetFiles(dir)); // the temporary file, while the read runs
            running.Stop();
            var r = running.Wait(TimeSpan.FromSeconds(20));
            Assert.True(r.Stopped);
            Assert.Empty(Directory.GetFiles(dir));
        }
        finally
        {
            _s.Host.Command("Disconnect-NvmfController").Param("InputObject", c).Invoke();
            Directory.Delete(dir, recursive: true);
        }
    }
}

/// <summary>Read-NvmeBlock -Path to what is not a plain file: a device node and a symbolic link are written through,
/// never renamed over.</summary>
[Collection(ModuleSessionCollection.Name)]
public sealed class ReadDestinationTests(ModuleSession session)
{
    [Fact]
    public void A_device_node_and_a_symlink_are_written_in_place_not_replaced()
    {
        NvmfTarget t = session.StartTarget(namespaces: ["memory:1MB"]);
        string dir = Directory.CreateTempSubdirectory("nvmeps-dest").FullName;
        try
        {
            NvmfController c = session.Connect(t);
            session.Host.Command("Write-NvmeBlock").Arg(c).Arg(0L).Arg(Enumerable.Repeat((byte)0x5A, 4096).ToArray()).Invoke().ThrowIfFailed();
            session.Host.Command("Read-NvmeBlock").Arg(c).Arg(0L).Arg(8L).Param("Path", "/dev/null").Invoke().ThrowIfFailed();
            Assert.Equal("character special file", Stat("/dev/null"));

            string target = Path.Combine(dir, "real.img"), link = Path.Combine(dir, "link.img");
            File.WriteAllText(target, "old");
            File.CreateSymbolicLink(link, target);
            session.Host.Command("Read-NvmeBlock").Arg(c).Arg(0L).Arg(8L).Param("Path", link).Invoke().ThrowIfFailed();
            Assert.Equal("symbolic link", Stat(link));
            Assert.Equal(Enumerable.Repeat((byte)0x5A, 4096), File.ReadAllBytes(target));
            session.Disconnect(c);
        }
        finally
        {
            session.Stop(t);
            Directory.Delete(dir, recursive: true);
        }
    }

    private static string Stat(string path)
    {
        using var p = System.Diagnostics.Process.Start(new System.Diagnostics.ProcessStartInfo("stat", ["-c", "%F", path]) { RedirectStandardOutput = true })!;
        string type = p.StandardOutput.ReadToEnd().Trim();
        p.WaitForExit();
        return type;
    }
}
