using System.CommandLine;

namespace NvmePS.Cli;

/// <summary>Console front end: parses arguments and calls the engine; holds no protocol logic.</summary>
internal static class Program
{
    private static int Main(string[] args)
    {
        var root = new RootCommand("NvmePS console front end: NVMe over Fabrics (TCP) and NVMe-MI over MCTP.");
        return root.Parse(args).Invoke();
    }
}
