using System.Buffers.Binary;
using NvmePS.Engine.Admin;
using NvmePS.Engine.Fabrics.Controller;

namespace NvmePS.Engine.Mi.Simulator;

/// <summary>
/// What the simulated drive adds to the controller core: a PCI identity, two ports, a power state and temperature
/// thresholds in Identify; SMART values from <see cref="SimulatedSubsystem.ComputeSmart"/> (the same ones the NVMe-MI
/// health polls report); a loopback security protocol; and the Composite Controller Status events that namespace
/// changes and firmware activation raise for the management endpoint.
/// </summary>
internal sealed class SimulatedDrive(SimulatedSubsystem drive) : NvmeDeviceModel
{
    private const byte SecurityProtocolInfo = 0x00;
    private const byte SecurityProtocolNvme = 0xEA;

    public override NvmeIdentifyController DescribeController(NvmeController controller, NvmeIdentifyController core)
    {
        var o = drive.Options;
        ushort wctemp;
        lock (drive.Gate)
        {
            wctemp = drive.TemperatureThresholdKelvin;
        }

        core.Vid = o.PciVendorId;
        core.Ssvid = o.PciVendorId;
        core.Ieee = 0x525400;
        // More than one port (bit 0) and more than one controller (bit 1).
        core.Cmic = 0x03;
        // Firmware Activation Notices (bit 9) as well as the core's Namespace Attribute Notices.
        core.Oaes |= 1u << 9;
        // NVMe-MI Send and Receive (bit 6).
        core.Oacs |= 1 << 6;
        core.Wctemp = wctemp;
        core.Cctemp = 358;
        core.Mtfa = 50;
        // One operational power state: 8.25 W maximum (MP in 0.01 W units), no entry/exit latency.
        core.Psd = [new NvmePowerStateDescriptor(825, false, false, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0)];
        return core;
    }

    public override NvmeSmartLog DescribeHealth(NvmeController controller, NvmeSmartLog core)
    {
        SimulatedSmart m;
        lock (drive.Gate)
        {
            m = drive.ComputeSmart();
        }

        core.CriticalWarning = (NvmeCriticalWarning)m.CriticalWarning;
        core.CompositeTemperature = m.TemperatureKelvin;
        core.AvailableSpare = m.AvailableSpare;
        core.AvailableSpareThreshold = m.SpareThreshold;
        core.PercentageUsed = m.PercentageUsed;
        // The drive's life before this run, plus what hosts did through the core.
        core.DataUnitsRead += m.DataUnitsRead;
        core.DataUnitsWritten += m.DataUnitsWritten;
        core.PowerCycles = m.PowerCycles;
        core.PowerOnHours = m.PowerOnHours;
        core.UnsafeShutdowns = m.UnsafeShutdowns;
        core.MediaErrors = m.MediaErrors;
        core.TemperatureSensors[0] = (ushort)(m.TemperatureKelvin + 2);
        core.TemperatureSensors[1] = (ushort)(m.TemperatureKelvin - 3);
        return core;
    }

    public override bool SupportsSecurity => true;

    public override NvmeStatus SecuritySend(NvmeController controller, byte secp, ushort spsp, ReadOnlySpan<byte> data)
    {
        if (secp != SecurityProtocolNvme)
        {
            return NvmeStatus.Generic(NvmeStatusNames.InvalidFieldInCommand);
        }

        lock (drive.Gate)
        {
            var payloads = drive.Controller(controller.Cntlid).SecurityPayloads;
            payloads.Add(data.ToArray());
            if (payloads.Count > 16)
            {
                payloads.RemoveAt(0);
            }
        }

        return NvmeStatus.Success;
    }

    public override (NvmeStatus Status, int Bytes) SecurityReceive(NvmeController controller, byte secp, ushort spsp, Span<byte> data)
    {
        byte[] full;
        if (secp == SecurityProtocolInfo && spsp == 0)
        {
            // Supported security protocol list (SPC-5 §7.7.1): 6 reserved bytes, list length (big-endian), protocols.
            full = new byte[10];
            BinaryPrimitives.WriteUInt16BigEndian(full.AsSpan(6), 2);
            full[8] = SecurityProtocolInfo;
            full[9] = SecurityProtocolNvme;
        }
        else if (secp == SecurityProtocolNvme)
        {
            lock (drive.Gate)
            {
                var payloads = drive.Controller(controller.Cntlid).SecurityPayloads;
                full = payloads.Count == 0 ? [] : payloads[^1];
            }
        }
        else
        {
            return (NvmeStatus.Generic(NvmeStatusNames.InvalidFieldInCommand), 0);
        }

        int n = Math.Min(full.Length, data.Length);
        full.AsSpan(0, n).CopyTo(data);
        return (NvmeStatus.Success, n);
    }

    public override void NamespaceChanged(NvmeController controller, uint nsid)
    {
        lock (drive.Gate)
        {
            drive.RaiseControllerEvent(CompositeControllerStatus.NamespaceAttributeChanged);
        }
    }

    public override void TemperatureThresholdChanged(NvmeController controller, NvmeTemperatureThreshold threshold)
    {
        if (threshold.Tmpsel == 0 && !threshold.UnderTemperature)
        {
            lock (drive.Gate)
            {
                drive.TemperatureThresholdKelvin = threshold.Tmpth;
            }
        }
    }

    public override void FirmwareActivated(string revision)
    {
        lock (drive.Gate)
        {
            drive.RaiseControllerEvent(CompositeControllerStatus.FirmwareActivated);
        }
    }
}
