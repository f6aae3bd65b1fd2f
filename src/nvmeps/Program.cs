using System.CommandLine;

namespace NvmePS.Cli;

/// <summary>Console front end: parses arguments and calls the engine; holds no protocol logic.</summary>
internal static class Program
{
    private static Task<int> Main(string[] args)
    {
        var root = new RootCommand("NvmePS console front end: NVMe over Fabrics (TCP) and NVMe-MI over MCTP.");
        root.Subcommands.Add(TargetCommand.Create());
        root.Subcommands.Add(DemoCommand.Create());
        root.Subcommands.Add(MiSimulatorCommand.Create());
        return root.Parse(args).InvokeAsync();
    }
}
