using NvmePS.Engine.Fabrics;

namespace NvmePS.Commands;

/// <summary>Controller property values split into named fields by the engine's register types (NVMe Base §3.1.4).</summary>
internal static class PropertyFields
{
    public static readonly IReadOnlyDictionary<string, uint> Offsets = new Dictionary<string, uint>(StringComparer.OrdinalIgnoreCase)
    {
        ["CAP"] = ControllerProperty.Cap,
        ["VS"] = ControllerProperty.Vs,
        ["CC"] = ControllerProperty.Cc,
        ["CSTS"] = ControllerProperty.Csts,
        ["NSSR"] = ControllerProperty.Nssr,
        ["CRTO"] = ControllerProperty.Crto,
    };

    public static NvmfProperty Build(string controllerName, uint offset, PropertySize size, ulong value)
    {
        static NvmfPropertyField F(string name, ulong v, string meaning = "") => new() { Name = name, Value = v, Meaning = meaning };
        NvmfPropertyField[] fields = offset switch
        {
            ControllerProperty.Cap => new ControllerCapabilities(value) is var c
                ? new[]
                {
                    F("MQES", c.Mqes, $"{c.MaxQueueEntries} entries per queue at most"),
                    F("CQR", c.Cqr ? 1u : 0u, c.Cqr ? "queues must be physically contiguous" : string.Empty),
                    F("AMS", c.Ams),
                    F("TO", c.To, $"{c.Timeout.TotalSeconds} s to become ready"),
                    F("DSTRD", c.Dstrd),
                    F("NSSRS", c.Nssrs ? 1u : 0u),
                    F("CSS", c.Css),
                    F("BPS", c.Bps ? 1u : 0u),
                    F("CPS", c.Cps),
                    F("MPSMIN", c.Mpsmin, $"{4096L << c.Mpsmin} byte pages at least"),
                    F("MPSMAX", c.Mpsmax, $"{4096L << c.Mpsmax} byte pages at most"),
                    F("PMRS", c.Pmrs ? 1u : 0u),
                    F("CMBS", c.Cmbs ? 1u : 0u),
                    F("NSSS", c.Nsss ? 1u : 0u),
                    F("CRMS", c.Crms),
                }
                : Array.Empty<NvmfPropertyField>(),
            ControllerProperty.Vs => new ControllerVersion((uint)value) is var v
                ? new[] { F("MJR", v.Mjr), F("MNR", v.Mnr), F("TER", v.Ter, $"NVMe {v}") }
                : Array.Empty<NvmfPropertyField>(),
            ControllerProperty.Cc => new ControllerConfiguration((uint)value) is var cc
                ? new[]
                {
                    F("EN", cc.En ? 1u : 0u, cc.En ? "enabled" : "disabled"),
                    F("CSS", cc.Css),
                    F("MPS", cc.Mps, $"{4096L << cc.Mps} byte pages"),
                    F("AMS", cc.Ams),
                    F("SHN", (ulong)cc.Shn, cc.Shn.ToString()),
                    F("IOSQES", cc.Iosqes, $"{1 << cc.Iosqes} byte SQ entries"),
                    F("IOCQES", cc.Iocqes, $"{1 << cc.Iocqes} byte CQ entries"),
                    F("CRIME", cc.Crime ? 1u : 0u),
                }
                : Array.Empty<NvmfPropertyField>(),
            ControllerProperty.Csts => new ControllerStatus((uint)value) is var s
                ? new[]
                {
                    F("RDY", s.Rdy ? 1u : 0u, s.Rdy ? "ready" : "not ready"),
                    F("CFS", s.Cfs ? 1u : 0u, s.Cfs ? "controller fatal status" : string.Empty),
                    F("SHST", (ulong)s.Shst, s.Shst.ToString()),
                    F("NSSRO", s.Nssro ? 1u : 0u),
                    F("PP", s.Pp ? 1u : 0u),
                    F("ST", s.St ? 1u : 0u),
                }
                : Array.Empty<NvmfPropertyField>(),
            _ => Array.Empty<NvmfPropertyField>(),
        };

        return new NvmfProperty
        {
            ControllerName = controllerName,
            Name = ControllerProperty.NameOf(offset),
            Offset = offset,
            Size = size == PropertySize.EightBytes ? 8 : 4,
            Value = value,
            Fields = fields,
        };
    }
}
