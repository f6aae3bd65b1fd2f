using System.Management.Automation;
using System.Reflection;
using System.Xml.Linq;
using NvmePS.Tests.Support;

namespace NvmePS.Tests.Surface;

/// <summary>Static checks on the built module: manifest, layout, verbs, output types, ShouldProcess, formats.</summary>
public sealed class ModuleSurfaceTests
{
    private static readonly string[] StateChangingVerbs = { "Set", "Write", "Start", "Stop", "Disconnect", "Send", "Remove", "Clear", "Reset" };

    private static Dictionary<string, object?> Manifest => Psd1Reader.ReadFile(Path.Combine(ModuleUnderTest.LayoutDir, "NvmePS.psd1"));

    [Fact]
    public void Manifest_describes_a_Core_module_rooted_in_NvmePS_dll()
    {
        var m = Manifest;
        Assert.Equal("NvmePS.dll", m["RootModule"]);
        Assert.Equal("7.4", m["PowerShellVersion"]);
        Assert.Equal(new object[] { "Core" }, m["CompatiblePSEditions"]);
        Assert.Equal(new object[] { "NvmePS.Format.ps1xml" }, m["FormatsToProcess"]);
        Assert.Equal(new object[] { "NvmePS.Types.ps1xml" }, m["TypesToProcess"]);
        Assert.True(Guid.TryParse((string)m["GUID"]!, out _));
        Assert.True(Version.TryParse((string)m["ModuleVersion"]!, out Version? v));
        Assert.Equal(ModuleUnderTest.Module.GetName().Version!.ToString(3), v!.ToString(3));
        Assert.Equal(Array.Empty<object>(), m["FunctionsToExport"]);
        Assert.Equal(Array.Empty<object>(), m["AliasesToExport"]);
        Assert.Equal(Array.Empty<object>(), m["VariablesToExport"]);
        var psData = (Dictionary<string, object?>)((Dictionary<string, object?>)m["PrivateData"]!)["PSData"]!;
        var tags = ((object[])psData["Tags"]!).Cast<string>().ToList();
        foreach (string tag in new[] { "NVMe", "NVMeoF", "MCTP", "PSEdition_Core", "Linux" })
        {
            Assert.Contains(tag, tags);
        }

        Assert.StartsWith("https://", (string)psData["ProjectUri"]!);

        // URIs name the project's repository; a LicenseUri may only be claimed when the repository has a license file.
        Assert.EndsWith("/NvmePS", (string)psData["ProjectUri"]!, StringComparison.Ordinal);
        Assert.StartsWith((string)psData["ProjectUri"]! + "/", (string)psData["ReleaseNotes"]!, StringComparison.Ordinal);
        bool hasLicenseFile = Directory.EnumerateFiles(ModuleUnderTest.RepoRoot, "LICENSE*").Any();
        if (!hasLicenseFile)
        {
            Assert.False(psData.ContainsKey("LicenseUri"), "The manifest claims a LicenseUri but the repository has no LICENSE file.");
            Assert.DoesNotContain("LicenseUri", File.ReadAllText(Path.Combine(ModuleUnderTest.RepoRoot, "NvmePS.psd1")), StringComparison.Ordinal);
        }
        else
        {
            Assert.Equal((string)psData["ProjectUri"]! + "/blob/main/LICENSE", (string)psData["LicenseUri"]!);
        }
    }

    [Fact]
    public void Manifest_exports_exactly_the_cmdlet_classes_of_the_assembly()
    {
        var exported = ((object[])Manifest["CmdletsToExport"]!).Cast<string>().OrderBy(s => s, StringComparer.Ordinal).ToList();
        var classes = ModuleUnderTest.Cmdlets.Select(c => c.Name).ToList();
        Assert.Equal(classes, exported);
    }

