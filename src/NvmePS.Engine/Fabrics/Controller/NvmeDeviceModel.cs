using NvmePS.Engine.Admin;

namespace NvmePS.Engine.Fabrics.Controller;

/// <summary>
/// What a physical drive adds to the controller core: its PCI identity and power states, its sensors and wear, its
/// security protocols, and the side effects a management endpoint watches (namespace and temperature changes). The
/// target's subsystems have none; the NVMe-MI simulator's drive has one, so both run the same Admin command set.
/// Methods are called from the controller's command path and must not block.
/// </summary>
public abstract class NvmeDeviceModel
{
    /// <summary>Identify Controller as this device reports it, given what the core filled in.</summary>
    public virtual NvmeIdentifyController DescribeController(NvmeController controller, NvmeIdentifyController core) => core;

    /// <summary>The SMART / Health log as this device reports it, given the core's I/O counters.</summary>
    public virtual NvmeSmartLog DescribeHealth(NvmeController controller, NvmeSmartLog core) => core;

    /// <summary>True when the device answers Security Send and Receive (Identify Controller OACS bit 0).</summary>
    public virtual bool SupportsSecurity => false;

    /// <summary>Security Send (NVMe Base 2.0 §5.25): the status the command completes with.</summary>
    public virtual NvmeStatus SecuritySend(NvmeController controller, byte secp, ushort spsp, ReadOnlySpan<byte> data) =>
        NvmeStatus.Generic(NvmeStatusNames.InvalidCommandOpcode);

    /// <summary>Security Receive (NVMe Base 2.0 §5.24): fills <paramref name="data"/> and returns the status and the bytes written.</summary>
    public virtual (NvmeStatus Status, int Bytes) SecurityReceive(NvmeController controller, byte secp, ushort spsp, Span<byte> data) =>
        (NvmeStatus.Generic(NvmeStatusNames.InvalidCommandOpcode), 0);

    /// <summary>A namespace was attached, detached, created, deleted or formatted as <paramref name="controller"/> sees it.</summary>
    public virtual void NamespaceChanged(NvmeController controller, uint nsid)
    {
    }

    /// <summary>Set Features Temperature Threshold changed a threshold of <paramref name="controller"/>.</summary>
    public virtual void TemperatureThresholdChanged(NvmeController controller, NvmeTemperatureThreshold threshold)
    {
    }

    /// <summary>Firmware Commit made <paramref name="revision"/> the running firmware.</summary>
    public virtual void FirmwareActivated(string revision)
    {
    }
}
