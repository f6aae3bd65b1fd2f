using NvmePS.Engine.Fabrics.Controller;
using NvmePS.Engine.Fabrics.Controller.Tcp;

namespace NvmePS.Engine.Tests.Fabrics.Controller;

public class NamespaceSpecTests
{
    [Theory]
    [InlineData("memory:1G", null, 1L << 30, 512, 0u, false)]
    [InlineData("memory:64MiB,bs=4096,nsid=3", null, 64L << 20, 4096, 3u, false)]
    [InlineData("/var/tmp/disk.img,size=10G", "/var/tmp/disk.img", 10L << 30, 512, 0u, false)]
    [InlineData("file:/dev/loop0,ro", "/dev/loop0", null, 512, 0u, true)]
    [InlineData("disk.img", "disk.img", null, 512, 0u, false)]
    [InlineData("memory:4096", null, 4096L, 512, 0u, false)]
    [InlineData("/data/a,,b.img,size=1M", "/data/a,b.img", 1L << 20, 512, 0u, false)]
    [InlineData("file:memory:1G", "memory:1G", null, 512, 0u, false)]
    [InlineData("./memroy:1G", "./memroy:1G", null, 512, 0u, false)]
    public void Parses(string text, string? path, long? size, int bs, uint nsid, bool ro)
    {
        var spec = NvmeNamespaceSpec.Parse(text);
        Assert.Equal(path, spec.Path);
        Assert.Equal(size, spec.Size);
        Assert.Equal(bs, spec.BlockSize);
        Assert.Equal(nsid, spec.Nsid);
        Assert.Equal(ro, spec.ReadOnly);
        Assert.Equal(spec, NvmeNamespaceSpec.Parse(spec.ToString()));
    }

    [Theory]
    [InlineData("")]
    [InlineData("memory:")]
    [InlineData("memory:12Q")]
    [InlineData("memory:1000")]
    [InlineData("memory:1G,bs=1024")]
    [InlineData("memory:1G,ro")]
    [InlineData("disk.img,size=4097")]
    [InlineData("disk.img,nsid=0")]
    [InlineData("disk.img,colour=blue")]
    [InlineData("memory:99999999999T")]
    [InlineData("memroy:1G")]
    [InlineData("memory:100000T")]
    [InlineData("memory:2T")]
    [InlineData("memory:1G,nsid=1,nsid=2")]
    [InlineData("memory:1G,size=2G")]
    [InlineData("disk.img,size=1M,size=2M")]
    [InlineData("disk.img,ro=1")]
    [InlineData("disk.img,ro,readonly")]
    [InlineData("file:")]
    [InlineData("disk.img,")]
    public void Rejects_with_a_message(string text)
    {
        Assert.False(NvmeNamespaceSpec.TryParse(text, out _, out string? error));
        Assert.False(string.IsNullOrEmpty(error));
        Assert.Throws<FormatException>(() => NvmeNamespaceSpec.Parse(text));
    }

    [Fact]
    public void Subsystem_adds_what_the_spec_says()
    {
        using var target = new NvmeTarget();
        var sub = target.AddSubsystem("nqn.2026-01.io.nvmeps:spec");
        var ns = sub.AddNamespace(NvmeNamespaceSpec.Parse("memory:8M,bs=4096,nsid=4"));
        Assert.Equal(4u, ns.Nsid);
        Assert.Equal(4096, ns.BlockSize);
        Assert.Equal(2048, ns.BlockCount);
        string path = Path.Combine(Path.GetTempPath(), $"nvmeps-spec-{Guid.NewGuid():N}.img");
        try
        {
            var file = sub.AddNamespace(NvmeNamespaceSpec.Parse($"{path},size=1M"));
            Assert.Equal(1u, file.Nsid);
            Assert.Equal(2048, file.BlockCount);
            Assert.Equal(1 << 20, new FileInfo(path).Length);
        }
        finally
        {
            sub.RemoveNamespace(1);
            File.Delete(path);
        }
    }

    [Fact]
    public void Errors_quote_the_bad_part()
    {
        Assert.False(NvmeNamespaceSpec.TryParse("memory:1G,nsid=1,nsid=2", out _, out string? error));
        Assert.Equal("'nsid=2': the option 'nsid' is given twice in 'memory:1G,nsid=1,nsid=2'.", error);
        Assert.False(NvmeNamespaceSpec.TryParse("memroy:1G", out _, out error));
        Assert.StartsWith("'memroy:' in 'memroy:1G' is not a namespace type", error, StringComparison.Ordinal);
        Assert.False(NvmeNamespaceSpec.TryParse("memory:1G,bs=1024", out _, out error));
        Assert.Equal("'bs=1024': the block size is 512 or 4096.", error);
    }

    [Fact]
    public void A_prefix_the_caller_knows_as_a_drive_is_a_path()
    {
        var spec = NvmeNamespaceSpec.Parse("TestDrive:/disk.img,size=1M", prefix => prefix == "TestDrive");
        Assert.Equal("TestDrive:/disk.img", spec.Path);
        Assert.Throws<FormatException>(() => NvmeNamespaceSpec.Parse("TestDrive:/disk.img,size=1M"));
        // ToString keeps such a path a path.
        Assert.Equal(spec, NvmeNamespaceSpec.Parse(spec.ToString()));
    }

    [Fact]
    public void Validation_refuses_directories_and_files_too_small_to_serve()
    {
        var dir = Assert.Throws<NvmeNamespaceSpecException>(() => NvmeTargetHost.ValidateNamespaces([NvmeNamespaceSpec.Parse("/tmp")]));
        Assert.Contains("is a directory", dir.Message, StringComparison.Ordinal);
        var empty = Assert.Throws<NvmeNamespaceSpecException>(() => NvmeTargetHost.ValidateNamespaces([NvmeNamespaceSpec.Parse("/dev/null")]));
        Assert.Equal("'/dev/null' holds 0 bytes; a namespace needs at least 4096 and a multiple of the block size 512 (give ',size=' to extend a file).", empty.Message);
    }
}
