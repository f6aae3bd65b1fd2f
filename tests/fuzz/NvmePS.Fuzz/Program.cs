using NvmePS.Fuzz;

// NvmePS.Fuzz list | run <target> | replay <target> <file or directory>... | seeds <directory>
// `run` is what tests/fuzz/run-fuzz.sh starts under libFuzzer (through tests/fuzz/libfuzzer-dotnet.c); it needs the
// driver's shared memory and pipes. `replay` runs inputs once each, without libFuzzer, and fails on the first finding.
if (args.Length == 0 || args[0] is "-h" or "--help")
{
    Console.Error.WriteLine("usage: NvmePS.Fuzz list | run <target> | replay <target> <path>... | seeds <directory>");
    return 2;
}

switch (args[0])
{
    case "list":
        foreach (var (name, maxLength, summary) in FuzzTarget.Catalog)
        {
            Console.WriteLine($"{name}\t{maxLength}\t{summary}");
        }

        return 0;

    case "run" when args.Length == 2:
        if (Environment.GetEnvironmentVariable("__LIBFUZZER_SHM_ID") is null)
        {
            Console.Error.WriteLine("`run` works under libFuzzer only: start it with tests/fuzz/run-fuzz.sh. To run inputs once, use `replay`.");
            return 2;
        }

        {
            // Made on the first input: instrumented engine code may only run once SharpFuzz has mapped the edge map.
            FuzzTarget? target = null;
            string name = FuzzTarget.Names.Contains(args[1]) ? args[1] : throw new ArgumentException($"No fuzz target '{args[1]}'.");
            SharpFuzz.Fuzzer.LibFuzzer.Run(input => (target ??= FuzzTarget.Create(name)).Run(input));
            return 0;
        }

    case "replay" when args.Length >= 3:
        {
            using var target = FuzzTarget.Create(args[1]);
            var files = args.Skip(2).SelectMany(p => Directory.Exists(p) ? Directory.EnumerateFiles(p).Order(StringComparer.Ordinal) : (IEnumerable<string>)[p]).ToList();
            foreach (var file in files)
            {
                try
                {
                    long started = Environment.TickCount64;
                    target.Run(File.ReadAllBytes(file));
                    long ms = Environment.TickCount64 - started;
                    if (FuzzTarget.Verbose && ms >= 100)
                    {
                        Console.Error.WriteLine($"  slow: {file} took {ms} ms");
                    }
                }
                catch (Exception e)
                {
                    Console.Error.WriteLine($"{args[1]}: {file}: {e}");
                    return 1;
                }
            }

            Console.WriteLine($"{args[1]}: {files.Count} inputs, 0 findings");
            return 0;
        }

    case "seeds" when args.Length == 2:
        Console.WriteLine($"{await SeedCorpus.WriteAsync(args[1])} seeds written under {args[1]}");
        return 0;

    default:
        Console.Error.WriteLine($"unknown command: {string.Join(' ', args)}");
        return 2;
}
