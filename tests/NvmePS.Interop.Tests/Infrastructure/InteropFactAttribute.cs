namespace NvmePS.Interop.Tests.Infrastructure;

/// <summary>
/// A test that needs the real kernel peers of the interop VM (booted by tests/interop/run-in-vm.sh).
/// Outside the VM it reports Skipped with the reason (never Passed); inside, it runs. The VM tier
/// (tests/interop/run-interop.sh) fails when anything is skipped there.
/// Every such test also carries the trait Category=Interop so the unit run can exclude it.
/// </summary>
[AttributeUsage(AttributeTargets.Method, AllowMultiple = false)]
public sealed class InteropFactAttribute : FactAttribute
{
    public InteropFactAttribute()
    {
        if (!Guest.InVm)
        {
            Skip = "needs the interop VM's kernel peers: run tests/interop/run-interop.sh";
        }
    }
}

/// <summary><see cref="InteropFactAttribute"/> for theories.</summary>
[AttributeUsage(AttributeTargets.Method, AllowMultiple = false)]
public sealed class InteropTheoryAttribute : TheoryAttribute
{
    public InteropTheoryAttribute()
    {
        if (!Guest.InVm)
        {
            Skip = "needs the interop VM's kernel peers: run tests/interop/run-interop.sh";
        }
    }
}
