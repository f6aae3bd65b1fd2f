// The interop tests share one kernel (configfs, MCTP addresses, TCP ports, tags): run them one at a time.
[assembly: CollectionBehavior(DisableTestParallelization = true)]
