using System.CommandLine;

namespace NvmePS.Cli;

/// <summary>Console front end: parses arguments and calls the engine; holds no protocol logic.</summary>
internal static class Program
{
    private static async Task<int> Main(string[] args)
    {
        var root = new RootCommand("NvmePS console front end: NVMe over Fabrics (TCP) and NVMe-MI over MCTP.\n"
            + $"Exit codes: {ExitCodes.Success} done or stopped cleanly, {ExitCodes.Failed} could not start or failed while running, "
            + $"{ExitCodes.InvalidArguments} invalid arguments (nothing was started).");
        root.Subcommands.Add(TargetCommand.Create());
        root.Subcommands.Add(DemoCommand.Create());
        root.Subcommands.Add(MiSimulatorCommand.Create());
        var parse = root.Parse(args);
        if (parse.Errors.Count > 0)
        {
            // System.CommandLine's own exit code for these is 1, which the commands use for a failure to start.
            foreach (var error in parse.Errors)
            {
                await Console.Error.WriteLineAsync($"nvmeps: {error.Message}").ConfigureAwait(false);
            }

            await Console.Error.WriteLineAsync("Run 'nvmeps --help' for usage.").ConfigureAwait(false);
            return ExitCodes.InvalidArguments;
        }

        return await parse.InvokeAsync().ConfigureAwait(false);
    }
}

/// <summary>One set of exit codes for every command.</summary>
internal static class ExitCodes
{
    public const int Success = 0;
    public const int Failed = 1;
    public const int InvalidArguments = 2;
}
