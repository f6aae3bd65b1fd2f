using System.Globalization;
using System.Net;
using System.Text;
using NvmePS.Engine;
using NvmePS.Engine.Admin;
using NvmePS.Engine.Fabrics.Auth;
using NvmePS.Engine.Fabrics.Controller;
using NvmePS.Engine.Fabrics.Controller.Tcp;
using NvmePS.Engine.Fabrics.Host;
using NvmePS.Interop.Tests.Infrastructure;

namespace NvmePS.Interop.Tests.Fabrics;

/// <summary>
/// DH-HMAC-CHAP against Linux 6.1 (CONFIG_NVME_AUTH, CONFIG_NVME_TARGET_AUTH): our host against nvmet configured
/// through configfs with keys from Debian's `nvme gen-dhchap-key`, and the kernel's host (`nvme connect
/// --dhchap-secret`) against our target. Each side is the other's oracle: a wrong byte anywhere in the messages,
/// the key transform or the DH exchange fails the transaction.
/// </summary>
[Trait("Category", "Interop")]
public sealed class DhchapWithLinuxTests(ITestOutputHelper output)
{
    private const string HostNqn = "nqn.2014-08.org.nvmexpress:uuid:6e766d65-7073-4000-8000-0000000000a1";
    private const string NvmetRoot = "/sys/kernel/config/nvmet";

    private static async Task<string> GenKeyAsync(int hmac, string? secretHex = null)
    {
        var args = new List<string> { "gen-dhchap-key", $"--hmac={hmac}", $"--nqn={HostNqn}" };
        if (secretHex is not null)
        {
            args.Add($"--secret={secretHex}");
        }

        var r = await Guest.RunAsync("nvme", args);
        Assert.True(r.ExitCode == 0, r.ToString());
        return r.StdOut.Trim();
    }

    [InteropFact]
    public async Task Nvme_cli_keys_parse_and_our_generator_matches_gen_dhchap_key()
    {
        string hex = "0f1e2d3c4b5a69788796a5b4c3d2e1f00112233445566778899aabbccddeeff0";
        foreach (int hmac in new[] { 0, 1 })
        {
            string theirs = await GenKeyAsync(hmac, hex);
            string ours = DhchapSecret.Generate(32, (byte)hmac, HostNqn, Convert.FromHexString(hex)).Reveal();
            Assert.Equal(theirs, ours);
        }

        foreach (int hmac in new[] { 1, 2, 3 })
        {
            var parsed = DhchapSecret.Parse(await GenKeyAsync(hmac));
            Assert.Equal(((byte)hmac, new[] { 32, 48, 64 }[hmac - 1]), (parsed.TransformHash, parsed.KeyLength));
        }

        output.WriteLine("peer=nvme-cli 2.3 gen-dhchap-key: --secret with --hmac 0 and 1 equals DhchapSecret.Generate byte for byte; random keys for hmac 1-3 parse");
    }

    private sealed class NvmetHostKey : IDisposable
    {
        private readonly NvmetTarget _target;

        public NvmetHostKey(NvmetTarget target, string key, string? controllerKey)
        {
            _target = target;
            Dir = $"{NvmetRoot}/hosts/{HostNqn}";
            Directory.CreateDirectory(Dir);
            Guest.WriteAttr($"{Dir}/dhchap_key", key);
            if (controllerKey is not null)
            {
                Guest.WriteAttr($"{Dir}/dhchap_ctrl_key", controllerKey);
            }

            Guest.WriteAttr($"{target.SubsystemDir}/attr_allow_any_host", "0");
            File.CreateSymbolicLink($"{target.SubsystemDir}/allowed_hosts/{HostNqn}", Dir);
        }

        public string Dir { get; }

        public void Use(string hash, string group)
        {
            Guest.WriteAttr($"{Dir}/dhchap_hash", hash);
            Guest.WriteAttr($"{Dir}/dhchap_dhgroup", group);
        }

        public void Dispose()
        {
            File.Delete($"{_target.SubsystemDir}/allowed_hosts/{HostNqn}");
            Directory.Delete(Dir);
        }
    }

