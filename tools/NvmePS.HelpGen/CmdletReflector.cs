using System.Reflection;
using System.Runtime.Loader;

namespace NvmePS.HelpGen;

/// <summary>A cmdlet's metadata read from the built module with CustomAttributeData (raw attribute blobs), so the
/// PowerShellStandard reference stubs, whose members do nothing, never run.</summary>
internal sealed record ReflectedParameter(string Name, string TypeName, List<string> Aliases, List<ReflectedSet> Sets);

internal sealed record ReflectedSet(string Name, bool Mandatory, int? Position, bool ByValue, bool ByPropertyName);

internal sealed record ReflectedCmdlet(string Name, string? DefaultSet, bool SupportsShouldProcess, List<ReflectedParameter> Parameters, List<string> OutputTypes)
{
    public const string AllSets = "__AllParameterSets";

    public List<string> SetNames
    {
        get
        {
            var named = Parameters.SelectMany(p => p.Sets).Select(s => s.Name).Where(s => s != AllSets).Distinct().ToList();
            if (named.Count > 0 && DefaultSet is not null && !named.Contains(DefaultSet))
            {
                named.Insert(0, DefaultSet);
            }

            return named.Count == 0 ? new List<string> { AllSets } : named;
        }
    }
}

internal static class CmdletReflector
{
    public static List<ReflectedCmdlet> Read(string assemblyPath, string smaReferencePath)
    {
        string dir = Path.GetDirectoryName(Path.GetFullPath(assemblyPath))!;
        var alc = new AssemblyLoadContext("NvmePS.HelpGen", isCollectible: true);
        alc.Resolving += (ctx, name) =>
        {
            if (name.Name == "System.Management.Automation")
            {
                return ctx.LoadFromAssemblyPath(Path.GetFullPath(smaReferencePath));
            }

            string candidate = Path.Combine(dir, name.Name + ".dll");
            return File.Exists(candidate) ? ctx.LoadFromAssemblyPath(candidate) : null;
        };
        Assembly module = alc.LoadFromAssemblyPath(Path.GetFullPath(assemblyPath));
        var result = new List<ReflectedCmdlet>();
        foreach (Type t in module.GetExportedTypes().Where(t => !t.IsAbstract))
        {
            CustomAttributeData? cmdlet = t.GetCustomAttributesData().FirstOrDefault(a => a.AttributeType.FullName == "System.Management.Automation.CmdletAttribute");
            if (cmdlet is null)
            {
                continue;
            }

            string name = $"{cmdlet.ConstructorArguments[0].Value}-{cmdlet.ConstructorArguments[1].Value}";
            string? defaultSet = Named(cmdlet, "DefaultParameterSetName") as string;
            bool should = Named(cmdlet, "SupportsShouldProcess") is true;
            var parameters = new List<ReflectedParameter>();
            foreach (PropertyInfo p in t.GetProperties(BindingFlags.Public | BindingFlags.Instance))
            {
                var attrs = p.GetCustomAttributesData();
                var sets = attrs.Where(a => a.AttributeType.FullName == "System.Management.Automation.ParameterAttribute")
                    .Select(a => new ReflectedSet(
                        Named(a, "ParameterSetName") as string ?? ReflectedCmdlet.AllSets,
                        Named(a, "Mandatory") is true,
                        Named(a, "Position") is int pos ? pos : null,
                        Named(a, "ValueFromPipeline") is true,
                        Named(a, "ValueFromPipelineByPropertyName") is true)).ToList();
                // Hidden parameters (DontShow) are plumbing, not part of the documented syntax.
                if (sets.Count == 0 || attrs.Any(a => a.AttributeType.FullName == "System.Management.Automation.ParameterAttribute" && Named(a, "DontShow") is true))
                {
                    continue;
                }

                var aliases = attrs.Where(a => a.AttributeType.FullName == "System.Management.Automation.AliasAttribute")
                    .SelectMany(a => a.ConstructorArguments.SelectMany(Strings)).ToList();
                parameters.Add(new ReflectedParameter(p.Name, FriendlyName(p.PropertyType), aliases, sets));
            }

            var outputs = t.GetCustomAttributesData().Where(a => a.AttributeType.FullName == "System.Management.Automation.OutputTypeAttribute")
                .SelectMany(a => a.ConstructorArguments.SelectMany(c => c.Value is IEnumerable<CustomAttributeTypedArgument> arr ? arr : new[] { c }))
                .Select(v => v.Value is Type ty ? ty.FullName! : v.Value?.ToString() ?? string.Empty)
                .Distinct().ToList();
            result.Add(new ReflectedCmdlet(name, defaultSet, should, parameters, outputs));
        }

        return result.OrderBy(c => c.Name, StringComparer.Ordinal).ToList();
    }

    private static object? Named(CustomAttributeData a, string name)
    {
        foreach (CustomAttributeNamedArgument n in a.NamedArguments)
        {
            if (n.MemberName == name)
            {
                return n.TypedValue.Value;
            }
        }

        return null;
    }

    private static IEnumerable<string> Strings(CustomAttributeTypedArgument arg) =>
        arg.Value is IEnumerable<CustomAttributeTypedArgument> items ? items.Select(i => (string)i.Value!) : new[] { (string)arg.Value! };

    /// <summary>platyPS writes type names without namespaces (String, UInt32, SwitchParameter, NvmfController[]).</summary>
    public static string FriendlyName(Type t)
    {
        if (t.IsArray)
        {
            return FriendlyName(t.GetElementType()!) + "[]";
        }

        if (Nullable.GetUnderlyingType(t) is { } u)
        {
            return FriendlyName(u);
        }

        return t.Name;
    }
}
