using NvmePS.Engine.Fabrics.Controller;

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
}
