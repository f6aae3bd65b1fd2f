using NvmePS.Engine.Fabrics.Host;

namespace NvmePS.Engine.Tests.Fabrics.Host;

public sealed class HostIdentityTests : IDisposable
{
    private const string FileNqn = "nqn.2014-08.org.nvmexpress:uuid:12345678-1234-1234-1234-123456789abc";
    private static readonly Guid FileId = Guid.Parse("12345678-1234-1234-1234-123456789abc");
    private readonly string _dir = Directory.CreateTempSubdirectory("nvmeps-hostid-").FullName;

    public void Dispose() => Directory.Delete(_dir, true);

    [Fact]
    public void Without_given_or_configured_values_the_identity_is_the_same_host_the_default_parameters_present()
    {
        // _dir is empty: no hostnqn or hostid file.
        var identity = NvmeHostIdentity.Resolve(configDirectory: _dir);
        var defaults = new NvmeHostAssociationParameters();
        Assert.Equal(defaults.HostId, identity.HostId);
        Assert.Equal(defaults.EffectiveHostNqn, identity.HostNqn);
    }

    [Fact]
    public void Without_files_a_uuid_nqn_is_generated_once_per_process()
    {
        var a = NvmeHostIdentity.Resolve(null, null, _dir);
        Assert.NotEqual(Guid.Empty, a.HostId);
        Assert.Equal($"nqn.2014-08.org.nvmexpress:uuid:{a.HostId:D}", a.HostNqn);
        Assert.Equal(a, NvmeHostIdentity.Resolve(null, null, _dir));
        Assert.Equal(a, NvmeHostIdentity.Resolve(string.Empty, Guid.Empty, _dir));
    }

    [Fact]
    public void Files_in_the_config_directory_are_used_trimmed()
    {
        File.WriteAllText(Path.Combine(_dir, "hostnqn"), FileNqn + "\n");
        File.WriteAllText(Path.Combine(_dir, "hostid"), "  12345678-1234-1234-1234-123456789abc\n");
        var id = NvmeHostIdentity.Resolve(null, null, _dir);
        Assert.Equal(new NvmeHostIdentity(FileNqn, FileId), id);
    }

    [Fact]
    public void Hostid_file_alone_names_the_generated_nqn()
    {
        File.WriteAllText(Path.Combine(_dir, "hostid"), "12345678-1234-1234-1234-123456789abc");
        Assert.Equal(new NvmeHostIdentity(FileNqn, FileId), NvmeHostIdentity.Resolve(null, null, _dir));
    }

    [Fact]
    public void Explicit_values_win_over_files()
    {
        File.WriteAllText(Path.Combine(_dir, "hostnqn"), FileNqn);
        File.WriteAllText(Path.Combine(_dir, "hostid"), FileId.ToString());
        var given = Guid.Parse("aaaaaaaa-bbbb-cccc-dddd-eeeeeeeeeeee");
        Assert.Equal(new NvmeHostIdentity("nqn.x:y", given), NvmeHostIdentity.Resolve("nqn.x:y", given, _dir));
        Assert.Equal(new NvmeHostIdentity("nqn.x:y", FileId), NvmeHostIdentity.Resolve("nqn.x:y", null, _dir));
    }

    [Fact]
    public void Garbage_empty_or_oversized_files_are_ignored()
    {
        File.WriteAllText(Path.Combine(_dir, "hostid"), "not-a-guid");
        File.WriteAllText(Path.Combine(_dir, "hostnqn"), "   \n");
        var a = NvmeHostIdentity.Resolve(null, null, _dir);
        Assert.Equal($"nqn.2014-08.org.nvmexpress:uuid:{a.HostId:D}", a.HostNqn);

        File.WriteAllText(Path.Combine(_dir, "hostid"), Guid.Empty.ToString());
        File.WriteAllText(Path.Combine(_dir, "hostnqn"), new string('x', 5000));
        Assert.Equal(a, NvmeHostIdentity.Resolve(null, null, _dir));
    }

    [Fact]
    public void A_directory_in_place_of_a_file_is_ignored()
    {
        Directory.CreateDirectory(Path.Combine(_dir, "hostnqn"));
        var a = NvmeHostIdentity.Resolve(null, null, _dir);
        Assert.StartsWith("nqn.2014-08.org.nvmexpress:uuid:", a.HostNqn, StringComparison.Ordinal);
    }

    [Fact]
    public void ApplyTo_sets_both_fields_and_keeps_the_rest()
    {
        var p = new NvmeHostIdentity("nqn.x:y", FileId).ApplyTo(new NvmeHostAssociationParameters { IoQueueCount = 3, HeaderDigest = true });
        Assert.Equal("nqn.x:y", p.EffectiveHostNqn);
        Assert.Equal(FileId, p.HostId);
        Assert.Equal(3, p.IoQueueCount);
        Assert.True(p.HeaderDigest);
    }

    [Fact]
    public void The_machine_uuid_comes_from_machine_id_never_the_machine_id_itself_and_never_from_root_only_DMI()
    {
        string root = Path.Combine(_dir, "root");
        Directory.CreateDirectory(Path.Combine(root, "sys/class/dmi/id"));
        Directory.CreateDirectory(Path.Combine(root, "etc"));
        Assert.Null(MachineIdentity.Read(root));

        File.WriteAllText(Path.Combine(root, "etc/machine-id"), "3d1219c7c4c5404aaa1f6d2a48adfda4\n");
        var derived = MachineIdentity.Read(root)!.Value;
        Assert.Equal(MachineIdentity.MachineIdSource, derived.Source);
        Assert.NotEqual(Guid.Parse("3d1219c7-c4c5-404a-aa1f-6d2a48adfda4"), derived.Id);
        string text = derived.Id.ToString("D");
        Assert.Equal('4', text[14]);                       // version 4
        Assert.Contains(text[19], "89ab");                 // RFC 4122 variant
        Assert.Equal(derived, MachineIdentity.Read(root)); // the same every time

        // The DMI product UUID (root-only on most systems) is not used, so root and users present one host.
        File.WriteAllText(Path.Combine(root, "sys/class/dmi/id/product_uuid"), "4C4C4544-0042-3510-8052-B4C04F333732\n");
        Assert.Equal(derived, MachineIdentity.Read(root));
    }

    [Fact]
    public void Persist_writes_what_Resolve_reads_and_says_where_it_came_from()
    {
        var generated = NvmeHostIdentity.Generate(random: true);
        Assert.Equal($"nqn.2014-08.org.nvmexpress:uuid:{generated.HostId:D}", generated.HostNqn);
        generated.Persist(Path.Combine(_dir, "nvme"));
        Assert.Equal(generated.HostNqn + "\n", File.ReadAllText(Path.Combine(_dir, "nvme", "hostnqn")));
        Assert.Equal(generated, NvmeHostIdentity.Resolve(null, null, Path.Combine(_dir, "nvme"), out string source));
        Assert.Equal(Path.Combine(_dir, "nvme", "hostnqn"), source);
        Assert.Empty(Directory.GetFiles(Path.Combine(_dir, "nvme"), "*tmp*"));
        Assert.Throws<ArgumentException>(() => new NvmeHostIdentity("not an nqn", Guid.NewGuid()).Persist(_dir));
        NvmeHostIdentity.Resolve("nqn.2024-01.io.x:y", null, _dir, out source);
        Assert.Equal("given", source);
    }
}
