using NvmePS.Engine.Admin;

namespace NvmePS.Commands;

/// <summary>Log page and feature names for the cmdlets; the tables and parsing are the engine's <see cref="NvmeAdminNames"/>.</summary>
internal static class Identifiers
{
    public static IReadOnlyDictionary<string, byte> LogPages => NvmeAdminNames.LogPages;

    public static IReadOnlyDictionary<string, byte> Features => NvmeAdminNames.Features;

    public static bool TryParse(string text, IReadOnlyDictionary<string, byte> names, out byte value) => NvmeAdminNames.TryParse(text, names, out value);

    public static string NameOf(byte value, IReadOnlyDictionary<string, byte> names) => NvmeAdminNames.NameOf(value, names);
}