    [Fact]
    public void Layout_holds_exactly_the_module_files_and_never_PowerShell_itself()
    {
        var files = Directory.GetFiles(ModuleUnderTest.LayoutDir, "*", SearchOption.AllDirectories)
            .Select(f => Path.GetRelativePath(ModuleUnderTest.LayoutDir, f).Replace('\\', '/'))
            .Where(f => !f.EndsWith(".pdb", StringComparison.Ordinal))
            .OrderBy(f => f, StringComparer.Ordinal).ToList();
        // Tmds.DBus.Protocol (mctpd discovery) and the System.IO.Pipelines it needs, which .NET 8 (pwsh 7.4) lacks.
        // The LICENSE travels with the module (LicenseUri names it).
        Assert.Equal(new[] { "LICENSE", "NvmePS.Engine.dll", "NvmePS.Format.ps1xml", "NvmePS.Types.ps1xml", "NvmePS.dll", "NvmePS.psd1", "System.IO.Pipelines.dll", "Tmds.DBus.Protocol.dll", "en-US/NvmePS.dll-Help.xml", "en-US/about_NvmePS.help.txt" }, files);
    }

    [Fact]
    public void Every_cmdlet_uses_an_approved_verb()
    {
        // The approved verbs are what PowerShell's own Get-Verb lists.
        using var rs = new ModuleRunspace(importModule: false);
        var approved = rs.Script("(Get-Verb).Verb").ThrowIfFailed().Cast<string>().ToHashSet(StringComparer.Ordinal);
        Assert.Contains("Connect", approved);
        Assert.True(approved.Count > 90);
        foreach (var c in ModuleUnderTest.Cmdlets)
        {
            Assert.True(approved.Contains(c.Verb), $"{c.Name}: '{c.Verb}' is not an approved verb");
            Assert.StartsWith("Nvm", c.Noun, StringComparison.Ordinal);
        }
    }

    [Fact]
    public void Every_cmdlet_declares_module_output_types_for_every_parameter_set()
    {
        foreach (var c in ModuleUnderTest.Cmdlets)
        {
            var outputTypes = ModuleUnderTest.OutputTypes(c);
            var sets = c.ParameterSets.Select(s => s.Name).ToList();
            Assert.True(outputTypes.Count > 0, $"{c.Name} has no [OutputType]");
            foreach (OutputTypeAttribute o in outputTypes)
            {
                foreach (PSTypeName t in o.Type)
                {
                    Assert.NotNull(t.Type);
                    Assert.True(t.Type!.Assembly == ModuleUnderTest.Module, $"{c.Name} outputs {t.Name}, not a module type");
                }

                foreach (string set in o.ParameterSetName.Where(s => s != ParameterAttribute.AllParameterSets))
                {
                    Assert.Contains(set, sets);
                }
            }

            // Sets not covered by an all-sets OutputType must each be named by one.
            if (!outputTypes.Any(o => o.ParameterSetName.Contains(ParameterAttribute.AllParameterSets)))
            {
                foreach (string set in sets)
                {
                    Assert.True(outputTypes.Any(o => o.ParameterSetName.Contains(set)), $"{c.Name}: set {set} has no OutputType");
                }
            }
        }
    }

    [Fact]
    public void State_changing_cmdlets_support_WhatIf_and_Confirm()
    {
        foreach (var c in ModuleUnderTest.Cmdlets.Where(c => StateChangingVerbs.Contains(c.Verb)))
        {
            Assert.True(c.Parameters.ContainsKey("WhatIf") && c.Parameters.ContainsKey("Confirm"), $"{c.Name} changes state but does not support -WhatIf/-Confirm");
        }
    }

    [Fact]
    public void InputObject_parameters_take_pipeline_input_by_value()
    {
        foreach (var c in ModuleUnderTest.Cmdlets)
        {
            foreach (var p in c.ParameterSets.SelectMany(s => s.Parameters).Where(p => p.Name == "InputObject"))
            {
                Assert.True(p.ValueFromPipeline, $"{c.Name} -InputObject is not ValueFromPipeline");
            }
        }
    }

