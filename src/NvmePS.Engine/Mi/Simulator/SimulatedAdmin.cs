namespace NvmePS.Engine.Mi.Simulator;

/// <summary>The simulated controllers' Admin command set (filled in over the shared Admin layer's structures).</summary>
internal static class SimulatedAdmin
{
    public static SimulatedAdminOutcome Execute(SimulatedSubsystem subsystem, SimulatedAdminRequest request) =>
        new(NvmeMiResponder.AdminSuccess(request.CommandSlot, 0, 0, 0, NvmeStatus.Generic(NvmeStatusNames.InvalidCommandOpcode), default), null);
}
