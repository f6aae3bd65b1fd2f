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
}