    [InteropFact]
    public async Task Our_host_authenticates_to_nvmet_with_every_hash_null_and_ffdhe_groups_both_ways()
    {
        var mark = await Guest.KernelLogMark.NowAsync();
        using var nvmet = new NvmetTarget(4480);
        nvmet.AddFileNamespace(1, 16 << 20);
        nvmet.Enable();
        string hostKey = await GenKeyAsync(1);
        string ctrlKey = await GenKeyAsync(0);
        using var key = new NvmetHostKey(nvmet, hostKey, ctrlKey);
        var ep = new IPEndPoint(IPAddress.Loopback, 4480);
        var log = new StringBuilder();

        NvmeHostAssociationParameters Host(string secret, string? controller) => new()
        {
            HostNqn = HostNqn,
            DhchapSecret = DhchapSecret.Parse(secret),
            DhchapControllerSecret = controller is null ? null : DhchapSecret.Parse(controller),
            IoQueueCount = 1,
            ConnectTimeout = TimeSpan.FromSeconds(60),
        };

        foreach (var (hash, group, bidirectional) in new[]
        {
            ("hmac(sha256)", "null", false), ("hmac(sha384)", "ffdhe2048", true), ("hmac(sha512)", "ffdhe4096", true),
            ("hmac(sha256)", "ffdhe2048", false), ("hmac(sha512)", "null", true),
        })
        {
            key.Use(hash, group);
            Assert.StartsWith(hash, File.ReadAllText($"{key.Dir}/dhchap_hash").Trim(), StringComparison.Ordinal);
            var started = DateTime.UtcNow;
            await using var a = await NvmeHostAssociation.ConnectAsync(ep, nvmet.SubsystemNqn, Host(hostKey, bidirectional ? ctrlKey : null), CancellationToken.None);
            var expected = new DhchapOutcome(hash switch { "hmac(sha384)" => DhchapHash.Sha384, "hmac(sha512)" => DhchapHash.Sha512, _ => DhchapHash.Sha256 },
                Enum.Parse<DhchapGroup>(group, ignoreCase: true), bidirectional);
            Assert.Equal(expected, a.AdminQueue.Authentication);
            Assert.Equal(expected, Assert.Single(a.IoQueues).Authentication);
            int blockSize = (await new NvmeAdminClient(a).IdentifyNamespaceAsync(1)).BlockSize;
            byte[] block = Encoding.ASCII.GetBytes(new string('a', blockSize));
            await a.WriteAsync(1, 8, 1, block, fua: true, CancellationToken.None);
            byte[] back = new byte[blockSize];
            await a.ReadAsync(1, 8, 1, back, CancellationToken.None);
            Assert.Equal(block, back);
            log.Append(CultureInfo.InvariantCulture, $"{hash}/{group}/{(bidirectional ? "bidi" : "uni")} {(DateTime.UtcNow - started).TotalSeconds:0.0}s; ");
        }

        Assert.Empty(await mark.ProblemsAsync());

        // A wrong host key: nvmet answers AUTH_Failure1 and refuses the queue.
        key.Use("hmac(sha256)", "ffdhe2048");
        var wrong = await Assert.ThrowsAsync<NvmeAuthenticationException>(() => NvmeHostAssociation.ConnectAsync(ep, nvmet.SubsystemNqn, Host(DhchapSecret.Generate().Reveal(), null), CancellationToken.None));
        Assert.Equal(((byte)AuthFailureReason.AuthenticationFailed, true), (wrong.Reason, wrong.SentByPeer));

        // A host that expects another controller key: nvmet's proof does not match, our host sends AUTH_Failure2.
        var impostor = await Assert.ThrowsAsync<NvmeAuthenticationException>(() =>
            NvmeHostAssociation.ConnectAsync(ep, nvmet.SubsystemNqn, Host(hostKey, DhchapSecret.Generate().Reveal()), CancellationToken.None));
        Assert.Equal(((byte)AuthFailureReason.AuthenticationFailed, false), (impostor.Reason, impostor.SentByPeer));

        // No secret at all: refused before anything but the Connect.
        await Assert.ThrowsAsync<NvmeAuthenticationException>(() => NvmeHostAssociation.ConnectAsync(ep, nvmet.SubsystemNqn, Host(hostKey, null) with { DhchapSecret = null }, CancellationToken.None));
        output.WriteLine($"peer=Linux nvmet (configfs dhchap_key from nvme gen-dhchap-key): {log}wrong host key -> AUTH_Failure1 from nvmet; wrong controller key -> our AUTH_Failure2; no key -> refused");
    }

