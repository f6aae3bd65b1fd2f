using System.Globalization;

namespace NvmePS.Engine.Admin;

/// <summary>
/// Log page and feature identifiers by the names users type (the spec table names, shortened as nvme-cli does) or
/// by number (decimal or 0x hex), and feature values decoded into their fields. Front ends pass user input here.
/// </summary>
public static class NvmeAdminNames
{
    /// <summary>Log page names (Base Specification 2.0 §5.16.1 Figure 202) → LID.</summary>
    public static readonly IReadOnlyDictionary<string, byte> LogPages = new Dictionary<string, byte>(StringComparer.OrdinalIgnoreCase)
    {
        ["SupportedLogPages"] = NvmeLogPageId.SupportedLogPages,
        ["Error"] = NvmeLogPageId.ErrorInformation,
        ["Smart"] = NvmeLogPageId.SmartHealth,
        ["FirmwareSlot"] = NvmeLogPageId.FirmwareSlot,
        ["ChangedNamespaces"] = NvmeLogPageId.ChangedNamespaceList,
        ["CommandEffects"] = NvmeLogPageId.CommandsSupportedAndEffects,
        ["DeviceSelfTest"] = NvmeLogPageId.DeviceSelfTest,
        ["Discovery"] = NvmeLogPageId.Discovery,
        ["ReservationNotification"] = NvmeLogPageId.ReservationNotification,
        ["SanitizeStatus"] = NvmeLogPageId.SanitizeStatus,
    };

    /// <summary>Feature names (Base Specification 2.0 §5.27.1 Figure 317) → FID.</summary>
    public static readonly IReadOnlyDictionary<string, byte> Features = new Dictionary<string, byte>(StringComparer.OrdinalIgnoreCase)
    {
        ["Arbitration"] = NvmeFeatureId.Arbitration,
        ["PowerManagement"] = NvmeFeatureId.PowerManagement,
        ["LbaRangeType"] = NvmeFeatureId.LbaRangeType,
        ["TemperatureThreshold"] = NvmeFeatureId.TemperatureThreshold,
        ["ErrorRecovery"] = NvmeFeatureId.ErrorRecovery,
        ["VolatileWriteCache"] = NvmeFeatureId.VolatileWriteCache,
        ["NumberOfQueues"] = NvmeFeatureId.NumberOfQueues,
        ["InterruptCoalescing"] = NvmeFeatureId.InterruptCoalescing,
        ["InterruptVectorConfiguration"] = NvmeFeatureId.InterruptVectorConfiguration,
        ["WriteAtomicityNormal"] = NvmeFeatureId.WriteAtomicityNormal,
        ["AsyncEventConfiguration"] = NvmeFeatureId.AsynchronousEventConfiguration,
        ["AutonomousPowerStateTransition"] = NvmeFeatureId.AutonomousPowerStateTransition,
        ["HostMemoryBuffer"] = NvmeFeatureId.HostMemoryBuffer,
        ["Timestamp"] = NvmeFeatureId.Timestamp,
        ["KeepAliveTimer"] = NvmeFeatureId.KeepAliveTimer,
        ["HostControlledThermalManagement"] = NvmeFeatureId.HostControlledThermalManagement,
        ["NonOperationalPowerStateConfig"] = NvmeFeatureId.NonOperationalPowerStateConfig,
        ["HostIdentifier"] = NvmeFeatureId.HostIdentifier,
        ["ReservationNotificationMask"] = NvmeFeatureId.ReservationNotificationMask,
        ["ReservationPersistence"] = NvmeFeatureId.ReservationPersistence,
    };

    /// <summary>A name from <paramref name="names"/>, or a number 0–255 (decimal or 0x hex).</summary>
    public static bool TryParse(string? text, IReadOnlyDictionary<string, byte> names, out byte value)
    {
        ArgumentNullException.ThrowIfNull(names);
        value = 0;
        if (text is null)
        {
            return false;
        }

        text = text.Trim();
        if (names.TryGetValue(text, out value))
        {
            return true;
        }

        return text.StartsWith("0x", StringComparison.OrdinalIgnoreCase)
            ? byte.TryParse(text.AsSpan(2), NumberStyles.AllowHexSpecifier, CultureInfo.InvariantCulture, out value)
            : byte.TryParse(text, NumberStyles.None, CultureInfo.InvariantCulture, out value);
    }

    /// <summary>The name of <paramref name="value"/> in <paramref name="names"/>, else "0xNN".</summary>
    public static string NameOf(byte value, IReadOnlyDictionary<string, byte> names)
    {
        ArgumentNullException.ThrowIfNull(names);
        return names.FirstOrDefault(kv => kv.Value == value).Key ?? $"0x{value:X2}";
    }

    /// <summary>A feature's Dword 0 decoded into its fields by the typed feature values (NvmeFeatures.cs); empty
    /// for features without a decoder.</summary>
    public static string DescribeFeature(byte fid, uint dw0) => fid switch
    {
        NvmeFeatureId.Arbitration => NvmeArbitration.FromDword(dw0) is var a ? $"AB={a.Ab} LPW={a.Lpw} MPW={a.Mpw} HPW={a.Hpw}" : string.Empty,
        NvmeFeatureId.PowerManagement => NvmePowerManagement.FromDword(dw0) is var p ? $"PS={p.Ps} WH={p.Wh}" : string.Empty,
        NvmeFeatureId.TemperatureThreshold => NvmeTemperatureThreshold.FromDword(dw0) is var t
            ? $"TMPTH={t.Tmpth} K ({t.Tmpth - 273} °C) TMPSEL={t.Tmpsel} THSEL={(t.UnderTemperature ? "Under" : "Over")}"
            : string.Empty,
        NvmeFeatureId.VolatileWriteCache => $"WCE={(NvmeVolatileWriteCache.FromDword(dw0).Enabled ? 1 : 0)}",
        NvmeFeatureId.NumberOfQueues => NvmeNumberOfQueues.FromDword(dw0) is var q
            ? $"I/O submission queues={q.SubmissionQueues} I/O completion queues={q.CompletionQueues}"
            : string.Empty,
        NvmeFeatureId.AsynchronousEventConfiguration => $"{(NvmeAsyncEventConfig)dw0}",
        NvmeFeatureId.KeepAliveTimer => $"KATO={dw0} ms",
        _ => string.Empty,
    };

    /// <summary>Get Features with SEL=011b (Supported Capabilities, Figure 316) returns in Dword 0: bit 0 saveable,
    /// bit 1 namespace specific, bit 2 changeable.</summary>
    public static string DescribeCapabilities(uint dw0) =>
        $"Saveable={(dw0 & 1) != 0} NamespaceSpecific={(dw0 & 2) != 0} Changeable={(dw0 & 4) != 0}";

    /// <summary>Describes Get Features' Dword 0 for the select used: capabilities for SEL=011b, else the value.</summary>
    public static string DescribeFeature(byte fid, NvmeFeatureSelect select, uint dw0) =>
        select == NvmeFeatureSelect.SupportedCapabilities ? DescribeCapabilities(dw0) : DescribeFeature(fid, dw0);
}
