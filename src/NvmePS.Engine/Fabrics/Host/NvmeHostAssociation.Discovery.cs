using System.Buffers.Binary;
using NvmePS.Engine.Admin;

namespace NvmePS.Engine.Fabrics.Host;

/// <summary>The discovery log page, read whole and consistent.</summary>
public sealed partial class NvmeHostAssociation
{
    /// <summary>
    /// Reads the whole Discovery log page (log 70h): header, then all NUMREC entries, then the header again; if GENCTR
    /// changed in between the log is read again (NVMe over Fabrics 1.1 §5.3), up to <see cref="DiscoveryRetries"/> times.
    /// </summary>
    public async Task<DiscoveryLog> GetDiscoveryLogAsync(CancellationToken cancellationToken)
    {
        byte[] head = new byte[DiscoveryLog.HeaderSize];
        for (int attempt = 0; attempt < DiscoveryRetries; attempt++)
        {
            await Admin.GetLogPageAsync(DiscoveryLog.LogId, head, 0, nsid: 0, cancellationToken: cancellationToken).ConfigureAwait(false);
            DiscoveryLog.TryReadHeader(head, out ulong genctr, out ulong numrec, out _);
            if (numrec > MaxDiscoveryRecords)
            {
                throw new NvmeProtocolException($"The discovery log claims {numrec} records; at most {MaxDiscoveryRecords} are accepted.");
            }

            byte[] full = new byte[DiscoveryLog.HeaderSize + ((int)numrec * DiscoveryLogEntry.Size)];
            await Admin.GetLogPageAsync(DiscoveryLog.LogId, full, 0, nsid: 0, cancellationToken: cancellationToken).ConfigureAwait(false);
            byte[] again = new byte[16];
            await Admin.GetLogPageAsync(DiscoveryLog.LogId, again, 0, nsid: 0, cancellationToken: cancellationToken).ConfigureAwait(false);
            DiscoveryLog.TryReadHeader(full, out ulong genctrFull, out ulong numrecFull, out _);
            ulong genctrAfter = BinaryPrimitives.ReadUInt64LittleEndian(again);
            if (genctrFull == genctr && genctrAfter == genctr && numrecFull == numrec)
            {
                if (!DiscoveryLog.TryRead(full, out var log))
                {
                    throw new NvmeProtocolException("A discovery log entry is malformed (SUBNQN without NUL).");
                }

                return log!;
            }
        }

        throw new NvmeProtocolException($"The discovery log changed on each of {DiscoveryRetries} reads (GENCTR kept moving).");
    }
}
