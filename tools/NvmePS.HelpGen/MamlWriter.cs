using System.Text;
using System.Xml;

namespace NvmePS.HelpGen;

/// <summary>Writes PowerShell's MAML command help (the format Get-Help reads from &lt;Module&gt;.dll-Help.xml),
/// element for element as platyPS's New-ExternalHelp produces it.</summary>
internal static class MamlWriter
{
    public const string MshNs = "http://msh";
    public const string MamlNs = "http://schemas.microsoft.com/maml/2004/10";
    public const string CommandNs = "http://schemas.microsoft.com/maml/dev/command/2004/10";
    public const string DevNs = "http://schemas.microsoft.com/maml/dev/2004/10";
    public const string MsHelpNs = "http://msdn.microsoft.com/mshelp";

    public static void Write(IEnumerable<CommandHelp> commands, Stream destination)
    {
        var settings = new XmlWriterSettings { Indent = true, Encoding = new UTF8Encoding(false) };
        using var w = XmlWriter.Create(destination, settings);
        w.WriteStartDocument();
        w.WriteStartElement("helpItems", MshNs);
        w.WriteAttributeString("schema", "maml");
        foreach (CommandHelp c in commands.OrderBy(c => c.Name, StringComparer.Ordinal))
        {
            WriteCommand(w, c);
        }

        w.WriteEndElement();
        w.WriteEndDocument();
    }

    private static void WriteCommand(XmlWriter w, CommandHelp c)
    {
        w.WriteStartElement("command", "command", CommandNs);
        w.WriteAttributeString("xmlns", "maml", null, MamlNs);
        w.WriteAttributeString("xmlns", "command", null, CommandNs);
        w.WriteAttributeString("xmlns", "dev", null, DevNs);
        w.WriteAttributeString("xmlns", "MSHelp", null, MsHelpNs);

        w.WriteStartElement("command", "details", CommandNs);
        w.WriteElementString("command", "name", CommandNs, c.Name);
        w.WriteElementString("command", "verb", CommandNs, c.Verb);
        w.WriteElementString("command", "noun", CommandNs, c.Noun);
        Description(w, c.Synopsis);
        w.WriteEndElement();

        Description(w, c.Description);

        w.WriteStartElement("command", "syntax", CommandNs);
        foreach (SyntaxHelp s in c.Syntax)
        {
            w.WriteStartElement("command", "syntaxItem", CommandNs);
            w.WriteElementString("maml", "name", MamlNs, c.Name);

            // Get-Help prints a syntax item's parameters in document order: positional ones by position, then the
            // mandatory named ones, then the rest by name, and -WhatIf -Confirm last, as PowerShell's own syntax does.
            var inSet = c.Parameters
                .Select(p => (P: p, B: p.Blocks.FirstOrDefault(b => b.Sets.Contains(s.SetName)) ?? p.Blocks.FirstOrDefault(b => b.InAllSets)))
                .Where(x => x.B is not null)
                .OrderBy(x => int.TryParse(x.B!.Position, out int pos) ? pos : int.MaxValue)
                .ThenBy(x => x.P.Name switch { "WhatIf" => 1, "Confirm" => 2, _ => 0 })
                .ThenBy(x => x.B!.Required ? 0 : 1)
                .ThenBy(x => x.P.Name, StringComparer.Ordinal);
            foreach (var (p, b) in inSet)
            {
                Parameter(w, p, b!, inSyntax: true);
            }

            w.WriteEndElement();
        }

        w.WriteEndElement();

        w.WriteStartElement("command", "parameters", CommandNs);
        foreach (ParameterHelp p in c.Parameters)
        {
            Parameter(w, p, p.Blocks[0], inSyntax: false);
        }

        w.WriteEndElement();

        TypeList(w, "inputTypes", "inputType", c.Inputs);
        TypeList(w, "returnValues", "returnValue", c.Outputs);

        w.WriteStartElement("maml", "alertSet", MamlNs);
        w.WriteStartElement("maml", "alert", MamlNs);
        Paragraphs(w, c.Notes);
        w.WriteEndElement();
        w.WriteEndElement();

        w.WriteStartElement("command", "examples", CommandNs);
        int n = 0;
        foreach (ExampleHelp e in c.Examples)
        {
            n++;
            w.WriteStartElement("command", "example", CommandNs);
            string title = e.Title.StartsWith("Example", StringComparison.OrdinalIgnoreCase) ? e.Title : $"Example {n}: {e.Title}";
            w.WriteElementString("maml", "title", MamlNs, $"-------------------------- {title} --------------------------");
            w.WriteElementString("dev", "code", DevNs, e.Code);
            w.WriteStartElement("dev", "remarks", DevNs);
            Paragraphs(w, e.Remarks);
            w.WriteEndElement();
            w.WriteEndElement();
        }

        w.WriteEndElement();

        w.WriteStartElement("command", "relatedLinks", CommandNs);

        // First, as platyPS writes it: Get-Help -Online opens the first related link that has a URI.
        if (c.FrontMatter.TryGetValue("online version", out string? online) && online.StartsWith("http", StringComparison.OrdinalIgnoreCase))
        {
            w.WriteStartElement("maml", "navigationLink", MamlNs);
            w.WriteElementString("maml", "linkText", MamlNs, "Online Version:");
            w.WriteElementString("maml", "uri", MamlNs, online);
            w.WriteEndElement();
        }

        foreach (LinkHelp l in c.Links)
        {
            w.WriteStartElement("maml", "navigationLink", MamlNs);
            w.WriteElementString("maml", "linkText", MamlNs, l.Text);
            w.WriteElementString("maml", "uri", MamlNs, l.Uri.StartsWith("http", StringComparison.OrdinalIgnoreCase) ? l.Uri : string.Empty);
            w.WriteEndElement();
        }

        w.WriteEndElement();
        w.WriteEndElement();
    }

