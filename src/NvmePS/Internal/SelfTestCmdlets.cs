using NvmePS.Engine.Admin;

namespace NvmePS;

/// <summary>What the self-test and sanitize cmdlets share.</summary>
internal static class SelfTestCmdlets
{
    /// <summary>The running test (if any) first, then the results, newest first.</summary>
    public static List<NvmeSelfTest> Entries(NvmeSelfTestLog log, string controllerName)
    {
        var list = new List<NvmeSelfTest>();
        if (log.CurrentOperation != NvmeSelfTestCode.None)
        {
            list.Add(NvmeSelfTest.Running(log, controllerName));
        }

        list.AddRange(log.Results.Select(r => NvmeSelfTest.From(r, controllerName)));
        return list;
    }
}
