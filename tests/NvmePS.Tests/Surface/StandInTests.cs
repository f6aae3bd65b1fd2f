using System.Reflection;
using System.Reflection.Metadata;
using System.Reflection.Metadata.Ecma335;
using System.Reflection.PortableExecutable;
using NvmePS.Tests.Support;

namespace NvmePS.Tests.Surface;

/// <summary>The stand-in is honest: PowerShellStandard's identity, only PowerShell's real API, and everything the
/// shipped NvmePS.dll references resolves against it.</summary>
public sealed class StandInTests
{
    [Fact]
    public void Stand_in_has_PowerShellStandard_identity_and_public_key()
    {
        AssemblyName standIn = ModuleUnderTest.StandIn.GetName();
        AssemblyName reference = AssemblyName.GetAssemblyName(ModuleUnderTest.PowerShellStandardReference);
        Assert.Equal("System.Management.Automation", standIn.Name);
        Assert.Equal(new Version(3, 0, 0, 0), standIn.Version);
        Assert.Equal(reference.Version, standIn.Version);
        Assert.Equal(reference.GetPublicKey(), standIn.GetPublicKey());
        Assert.Equal("31bf3856ad364e35", Convert.ToHexString(standIn.GetPublicKeyToken()!).ToLowerInvariant());

        // The key file in the repository is the public half read from the reference assembly.
        using var pe = new PEReader(File.OpenRead(ModuleUnderTest.PowerShellStandardReference));
        MetadataReader md = pe.GetMetadataReader();
        byte[] keyFromMetadata = md.GetBlobBytes(md.GetAssemblyDefinition().PublicKey);
        byte[] keyFile = File.ReadAllBytes(Path.Combine(ModuleUnderTest.RepoRoot, "tests", "PowerShellStandIn", "PowerShellStandard.public.snk"));
        Assert.Equal(keyFromMetadata, keyFile);
    }

    [Fact]
    public void Shipped_module_references_the_PowerShellStandard_identity()
    {
        AssemblyName sma = ModuleUnderTest.Module.GetReferencedAssemblies().Single(a => a.Name == "System.Management.Automation");
        Assert.Equal(new Version(3, 0, 0, 0), sma.Version);
        Assert.Equal("31bf3856ad364e35", Convert.ToHexString(sma.GetPublicKeyToken()!).ToLowerInvariant());

        // The NvmePS.dll under test is the very file laid out for pwsh.
        Assert.Equal(File.ReadAllBytes(Path.Combine(ModuleUnderTest.LayoutDir, "NvmePS.dll")), File.ReadAllBytes(ModuleUnderTest.Module.Location));
    }

    [Theory]
    [InlineData("System.Management.Automation.ErrorCategory")]
    [InlineData("System.Management.Automation.ConfirmImpact")]
    [InlineData("System.Management.Automation.ProgressRecordType")]
    [InlineData("System.Management.Automation.CompletionResultType")]
    [InlineData("System.Management.Automation.ActionPreference")]
    [InlineData("System.Management.Automation.ShouldProcessReason")]
    [InlineData("System.Management.Automation.RemotingCapability")]
    public void Stand_in_enums_have_PowerShell_values(string typeName)
    {
        // Enum values are compiled into NvmePS.dll as numbers, so names must map to the same numbers.
        static Dictionary<string, long> Values(Type t) =>
            t.GetFields(BindingFlags.Public | BindingFlags.Static).ToDictionary(f => f.Name, f => Convert.ToInt64(f.GetRawConstantValue(), System.Globalization.CultureInfo.InvariantCulture));
        Type standIn = ModuleUnderTest.StandIn.GetType(typeName, throwOnError: true)!;
        Type reference = ModuleUnderTest.Reference.GetType(typeName, throwOnError: true)!;
        Dictionary<string, long> expected = Values(reference);
        foreach (var (name, value) in Values(standIn))
        {
            Assert.True(expected.TryGetValue(name, out long v), $"{typeName}.{name} is not in PowerShell's API");
            Assert.Equal(v, value);
        }
    }

