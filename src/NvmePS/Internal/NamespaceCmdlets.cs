using System.Globalization;
using NvmePS.Engine.Admin;

namespace NvmePS;

/// <summary>How the cmdlets that change a drive's contents name what they change.</summary>
internal static class NamespaceCmdlets
{
    /// <summary>"nqn... (controller 3)": the subsystem (its serial number when it reports no NQN) and the controller.</summary>
    public static string Describe(NvmeIdentifyController id) =>
        string.Format(CultureInfo.InvariantCulture, "{0} (controller {1})", id.Subnqn.Length > 0 ? id.Subnqn : id.Sn, id.Cntlid);
}
