using NvmePS.Engine.Tests.Kernel;

namespace NvmePS.Tests.Support;

/// <summary>
/// A sysfs with one local PCIe controller and a configfs with one nvmet subsystem, laid out as Linux 6.1 lays them
/// out, which the module reads through NVMEPS_SYSFS_PATH and NVMEPS_CONFIGFS_PATH: this machine has no NVMe driver
/// and no nvmet, and the views of the kernel types must still be rendered. The variables are process-wide, so users
/// of the real (absent) kernel interfaces take <see cref="Gate"/> too.
/// </summary>
public sealed class FakeKernelTrees : IDisposable
{
    /// <summary>Held while the variables are set, and by tests that need them unset.</summary>
    public static readonly SemaphoreSlim Gate = new(1, 1);

    private readonly string _root;

    private FakeKernelTrees(string root) => _root = root;

    public const string SubsystemNqn = "nqn.2024-01.io.nvmeps:fake-nvmet";

    public static FakeKernelTrees Use()
    {
        Gate.Wait();
        string root = Directory.CreateTempSubdirectory("nvmeps-fake-kernel-").FullName;
        KernelTrees.PcieController(Path.Combine(root, "sys"), 0);
        KernelTrees.NvmetSubsystem(Path.Combine(root, "config"), SubsystemNqn, "/dev/nullb0", port: 1, address: "127.0.0.1", service: "4420",
            hosts: new[] { "nqn.2014-08.org.nvmexpress:uuid:6e766d65-7073-4000-8000-000000000001" });
        Environment.SetEnvironmentVariable("NVMEPS_SYSFS_PATH", Path.Combine(root, "sys"));
        Environment.SetEnvironmentVariable("NVMEPS_CONFIGFS_PATH", Path.Combine(root, "config"));
        return new FakeKernelTrees(root);
    }

    public void Dispose()
    {
        Environment.SetEnvironmentVariable("NVMEPS_SYSFS_PATH", null);
        Environment.SetEnvironmentVariable("NVMEPS_CONFIGFS_PATH", null);
        Directory.Delete(_root, recursive: true);
        Gate.Release();
    }
}
