namespace NvmePS.Engine.Fabrics;

/// <summary>Controller property offsets and sizes (NVMe Base 2.0 §3.1.4 Figure 35; over fabrics only CAP, VS, CC, CSTS,
/// NSSR and CRTO are defined — NVMe over Fabrics 1.1 §3.4).</summary>
public static class ControllerProperty
{
    public const uint Cap = 0x00;
    public const uint Vs = 0x08;
    public const uint Cc = 0x14;
    public const uint Csts = 0x1C;
    public const uint Nssr = 0x20;
    public const uint Crto = 0x68;

    /// <summary>The size of the property at <paramref name="offset"/>, or null when fabrics defines none there.</summary>
    public static PropertySize? SizeOf(uint offset) => offset switch
    {
        Cap => PropertySize.EightBytes,
        Vs or Cc or Csts or Nssr or Crto => PropertySize.FourBytes,
        _ => null,
    };

    /// <summary>Mnemonic of a property offset, for messages.</summary>
    public static string NameOf(uint offset) => offset switch
    {
        Cap => "CAP",
        Vs => "VS",
        Cc => "CC",
        Csts => "CSTS",
        Nssr => "NSSR",
        Crto => "CRTO",
        _ => $"property {offset:X2}h",
    };
}
