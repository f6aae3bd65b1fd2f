using System.Globalization;

namespace NvmePS.Engine.Admin;

/// <summary>Unit conversions for values NVMe reports, shared by every front end so they print the same numbers.</summary>
public static class NvmeUnits
{
    /// <summary>Bytes in one SMART / Health data unit: 1000 × 512 bytes (Base Specification 2.0 §5.16.1.3, Figure 207).</summary>
    public const decimal BytesPerDataUnit = 512000m;

    /// <summary>Kelvin of 0 °C.</summary>
    public const int KelvinOffset = NvmeSmartLog.KelvinOffset;

    /// <summary>Kelvin to °C; 0 K is how NVMe says "not reported".</summary>
    public static int? Celsius(ushort kelvin) => kelvin == 0 ? null : kelvin - KelvinOffset;

    /// <summary>128-bit counters as decimal (exact up to 2^96, saturating beyond: no real counter gets there).</summary>
    public static decimal Saturate(UInt128 value) => value > (UInt128)decimal.MaxValue ? decimal.MaxValue : (decimal)value;

    /// <summary>Data units (SMART Data Units Read/Written) to bytes, saturating.</summary>
    public static decimal DataUnitBytes(decimal units) => units > decimal.MaxValue / BytesPerDataUnit ? decimal.MaxValue : units * BytesPerDataUnit;

    /// <summary>Bytes in binary units with up to two decimals: "512 B", "64 MiB", "1.5 GiB".</summary>
    public static string FormatBytes(decimal bytes)
    {
        string[] names = { "B", "KiB", "MiB", "GiB", "TiB", "PiB", "EiB" };
        int i = 0;
        decimal v = bytes;
        while (v >= 1024 && i < names.Length - 1)
        {
            v /= 1024;
            i++;
        }

        return i == 0 ? $"{bytes.ToString(CultureInfo.InvariantCulture)} B" : $"{v.ToString("0.##", CultureInfo.InvariantCulture)} {names[i]}";
    }
}