    [InteropFact]
    public async Task The_kernel_host_authenticates_to_our_target_and_a_wrong_key_is_refused()
    {
        string nqn = "nqn.2014-08.org.nvmexpress:nvmeps-dhchap-target";
        string hostKey = await GenKeyAsync(2);
        string ctrlKey = await GenKeyAsync(0);
        using var target = new NvmeTarget();
        var sub = target.AddSubsystem(nqn, serialNumber: "NVMEPSAUTH");
        sub.AddMemoryNamespace(8 << 20);
        sub.AllowHost(HostNqn, new DhchapHostKey(DhchapSecret.Parse(hostKey), DhchapSecret.Parse(ctrlKey), DhchapHash.Sha384, DhchapGroup.Ffdhe2048));
        await using var tcp = new NvmeTcpTarget(target);
        await tcp.ListenAsync(new IPEndPoint(IPAddress.Loopback, 4481));

        var ok = await Guest.RunAsync("nvme", ["connect", "-t", "tcp", "-a", "127.0.0.1", "-s", "4481", "-n", nqn, "-q", HostNqn, $"--dhchap-secret={hostKey}", $"--dhchap-ctrl-secret={ctrlKey}"],
            TimeSpan.FromMinutes(2));
        Assert.True(ok.ExitCode == 0, ok.ToString());
        var controller = Assert.Single(sub.Controllers);
        Assert.All(controller.Queues, q => Assert.True(q.IsAuthenticated));
        Assert.All(controller.Queues, q => Assert.Equal(1, q.Authentication!.Successes));
        int queues = controller.Queues.Count;
        Assert.True(queues >= 2, $"{queues} queues");
        string ctrl = Directory.GetDirectories("/sys/class/nvme").Select(Path.GetFileName).Single(n => File.ReadAllText($"/sys/class/nvme/{n}/subsysnqn").Trim() == nqn)!;
        var dev = await Guest.RunAsync("nvme", ["id-ctrl", "/dev/" + ctrl, "-o", "json"]);
        Assert.Contains("NVMEPSAUTH", dev.StdOut, StringComparison.Ordinal);

        // Data through the authenticated queues: written with dd through the block device, found in our namespace.
        // The kernel scans namespaces after `nvme connect` returns: the block device may come a moment later.
        string[] ours = [];
        Assert.True(await Guest.WaitUntilAsync(() => (ours = Directory.GetDirectories("/sys/block", "nvme*n*").Select(Path.GetFileName)
            .Where(b => File.ReadAllText($"/sys/block/{b}/device/subsysnqn").Trim() == nqn && File.Exists($"/dev/{b}")).ToArray()!).Length == 1, TimeSpan.FromSeconds(30)),
            "no block device for our namespace");
        string block = ours[0];
        string pattern = Path.GetTempFileName();
        byte[] data = Enumerable.Range(0, 1 << 16).Select(i => (byte)(i * 7 + 3)).ToArray();
        await File.WriteAllBytesAsync(pattern, data);
        await Guest.RunCheckedAsync("dd", $"if={pattern}", $"of=/dev/{block}", "bs=64k", "count=1", "oflag=direct", "conv=fsync", "status=none");
        byte[] media = new byte[data.Length];
        await sub.GetNamespace(1)!.Storage.ReadAsync(0, media, CancellationToken.None);
        Assert.Equal(data, media);
        string back = Path.GetTempFileName();
        await Guest.RunCheckedAsync("dd", $"if=/dev/{block}", $"of={back}", "bs=64k", "count=1", "iflag=direct", "status=none");
        Assert.Equal(data, await File.ReadAllBytesAsync(back));
        File.Delete(pattern);
        File.Delete(back);
        await Guest.RunCheckedAsync("nvme", "disconnect", "-n", nqn);
        Assert.True(await Guest.WaitUntilAsync(() => sub.Controllers.Count == 0, TimeSpan.FromSeconds(30)), "the association did not end");

        var refused = await Guest.RunAsync("nvme", ["connect", "-t", "tcp", "-a", "127.0.0.1", "-s", "4481", "-n", nqn, "-q", HostNqn, $"--dhchap-secret={await GenKeyAsync(2)}"],
            TimeSpan.FromMinutes(2));
        Assert.NotEqual(0, refused.ExitCode);
        Assert.DoesNotContain(sub.Controllers, c => c.Queues.Any(q => q.IsAuthenticated));
        output.WriteLine($"peer=Linux nvme-tcp host via nvme-cli connect --dhchap-secret/--dhchap-ctrl-secret -> our target (SHA-384, ffdhe2048, bidirectional): " +
                         $"{queues} queues authenticated, id-ctrl read, 64 KiB written and read back through /dev/nvmeXnY and found on our media; a wrong key refused (nvme connect exit {refused.ExitCode})");
    }

