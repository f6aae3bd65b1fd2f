using System.Globalization;
using NvmePS.Engine;
using NvmePS.Engine.Admin;

namespace NvmePS;

/// <summary>What the namespace cmdlets share: reading the LBA formats and the attachment of a namespace.</summary>
internal static class NamespaceCmdlets
{
    /// <summary>The LBA format index whose data size is <paramref name="blockSize"/>. The formats come from Identify
    /// Namespace with NSID FFFFFFFFh (what every namespace offers), or failing that from the first allocated namespace.</summary>
    public static async Task<byte> FormatIndexForAsync(NvmeAdminClient admin, int blockSize, CancellationToken cancellationToken)
    {
        NvmeIdentifyNamespace? formats = null;
        try
        {
            formats = await admin.IdentifyNamespaceAsync(NvmeAdminCommands.BroadcastNsid, cancellationToken).ConfigureAwait(false);
        }
        catch (NvmeStatusException)
        {
            // Controllers without the common Identify Namespace: ask a namespace that exists.
        }

        if (formats is null || formats.Lbaf.All(f => f.Lbads == 0))
        {
            var ids = await admin.GetAllActiveNamespaceIdsAsync(cancellationToken).ConfigureAwait(false);
            if (ids.Count > 0)
            {
                formats = await admin.IdentifyNamespaceAsync(ids[0], cancellationToken).ConfigureAwait(false);
            }
        }

        if (formats is not null)
        {
            for (int i = 0; i <= formats.Nlbaf && i < formats.Lbaf.Length; i++)
            {
                if (formats.Lbaf[i].Lbads != 0 && formats.Lbaf[i].DataSize == blockSize && formats.Lbaf[i].Ms == 0)
                {
                    return (byte)i;
                }
            }
        }

        throw new ArgumentException(string.Format(CultureInfo.InvariantCulture,
            "The controller offers no LBA format with {0}-byte blocks and no metadata; see LbaFormats in Get-NvmeIdentify -NamespaceId.", blockSize));
    }

    /// <summary>The controllers <paramref name="nsid"/> is attached to (Identify CNS 12h).</summary>
    public static async Task<ushort[]> AttachedControllersAsync(NvmeAdminClient admin, uint nsid, CancellationToken cancellationToken)
    {
        byte[] data = await admin.IdentifyAsync(NvmeIdentifyCns.NamespaceAttachedControllerList, nsid, cancellationToken: cancellationToken).ConfigureAwait(false);
        return NvmeControllerList.TryRead(data, out var ids) ? ids : [];
    }

    /// <summary>"nqn... (controller 3)": how the destructive cmdlets name what they change.</summary>
    public static async Task<string> DescribeAsync(NvmeAdminClient admin, CancellationToken cancellationToken)
    {
        var id = await admin.IdentifyControllerAsync(cancellationToken).ConfigureAwait(false);
        return string.Format(CultureInfo.InvariantCulture, "{0} (controller {1})", id.Subnqn.Length > 0 ? id.Subnqn : id.Sn, id.Cntlid);
    }
}
