using NvmePS.Engine.Fabrics;

namespace NvmePS.Commands;

/// <summary>Wraps the engine's decoded controller property (<see cref="ControllerPropertyFields"/>) in the module's output type.</summary>
internal static class PropertyFields
{
    public static IReadOnlyDictionary<string, uint> Offsets => ControllerPropertyFields.Offsets;

    public static NvmfProperty Build(string controllerName, uint offset, PropertySize size, ulong value) => new()
    {
        ControllerName = controllerName,
        Name = ControllerProperty.NameOf(offset),
        Offset = offset,
        Size = size == PropertySize.EightBytes ? 8 : 4,
        Value = value,
        Fields = ControllerPropertyFields.Decode(offset, value)
            .Select(f => new NvmfPropertyField { Name = f.Name, Value = f.Value, Meaning = f.Meaning })
            .ToArray(),
    };
}