    [InteropFact]
    public async Task Our_cmdlets_configure_nvmet_keys_and_connect_both_hosts_with_a_secret()
    {
        const string nqn = "nqn.2014-08.org.nvmexpress:nvmeps-dhchap-kernel";
        string script = Path.Combine(Path.GetTempPath(), $"nvmeps-dhchap-{Environment.ProcessId}.ps1");
        await File.WriteAllTextAsync(script, $$"""
            $ErrorActionPreference = 'Stop'
            Import-Module '{{GuestPwsh.ModuleManifest}}'
            $hostKey = New-NvmeDhchapKey -Hash Sha256 -HostNqn '{{HostNqn}}'
            $ctrlKey = New-NvmeDhchapKey -KeyLength 48
            $f = [System.IO.File]::Open('/tmp/nvmeps-dhchap.img', 'Create'); $f.SetLength(16MB); $f.Dispose()
            $null = Start-NvmfTarget -Kernel -Listen 127.0.0.1:4482 -SubsystemNqn '{{nqn}}' -Namespace /tmp/nvmeps-dhchap.img -BufferedIo -Confirm:$false -AllowedHost @{
                HostNqn = '{{HostNqn}}'; DhchapSecret = $hostKey.Secret; DhchapControllerSecret = $ctrlKey.Secret; DhchapHash = 'Sha512'; DhchapGroup = 'Ffdhe2048' }
            $dir = '/sys/kernel/config/nvmet/hosts/{{HostNqn}}'
            $r = [ordered]@{
                Configfs = "$(Get-Content $dir/dhchap_hash):$(Get-Content $dir/dhchap_dhgroup):$((Get-Content $dir/dhchap_key) -eq $hostKey.Secret):$((Get-Content $dir/dhchap_ctrl_key) -eq $ctrlKey.Secret)"
            }
            $c = Connect-NvmfController 127.0.0.1 '{{nqn}}' -ServiceId 4482 -HostNqn '{{HostNqn}}' -DhchapSecret $hostKey.Secret -DhchapControllerSecret $ctrlKey.Secret
            $r.Userspace = @($c.QueuePairs.Authentication | Select-Object -Unique) -join ';'
            $c | Disconnect-NvmfController
            $out = Connect-NvmfController 127.0.0.1 '{{nqn}}' -ServiceId 4482 -HostNqn '{{HostNqn}}' -DhchapSecret $hostKey.Secret -DhchapControllerSecret $ctrlKey.Secret -Kernel -Verbose 4>&1
            $k = $out | Where-Object { $_ -isnot [System.Management.Automation.VerboseRecord] }
            $verbose = ($out | Where-Object { $_ -is [System.Management.Automation.VerboseRecord] }) -join "`n"
            $r.Kernel = "$($k.State):$($k.SubsystemNqn)"
            $r.VerboseHides = $verbose -match 'dhchap_secret=<hidden>' -and $verbose -notmatch [regex]::Escape($hostKey.Secret.Substring(10, 16))
            $k | Disconnect-NvmfController
            Get-NvmfTarget -Kernel '{{nqn}}' | Stop-NvmfTarget -Confirm:$false
            Remove-Item /tmp/nvmeps-dhchap.img
            $r | ConvertTo-Json
            """);
        var (code, stdout, stderr) = await GuestPwsh.RunAsync(script, TimeSpan.FromMinutes(4));
        Assert.True(code == 0, $"pwsh exit {code}\n{stdout}\n{stderr}");
        using var json = System.Text.Json.JsonDocument.Parse(stdout);
        var r = json.RootElement;
        Assert.Equal("hmac(sha512):ffdhe2048:True:True", r.GetProperty("Configfs").GetString());
        Assert.Equal("DH-HMAC-CHAP Sha512 Ffdhe2048 bidirectional", r.GetProperty("Userspace").GetString());
        Assert.Equal($"live:{nqn}", r.GetProperty("Kernel").GetString());
        Assert.True(r.GetProperty("VerboseHides").GetBoolean());
        File.Delete(script);
        output.WriteLine("peer=real pwsh: Start-NvmfTarget -Kernel -AllowedHost wrote nvmet's dhchap_key/ctrl_key/hash/dhgroup; Connect-NvmfController " +
                         "(userspace, SHA-512 ffdhe2048 bidirectional) and -Kernel (dhchap_secret=/dhchap_ctrl_secret=, verbose shows <hidden>) both authenticated");
    }
}
