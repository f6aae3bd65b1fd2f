using System.Text;
using System.Text.RegularExpressions;

namespace NvmePS.HelpGen;

/// <summary>
/// nvmeps-helpgen maml   --source docs/help --out out/NvmePS/en-US/NvmePS.dll-Help.xml
///     platyPS New-ExternalHelp: every cmdlet page must be complete (synopsis, description, syntax, two or more
///     examples with explanations, every parameter described, inputs, outputs) or the build fails.
/// nvmeps-helpgen update --assembly NvmePS.dll --sma System.Management.Automation.dll --source docs/help
///     platyPS New-/Update-MarkdownHelp: creates missing pages and refreshes SYNTAX and parameter blocks from the
///     built module, keeping the prose; refreshes the cmdlet list of the module page (NvmePS.md).
/// </summary>
internal static class Program
{
    private const string OnlineBase = "https://github.com/nvmeps/NvmePS/blob/main/docs/help/";

    private static int Main(string[] args)
    {
        try
        {
            var opts = ParseOptions(args.Skip(1));
            switch (args.FirstOrDefault())
            {
                case "maml":
                    return Maml(Required(opts, "source"), Required(opts, "out"));
                case "update":
                    return Update(Required(opts, "assembly"), Required(opts, "sma"), Required(opts, "source"));
                default:
                    Console.Error.WriteLine("usage: NvmePS.HelpGen maml --source DIR --out FILE | update --assembly DLL --sma DLL --source DIR");
                    return 2;
            }
        }
        catch (HelpFormatException e)
        {
            // MSBuild recognises "error XXX:" lines and fails the build with them.
            Console.Error.WriteLine($"error NVMEPSHELP: {e.Message}");
            return 1;
        }
    }

    internal static int Maml(string source, string output)
    {
        var pages = LoadPages(source, strict: true, out var problems);
        if (problems.Count > 0)
        {
            throw new HelpFormatException(string.Join(Environment.NewLine, problems));
        }

        string modulePage = Path.Combine(source, "NvmePS.md");
        if (File.Exists(modulePage))
        {
            string text = File.ReadAllText(modulePage);
            var missing = pages.Where(p => !text.Contains($"[{p.Name}]({p.Name}.md)", StringComparison.Ordinal)).Select(p => p.Name).ToList();
            if (missing.Count > 0)
            {
                throw new HelpFormatException($"NvmePS.md does not list: {string.Join(", ", missing)}");
            }
        }

        Directory.CreateDirectory(Path.GetDirectoryName(Path.GetFullPath(output))!);
        using (var fs = File.Create(output))
        {
            MamlWriter.Write(pages, fs);
        }

        Console.WriteLine($"NvmePS.HelpGen: {pages.Count} cmdlet page(s) -> {output}");
        return 0;
    }

    internal static List<CommandHelp> LoadPages(string source, bool strict, out List<string> problems)
    {
        problems = new List<string>();
        var pages = new List<CommandHelp>();
        foreach (string file in Directory.GetFiles(source, "*.md").OrderBy(f => f, StringComparer.Ordinal))
        {
            string text = File.ReadAllText(file);
            if (!text.Contains("external help file:", StringComparison.Ordinal))
            {
                continue;
            }

            try
            {
                pages.Add(strict ? MarkdownHelpParser.Parse(text, Path.GetFileName(file)) : MarkdownHelpParser.ParseLenient(text, Path.GetFileName(file)));
            }
            catch (HelpFormatException e)
            {
                problems.Add(e.Message);
            }
        }

        return pages;
    }

    private static int Update(string assembly, string sma, string source)
    {
        Directory.CreateDirectory(source);
        var cmdlets = CmdletReflector.Read(assembly, sma);
        foreach (ReflectedCmdlet c in cmdlets)
        {
            string path = Path.Combine(source, c.Name + ".md");
            CommandHelp? existing = MarkdownHelpWriter.TryParseLenient(path);
            File.WriteAllText(path, MarkdownHelpWriter.Write(MarkdownHelpWriter.Update(c, existing, OnlineBase)));
            Console.WriteLine($"{(existing is null ? "created" : "updated")} {path}");
        }

        UpdateModulePage(Path.Combine(source, "NvmePS.md"), cmdlets.Select(c => c.Name).ToList(), source);
        return 0;
    }

    private static void UpdateModulePage(string path, List<string> names, string source)
    {
        string description = MarkdownHelpWriter.Placeholder;
        string guid = Guid.NewGuid().ToString();
        if (File.Exists(path))
        {
            string old = File.ReadAllText(path);
            Match d = Regex.Match(old, @"## Description\n(?<d>.*?)\n## NvmePS Cmdlets", RegexOptions.Singleline);
            if (d.Success)
            {
                description = d.Groups["d"].Value.Trim();
            }

            Match g = Regex.Match(old, @"Module Guid: (?<g>\S+)");
            if (g.Success)
            {
                guid = g.Groups["g"].Value;
            }
        }

        var sb = new StringBuilder();
        sb.Append("---\nModule Name: NvmePS\nModule Guid: ").Append(guid).Append('\n');
        sb.Append("Download Help Link: ").Append(OnlineBase).Append('\n');
        sb.Append("Help Version: 0.1.0\nLocale: en-US\n---\n\n");
        sb.Append("# NvmePS Module\n## Description\n").Append(description).Append("\n\n## NvmePS Cmdlets\n");
        foreach (string n in names)
        {
            CommandHelp? page = MarkdownHelpWriter.TryParseLenient(Path.Combine(source, n + ".md"));
            sb.Append("### [").Append(n).Append("](").Append(n).Append(".md)\n").Append(page?.Synopsis ?? MarkdownHelpWriter.Placeholder).Append("\n\n");
        }

        File.WriteAllText(path, sb.ToString().TrimEnd('\n') + "\n");
    }

    private static Dictionary<string, string> ParseOptions(IEnumerable<string> args)
    {
        var d = new Dictionary<string, string>(StringComparer.OrdinalIgnoreCase);
        string? key = null;
        foreach (string a in args)
        {
            if (a.StartsWith("--", StringComparison.Ordinal))
            {
                key = a[2..];
                d[key] = string.Empty;
            }
            else if (key is not null)
            {
                d[key] = a;
                key = null;
            }
        }

        return d;
    }

    private static string Required(Dictionary<string, string> opts, string key) =>
        opts.TryGetValue(key, out string? v) && v.Length > 0 ? v : throw new HelpFormatException($"--{key} is required");
}