    [Fact]
    public void Format_file_views_name_module_types_and_their_properties()
    {
        XDocument doc = XDocument.Load(Path.Combine(ModuleUnderTest.LayoutDir, "NvmePS.Format.ps1xml"));
        Assert.Equal("Configuration", doc.Root!.Name.LocalName);
        var views = doc.Root.Element("ViewDefinitions")!.Elements("View").ToList();
        var viewNames = new HashSet<string>(StringComparer.Ordinal);
        var tableTypes = new HashSet<Type>();
        foreach (XElement view in views)
        {
            string name = view.Element("Name")!.Value;
            Assert.True(viewNames.Add(name), $"duplicate view name {name}");
            string typeName = view.Element("ViewSelectedBy")!.Element("TypeName")!.Value;
            Type type = ModuleUnderTest.Module.GetType(typeName) ?? throw new Xunit.Sdk.XunitException($"view {name}: {typeName} is not a module type");
            XElement? table = view.Element("TableControl");
            XElement? list = view.Element("ListControl");
            Assert.True((table is null) != (list is null), $"view {name} must have exactly one of TableControl/ListControl");
            if (table is not null)
            {
                tableTypes.Add(type);
                var headers = table.Element("TableHeaders")!.Elements("TableColumnHeader").ToList();
                var items = table.Element("TableRowEntries")!.Element("TableRowEntry")!.Element("TableColumnItems")!.Elements("TableColumnItem").ToList();
                Assert.Equal(headers.Count, items.Count);
                foreach (XElement item in items)
                {
                    CheckItem(type, name, item);
                }
            }
            else
            {
                foreach (XElement item in list!.Element("ListEntries")!.Element("ListEntry")!.Element("ListItems")!.Elements("ListItem"))
                {
                    CheckItem(type, name, item);
                }
            }
        }

        // Every type a cmdlet outputs has a default table view.
        foreach (Type t in ModuleUnderTest.Cmdlets.SelectMany(ModuleUnderTest.OutputTypes).SelectMany(o => o.Type).Select(t => t.Type!).Distinct())
        {
            Assert.True(tableTypes.Contains(t), $"{t.FullName} has no table view");
        }

        static void CheckItem(Type type, string view, XElement item)
        {
            XElement? prop = item.Element("PropertyName");
            XElement? script = item.Element("ScriptBlock");
            Assert.True((prop is null) != (script is null), $"view {view}: an item needs a PropertyName or a ScriptBlock");
            if (prop is not null)
            {
                Assert.True(type.GetProperty(prop.Value) is not null, $"view {view}: {type.Name} has no property {prop.Value}");
            }
            else
            {
                // Script blocks may only read $_.<Property> of the type (keeps views honest when properties are renamed).
                foreach (System.Text.RegularExpressions.Match m in System.Text.RegularExpressions.Regex.Matches(script!.Value, @"\$_\.(\w+)"))
                {
                    Assert.True(type.GetProperty(m.Groups[1].Value) is not null, $"view {view}: {type.Name} has no property {m.Groups[1].Value}");
                }
            }
        }
    }

    [Fact]
    public void Output_types_carry_plain_values_that_survive_remoting()
    {
        // Remoting serialises public properties; engine objects, delegates and streams would arrive as strings.
        foreach (Type t in ModuleUnderTest.Cmdlets.SelectMany(ModuleUnderTest.OutputTypes).SelectMany(o => o.Type).Select(t => t.Type!).Distinct())
        {
            foreach (PropertyInfo p in t.GetProperties(BindingFlags.Public | BindingFlags.Instance))
            {
                Assert.True(IsPlain(p.PropertyType), $"{t.Name}.{p.Name} is {p.PropertyType.FullName}, not a plain value");
            }
        }

        static bool IsPlain(Type t)
        {
            t = Nullable.GetUnderlyingType(t) ?? t;
            if (t.IsArray)
            {
                return IsPlain(t.GetElementType()!);
            }

            return t.IsPrimitive || t.IsEnum || t == typeof(string) || t == typeof(decimal) || t == typeof(DateTime) ||
                   t == typeof(DateTimeOffset) || t == typeof(TimeSpan) || t == typeof(Guid) || t == typeof(Version) ||
                   (t.Assembly == ModuleUnderTest.Module && t.GetProperties().All(p => p.PropertyType != t && IsPlain(p.PropertyType)));
        }
    }
}