    [Fact]
    public void Stand_in_declares_only_members_PowerShell_has()
    {
        var invented = new List<string>();
        foreach (Type t in ModuleUnderTest.StandIn.GetExportedTypes().Where(t => t.Namespace?.StartsWith("System.Management.Automation", StringComparison.Ordinal) == true))
        {
            Type? r = ModuleUnderTest.Reference.GetType(t.FullName!);
            if (r is null)
            {
                invented.Add(t.FullName!);
                continue;
            }

            const BindingFlags Declared = BindingFlags.Public | BindingFlags.Instance | BindingFlags.Static | BindingFlags.DeclaredOnly;
            var referenceMembers = r.GetMembers(Declared | BindingFlags.NonPublic)
                .Where(m => m is not MethodBase mb || mb.IsPublic || mb.IsFamily || mb.IsFamilyOrAssembly)
                .Select(Signature).ToHashSet();
            foreach (MemberInfo m in t.GetMembers(Declared | BindingFlags.NonPublic))
            {
                // Overrides of inherited virtuals (ToString, RuntimeException.ErrorRecord) add no API.
                MethodInfo? method = m as MethodInfo ?? (m as PropertyInfo)?.GetMethod;
                if (method is not null && method.GetBaseDefinition().DeclaringType != method.DeclaringType)
                {
                    continue;
                }

                bool visible = m switch
                {
                    MethodBase mb => mb.IsPublic || mb.IsFamily || mb.IsFamilyOrAssembly,
                    PropertyInfo p => p.GetAccessors(nonPublic: false).Length > 0,
                    FieldInfo f => f.IsPublic && !t.IsEnum,
                    _ => false,
                };
                if (visible && m.DeclaringType == t && !(m is MethodBase { IsSpecialName: true } && m is not ConstructorInfo) && !referenceMembers.Contains(Signature(m)))
                {
                    invented.Add($"{t.FullName}: {Signature(m)}");
                }
            }
        }

        Assert.True(invented.Count == 0, "Stand-in API that PowerShellStandard lacks:\n" + string.Join("\n", invented));
    }

    [Fact]
    public void Every_PowerShell_type_and_member_the_module_uses_resolves_in_the_stand_in()
    {
        // Resolve each TypeRef and MemberRef of NvmePS.dll through the runtime, exactly as a call would.
        Module module = ModuleUnderTest.Module.ManifestModule;
        using var pe = new PEReader(File.OpenRead(ModuleUnderTest.Module.Location));
        MetadataReader md = pe.GetMetadataReader();
        var failures = new List<string>();
        int smaReferences = 0;
        foreach (MemberReferenceHandle h in md.MemberReferences)
        {
            int token = MetadataTokens.GetToken(h);
            MemberReference mr = md.GetMemberReference(h);
            string name = md.GetString(mr.Name);
            if (mr.Parent.Kind != HandleKind.TypeReference || !IsPowerShellType(md, (TypeReferenceHandle)mr.Parent))
            {
                continue;
            }

            try
            {
                MemberInfo? m = module.ResolveMember(token);
                if (m?.DeclaringType?.Assembly == ModuleUnderTest.StandIn)
                {
                    smaReferences++;
                }
            }
            catch (Exception e) when (e is MissingMemberException or TypeLoadException or ArgumentException or BadImageFormatException)
            {
                failures.Add($"{name}: {e.Message}");
            }
        }

        foreach (TypeReferenceHandle h in md.TypeReferences)
        {
            if (!IsPowerShellType(md, h))
            {
                continue;
            }

            try
            {
                module.ResolveType(MetadataTokens.GetToken(h));
            }
            catch (TypeLoadException e)
            {
                failures.Add(e.Message);
            }
        }

        Assert.True(failures.Count == 0, string.Join("\n", failures));
        Assert.True(smaReferences > 0, "NvmePS.dll calls no System.Management.Automation member");
    }

    private static bool IsPowerShellType(MetadataReader md, TypeReferenceHandle h)
    {
        TypeReference t = md.GetTypeReference(h);
        while (t.ResolutionScope.Kind == HandleKind.TypeReference)
        {
            t = md.GetTypeReference((TypeReferenceHandle)t.ResolutionScope);
        }

        return t.ResolutionScope.Kind == HandleKind.AssemblyReference &&
               md.GetString(md.GetAssemblyReference((AssemblyReferenceHandle)t.ResolutionScope).Name) == "System.Management.Automation";
    }

    private static string Signature(MemberInfo m) => m switch
    {
        ConstructorInfo c => ".ctor(" + string.Join(",", c.GetParameters().Select(p => p.ParameterType.FullName ?? p.ParameterType.Name)) + ")",
        MethodInfo mi => $"{mi.ReturnType.Name} {mi.Name}(" + string.Join(",", mi.GetParameters().Select(p => p.ParameterType.FullName ?? p.ParameterType.Name)) + ")",
        PropertyInfo p => $"{p.PropertyType.Name} {p.Name}",
        FieldInfo f => $"{f.FieldType.Name} {f.Name}",
        _ => m.ToString() ?? m.Name,
    };
}