    private static void Parameter(XmlWriter w, ParameterHelp p, ParameterBlock b, bool inSyntax)
    {
        bool isSwitch = b.Type == "SwitchParameter";
        w.WriteStartElement("command", "parameter", CommandNs);
        w.WriteAttributeString("required", b.Required ? "true" : "false");
        w.WriteAttributeString("variableLength", "true");
        w.WriteAttributeString("globbing", b.Wildcards ? "true" : "false");
        w.WriteAttributeString("pipelineInput", b.PipelineInput);
        w.WriteAttributeString("position", b.Position.Equals("Named", StringComparison.OrdinalIgnoreCase) ? "named" : b.Position);
        w.WriteAttributeString("aliases", b.Aliases.Count == 0 ? "none" : string.Join(", ", b.Aliases));
        w.WriteElementString("maml", "name", MamlNs, p.Name);
        Description(w, p.Description);
        if (!(inSyntax && isSwitch))
        {
            w.WriteStartElement("command", "parameterValue", CommandNs);
            w.WriteAttributeString("required", isSwitch ? "false" : "true");
            w.WriteAttributeString("variableLength", "false");
            w.WriteString(b.Type);
            w.WriteEndElement();
        }

        w.WriteStartElement("dev", "type", DevNs);
        w.WriteElementString("maml", "name", MamlNs, b.Type);
        w.WriteElementString("maml", "uri", MamlNs, string.Empty);
        w.WriteEndElement();
        w.WriteElementString("dev", "defaultValue", DevNs, b.DefaultValue);
        w.WriteEndElement();
    }

    private static void TypeList(XmlWriter w, string outer, string inner, List<TypeHelp> types)
    {
        w.WriteStartElement("command", outer, CommandNs);
        foreach (TypeHelp t in types)
        {
            w.WriteStartElement("command", inner, CommandNs);
            w.WriteStartElement("dev", "type", DevNs);
            w.WriteElementString("maml", "name", MamlNs, t.Type);
            w.WriteEndElement();
            Description(w, t.Description);
            w.WriteEndElement();
        }

        w.WriteEndElement();
    }

    private static void Description(XmlWriter w, string text)
    {
        w.WriteStartElement("maml", "description", MamlNs);
        Paragraphs(w, text);
        w.WriteEndElement();
    }

    /// <summary>Blank-line-separated markdown paragraphs become maml:para elements (line breaks inside joined).</summary>
    private static void Paragraphs(XmlWriter w, string text)
    {
        string[] paras = text.Replace("\r\n", "\n", StringComparison.Ordinal).Split("\n\n", StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
        if (paras.Length == 0)
        {
            w.WriteElementString("maml", "para", MamlNs, string.Empty);
        }

        foreach (string p in paras)
        {
            w.WriteElementString("maml", "para", MamlNs, string.Join(" ", p.Split('\n').Select(l => l.Trim())));
        }
    }
}