/// <summary>Every cmdlet has a Pester test file for real pwsh hosts.</summary>
public sealed class PesterCoverageTests
{
    [Fact]
    public void Every_cmdlet_has_a_Pester_file_that_imports_the_layout_and_exercises_it()
    {
        string dir = Path.Combine(ModuleUnderTest.RepoRoot, "tests", "Pester");
        foreach (var c in ModuleUnderTest.Cmdlets)
        {
            string file = Path.Combine(dir, c.Name + ".Tests.ps1");
            Assert.True(File.Exists(file), $"{c.Name} has no tests/Pester/{c.Name}.Tests.ps1");
            string text = File.ReadAllText(file);
            Assert.Contains("Import-NvmePSForTest", text);
            Assert.Contains($"Describe '{c.Name}'", text);
            Assert.Contains(c.Name, text[text.IndexOf("Describe", StringComparison.Ordinal)..].Replace($"Describe '{c.Name}'", string.Empty, StringComparison.Ordinal));
        }

        Assert.Contains("out' 'NvmePS' 'NvmePS.psd1'", File.ReadAllText(Path.Combine(dir, "TestHelpers.ps1")));
    }
}

/// <summary>The module compiles against PowerShellStandard's reference API only, so it loads in every pwsh from 7.4.</summary>
public sealed class ModuleProjectTests
{
    [Fact]
    public void Module_project_references_PowerShellStandard_compile_only_and_never_the_stand_in()
    {
        var project = System.Xml.Linq.XDocument.Load(Path.Combine(ModuleUnderTest.RepoRoot, "src", "NvmePS", "NvmePS.csproj"));
        var packages = project.Descendants("PackageReference").ToList();
        var pss = Assert.Single(packages, p => (string?)p.Attribute("Include") == "PowerShellStandard.Library");
        Assert.Equal("all", (string?)pss.Attribute("PrivateAssets"));
        Assert.DoesNotContain(project.Descendants("Reference"), r => ((string?)r.Attribute("Include") ?? string.Empty).Contains("Automation", StringComparison.OrdinalIgnoreCase));

        // The console front end has no PowerShell dependency at all.
        Assert.DoesNotContain("System.Management.Automation", File.ReadAllText(Path.Combine(ModuleUnderTest.RepoRoot, "src", "NvmePS.Cli", "NvmePS.Cli.csproj")), StringComparison.Ordinal);
        foreach (string f in Directory.GetFiles(Path.Combine(ModuleUnderTest.RepoRoot, "src", "NvmePS.Cli"), "*.cs"))
        {
            Assert.DoesNotContain("System.Management.Automation", File.ReadAllText(f), StringComparison.Ordinal);
        }

        // Logic the module and the console share lives in the engine; neither compiles the other's sources.
        var cli = System.Xml.Linq.XDocument.Load(Path.Combine(ModuleUnderTest.RepoRoot, "src", "NvmePS.Cli", "NvmePS.Cli.csproj"));
        Assert.DoesNotContain(cli.Descendants("Compile"), c => ((string?)c.Attribute("Include") ?? string.Empty).Contains("NvmePS" + Path.DirectorySeparatorChar, StringComparison.Ordinal)
            || ((string?)c.Attribute("Include") ?? string.Empty).Contains(@"NvmePS\", StringComparison.Ordinal));
        Assert.False(Directory.Exists(Path.Combine(ModuleUnderTest.RepoRoot, "src", "NvmePS", "Shared")));
    }
}
