using System.Net;
using System.Net.Sockets;
using NvmePS.Tests.Support;

namespace NvmePS.Tests.Commands;

/// <summary>Module state is per runspace (about_NvmePS): each runspace sees and closes only what it opened, and the
/// module's single copy of the assembly in the process does not make runspaces share targets or controllers.</summary>
public sealed class RunspaceStateTests
{
    [Fact]
    public void Each_runspace_sees_and_stops_only_its_own_targets()
    {
        using var a = new ModuleRunspace();
        using var b = new ModuleRunspace();
        NvmfTarget ta = StartTarget(a);
        NvmfTarget tb = StartTarget(b);
        NvmfController ca = Connect(a, ta);

        Assert.Same(ta, Assert.Single(a.Command("Get-NvmfTarget").Invoke().ThrowIfFailed()));
        Assert.Same(tb, Assert.Single(b.Command("Get-NvmfTarget").Invoke().ThrowIfFailed()));
        Assert.Empty(b.Command("Get-NvmfTarget").Arg(ta.SubsystemNqn).Invoke().Output);
        Assert.DoesNotContain(ta.SubsystemNqn, b.Complete("Stop-NvmfTarget", "SubsystemNqn", string.Empty).Select(c => c.CompletionText));
        Assert.DoesNotContain(ca.SubsystemNqn, b.Complete("Disconnect-NvmfController", "SubsystemNqn", string.Empty).Select(c => c.CompletionText));

        // By name, B cannot reach A's target or controller; wildcards match nothing there.
        b.Command("Stop-NvmfTarget").Param("SubsystemNqn", "*").Param("Confirm", false).Invoke();
        b.Command("Disconnect-NvmfController").Param("SubsystemNqn", "*").Invoke();
        Assert.True(ta.IsRunning);
        Assert.True(ca.IsConnected);
        Assert.False(tb.IsRunning);

        a.Command("Stop-NvmfTarget").Input(ta).Invoke().ThrowIfFailed();
    }

    [Fact]
    public void Remove_Module_in_a_parallel_runspace_leaves_the_parent_alone()
    {
        using var a = new ModuleRunspace();
        NvmfTarget t = StartTarget(a);
        NvmfController c = Connect(a, t);

        // The defect this guards: the child's Remove-Module closed the parent's target and controller.
        a.Script("1 | ForEach-Object -Parallel { Import-Module $using:args[0]; $null = Get-NvmfTarget; Remove-Module NvmePS }",
            ModuleUnderTest.ManifestPath).ThrowIfFailed();
        Assert.True(t.IsRunning);
        Assert.True(c.IsConnected);
        var id = Assert.IsType<NvmeControllerIdentity>(Assert.Single(a.Command("Get-NvmeIdentify").Arg(c).Invoke().ThrowIfFailed()));
        Assert.Equal(t.SerialNumber, id.SerialNumber);
        Assert.Same(t, Assert.Single(a.Command("Get-NvmfTarget").Invoke().ThrowIfFailed()));

        a.Command("Stop-NvmfTarget").Input(t).Invoke().ThrowIfFailed();
    }

    [Fact]
    public void Remove_Module_closes_the_runspaces_own_controllers_and_targets()
    {
        using var other = new ModuleRunspace();
        NvmfTarget kept = StartTarget(other);
        using var rs = new ModuleRunspace();
        NvmfTarget t = StartTarget(rs);
        NvmfController c = Connect(rs, t);

        rs.Script("Remove-Module NvmePS").ThrowIfFailed();
        Assert.False(c.IsConnected);
        Assert.False(t.IsRunning);
        Assert.True(kept.IsRunning);
        AssertPortFree(t.Port);

        other.Command("Stop-NvmfTarget").Input(kept).Invoke().ThrowIfFailed();
    }

    [Fact]
    public void Closing_a_runspace_closes_what_it_opened()
    {
        NvmfTarget t;
        NvmfController c;
        using (var rs = new ModuleRunspace())
        {
            t = StartTarget(rs);
            c = Connect(rs, t);
        }

        Assert.False(c.IsConnected);
        Assert.False(t.IsRunning);
        AssertPortFree(t.Port);
    }

    private static NvmfTarget StartTarget(ModuleRunspace rs) =>
        Assert.IsType<NvmfTarget>(Assert.Single(rs.Command("Start-NvmfTarget").Param("Listen", "127.0.0.1:0")
            .Param("SubsystemNqn", ModuleSession.NewNqn()).Invoke().ThrowIfFailed()));

    private static NvmfController Connect(ModuleRunspace rs, NvmfTarget t) =>
        Assert.IsType<NvmfController>(Assert.Single(rs.Command("Connect-NvmfController").Arg(t.Address).Arg(t.SubsystemNqn)
            .Param("ServiceId", t.Port).Invoke().ThrowIfFailed()));

    private static void AssertPortFree(int port)
    {
        using var probe = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
        probe.Bind(new IPEndPoint(IPAddress.Loopback, port));
    }
}
