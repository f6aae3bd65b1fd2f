using System.Management.Automation;

namespace NvmePS.Commands;

/// <summary>
/// Lets a command dword be typed as hex the way NVMe documents it: PowerShell reads 0xFFFFFFFF as the Int32 -1, which
/// a UInt32 parameter would refuse, so a negative Int32 (or an Int64 within 32 bits) is taken as its bit pattern.
/// </summary>
[AttributeUsage(AttributeTargets.Property)]
internal sealed class UInt32BitsAttribute : ArgumentTransformationAttribute
{
    public override object Transform(EngineIntrinsics engineIntrinsics, object inputData) => Bits(inputData) ?? inputData;

    /// <summary>The dword an Int32 or an Int64 within 32 bits stands for; null for anything else (left to PowerShell).</summary>
    public static uint? Bits(object? inputData) => (inputData is PSObject p ? p.BaseObject : inputData) switch
    {
        int i => unchecked((uint)i),
        long l when l is >= int.MinValue and <= uint.MaxValue => unchecked((uint)l),
        _ => null,
    };
}
