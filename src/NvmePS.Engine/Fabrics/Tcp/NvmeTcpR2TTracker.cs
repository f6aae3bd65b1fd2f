namespace NvmePS.Engine.Fabrics.Tcp;

/// <summary>A fatal H2CData verdict: the FES and field offset for the termination request.</summary>
public readonly record struct NvmeTcpDataError(NvmeTcpFatalErrorStatus Fes, int FieldOffset, string Reason);

/// <summary>
/// Controller side: remembers each R2T it sent and checks every H2CData against them (NVMe/TCP Transport 1.0 §3.5.2):
/// known CCCID and TTAG, DATAO exactly where the previous PDU ended, no data past R2TO + R2TL, LAST_PDU on the final PDU
/// and only there, no data without an R2T. Not thread-safe: call it from the connection's reader.
/// </summary>
public sealed class NvmeTcpR2TTracker
{
    private readonly Dictionary<ushort, Entry> _byTtag = new();
    // Entries of finished R2Ts, reused: no allocation per R2T.
    private readonly Stack<Entry> _free = new();
    private ushort _nextTtag;

    private sealed class Entry
    {
        public ushort Cccid;
        public uint Start;
        public uint Next;
        public uint End;
    }

    /// <summary>R2Ts awaiting data.</summary>
    public int Outstanding => _byTtag.Count;

    /// <summary>Registers an R2T about to be sent; returns its TTAG (never FFFFh, never one in use).</summary>
    public ushort Register(ushort cccid, uint r2to, uint r2tl)
    {
        if (r2tl == 0)
        {
            throw new ArgumentOutOfRangeException(nameof(r2tl), "An R2T asks for at least one byte.");
        }

        if (_byTtag.Count >= 0xFFFE)
        {
            throw new InvalidOperationException("No free transfer tag.");
        }

        ushort ttag;
        do
        {
            ttag = _nextTtag++;
        }
        while (ttag == 0xFFFF || _byTtag.ContainsKey(ttag));

        var entry = _free.Count > 0 ? _free.Pop() : new Entry();
        entry.Cccid = cccid;
        entry.Start = entry.Next = r2to;
        entry.End = r2to + r2tl;
        _byTtag[ttag] = entry;
        return ttag;
    }

    /// <summary>Forgets every R2T of a command (it completed or failed).</summary>
    public void RemoveCommand(ushort cccid)
    {
        foreach (var kv in _byTtag)
        {
            if (kv.Value.Cccid == cccid)
            {
                _byTtag.Remove(kv.Key);
                _free.Push(kv.Value);
            }
        }
    }

    /// <summary>Checks one received H2CData header. On success <paramref name="transferComplete"/> says the R2T's
    /// data is all in (its entry is then removed).</summary>
    public bool TryAccept(in NvmeTcpReceivedHeader h2c, out bool transferComplete, out NvmeTcpDataError error)
    {
        transferComplete = false;
        if (_byTtag.Count == 0)
        {
            error = new NvmeTcpDataError(NvmeTcpFatalErrorStatus.PduSequenceError, 0, "H2CData without an outstanding R2T");
            return false;
        }

        bool cccidKnown = false;
        foreach (var e in _byTtag.Values)
        {
            if (e.Cccid == h2c.Cccid)
            {
                cccidKnown = true;
                break;
            }
        }

        if (!cccidKnown)
        {
            error = new NvmeTcpDataError(NvmeTcpFatalErrorStatus.InvalidPduHeaderField, H2CDataPdu.CccidOffset, $"H2CData for CCCID {h2c.Cccid} with no R2T");
            return false;
        }

        if (!_byTtag.TryGetValue(h2c.Ttag, out var entry) || entry.Cccid != h2c.Cccid)
        {
            error = new NvmeTcpDataError(NvmeTcpFatalErrorStatus.InvalidPduHeaderField, H2CDataPdu.TtagOffset, $"unknown TTAG {h2c.Ttag} for CCCID {h2c.Cccid}");
            return false;
        }

        // Data outside the R2T's range is Data Transfer Out of Range (04h); data inside it but not where the previous PDU
        // ended, or LAST_PDU out of step with the range, is a PDU Sequence Error (02h) — FreeBSD nvmf_tcp_handle_h2c_data
        // makes the same split.
        ulong end = (ulong)h2c.Offset + h2c.Length;
        if (h2c.Offset < entry.Start || h2c.Offset >= entry.End)
        {
            error = new NvmeTcpDataError(NvmeTcpFatalErrorStatus.DataTransferOutOfRange, H2CDataPdu.DataoOffset, $"DATAO {h2c.Offset} outside the R2T's {entry.Start}..{entry.End}");
            return false;
        }

        if (end > entry.End)
        {
            error = new NvmeTcpDataError(NvmeTcpFatalErrorStatus.DataTransferOutOfRange, H2CDataPdu.DatalOffset, $"data ends at {end}, beyond the R2T's {entry.End}");
            return false;
        }

        if (h2c.Offset != entry.Next)
        {
            error = new NvmeTcpDataError(NvmeTcpFatalErrorStatus.PduSequenceError, 0, $"DATAO {h2c.Offset}, expected {entry.Next}");
            return false;
        }

        bool final = end == entry.End;
        if (final != h2c.IsLast)
        {
            error = new NvmeTcpDataError(NvmeTcpFatalErrorStatus.PduSequenceError, 0,
                final ? "last PDU of the R2T without LAST_PDU" : "LAST_PDU before the R2T's data is complete");
            return false;
        }

        entry.Next = (uint)end;
        if (final)
        {
            _byTtag.Remove(h2c.Ttag);
            _free.Push(entry);
            transferComplete = true;
        }

        error = default;
        return true;
    }
}
