using System.Buffers.Binary;

namespace NvmePS.Engine.Mi;

/// <summary>
/// One Asynchronous Event Occurrence (NVMe-MI 2.0 §5.1.4, AE Occurrence Data Structure): a 9-byte header (AELHLEN = 9,
/// AEOSIL, AEOVSIL, then the occurrence's unique identifier: AEOI, AEOCIDI (u32), AESSI), followed by AEOSIL bytes of
/// event-specific information and AEOVSIL bytes of vendor-specific information.
/// </summary>
/// <param name="Id">AEOI: the asynchronous event identifier (the AESID that was enabled).</param>
/// <param name="ControllerInfo">AEOCIDI: the occurrence's controller or scope identifier information.</param>
/// <param name="ScopeInfo">AESSI: the occurrence's scope-specific information byte.</param>
/// <param name="SpecificInfo">AEOSI: event-specific information.</param>
/// <param name="VendorInfo">AEOVSI: vendor-specific information.</param>
public sealed record AsyncEventOccurrence(byte Id, uint ControllerInfo, byte ScopeInfo, byte[] SpecificInfo, byte[] VendorInfo)
{
    public const int HeaderSize = 9;

    /// <summary>Bytes this occurrence takes in a list.</summary>
    public int EncodedLength => HeaderSize + SpecificInfo.Length + VendorInfo.Length;

    /// <summary>The identity of an occurrence (AEOI, AEOCIDI, AESSI): a later occurrence with the same identity
    /// replaces the earlier one in the endpoint's list.</summary>
    public (byte Id, uint ControllerInfo, byte ScopeInfo) Identity => (Id, ControllerInfo, ScopeInfo);
}

/// <summary>
/// AE Occurrence List (NVMe-MI 2.0 §5.1.4): a 7-byte header (NUMAEO, AEOLVER = 0, AEOLLI u24 whose bits 22:0 are
/// AEOLTL, the total length including this header, AEOLHL = 7, AEMTI whose bits 7:3 are AEMGN, the 5-bit generation
/// number) and NUMAEO occurrences of varying length. It is the body of an AEM and of a Configuration Set
/// (Asynchronous Event) response.
/// </summary>
public static class AsyncEventOccurrenceList
{
    public const int HeaderSize = 7;
    public const byte Version = 0;

    /// <summary>AEMGN counts modulo 32.</summary>
    public const int GenerationModulus = 32;

    public static int EncodedLength(IReadOnlyList<AsyncEventOccurrence> occurrences) => HeaderSize + occurrences.Sum(o => o.EncodedLength);

    /// <summary>Writes the list; returns its length (AEOLTL).</summary>
    public static int Write(Span<byte> destination, byte generation, IReadOnlyList<AsyncEventOccurrence> occurrences)
    {
        ArgumentNullException.ThrowIfNull(occurrences);
        if (occurrences.Count > byte.MaxValue)
        {
            throw new ArgumentException("An AE Occurrence List holds at most 255 occurrences.", nameof(occurrences));
        }

        int total = EncodedLength(occurrences);
        if (destination.Length < total)
        {
            throw new ArgumentException("Destination too small for the occurrence list.", nameof(destination));
        }

        destination[0] = (byte)occurrences.Count;
        destination[1] = Version;
        destination[2] = (byte)total;
        destination[3] = (byte)(total >> 8);
        destination[4] = (byte)((total >> 16) & 0x7F);
        destination[5] = HeaderSize;
        destination[6] = (byte)((generation % GenerationModulus) << 3);
        int o = HeaderSize;
        foreach (var e in occurrences)
        {
            if (e.SpecificInfo.Length > byte.MaxValue || e.VendorInfo.Length > byte.MaxValue)
            {
                throw new ArgumentException("AEOSI and AEOVSI are at most 255 bytes each.", nameof(occurrences));
            }

            destination[o] = AsyncEventOccurrence.HeaderSize;
            destination[o + 1] = (byte)e.SpecificInfo.Length;
            destination[o + 2] = (byte)e.VendorInfo.Length;
            destination[o + 3] = e.Id;
            BinaryPrimitives.WriteUInt32LittleEndian(destination[(o + 4)..], e.ControllerInfo);
            destination[o + 8] = e.ScopeInfo;
            e.SpecificInfo.CopyTo(destination[(o + AsyncEventOccurrence.HeaderSize)..]);
            e.VendorInfo.CopyTo(destination[(o + AsyncEventOccurrence.HeaderSize + e.SpecificInfo.Length)..]);
            o += e.EncodedLength;
        }

        return total;
    }

    /// <summary>Reads a list, bounded by <paramref name="source"/> and by the list's own AEOLTL; every length field is
    /// checked before it is used. <paramref name="error"/> names the first bad field.</summary>
    public static bool TryRead(ReadOnlySpan<byte> source, out byte generation, out AsyncEventOccurrence[] occurrences, out string? error)
    {
        generation = 0;
        occurrences = [];
        if (source.Length < HeaderSize)
        {
            error = $"An AE Occurrence List is at least {HeaderSize} bytes; {source.Length} received.";
            return false;
        }

        int count = source[0];
        int total = source[2] | (source[3] << 8) | ((source[4] & 0x7F) << 16);
        int headerLength = source[5];
        if (source[1] != Version)
        {
            error = $"AEOLVER is {source[1]}; only version 0 is defined.";
            return false;
        }

        if (headerLength != HeaderSize)
        {
            error = $"AEOLHL is {headerLength}; the header is {HeaderSize} bytes.";
            return false;
        }

        if (total < HeaderSize || total > source.Length)
        {
            error = $"AEOLTL is {total}, but {source.Length} bytes were received.";
            return false;
        }

        generation = (byte)(source[6] >> 3);
        var list = new AsyncEventOccurrence[count];
        int o = HeaderSize;
        for (int i = 0; i < count; i++)
        {
            if (total - o < AsyncEventOccurrence.HeaderSize)
            {
                error = $"Occurrence {i} starts at byte {o}, past the list's {total} bytes.";
                return false;
            }

            if (source[o] != AsyncEventOccurrence.HeaderSize)
            {
                error = $"Occurrence {i} has AELHLEN {source[o]}; the occurrence header is {AsyncEventOccurrence.HeaderSize} bytes.";
                return false;
            }

            int specific = source[o + 1], vendor = source[o + 2];
            int length = AsyncEventOccurrence.HeaderSize + specific + vendor;
            if (length > total - o)
            {
                error = $"Occurrence {i} is {length} bytes, past the list's {total} bytes.";
                return false;
            }

            var body = source[o..];
            list[i] = new AsyncEventOccurrence(body[3], BinaryPrimitives.ReadUInt32LittleEndian(body[4..]), body[8],
                body.Slice(AsyncEventOccurrence.HeaderSize, specific).ToArray(), body.Slice(AsyncEventOccurrence.HeaderSize + specific, vendor).ToArray());
            o += length;
        }

        if (o != total)
        {
            error = $"The occurrences end at byte {o}, but AEOLTL says {total}.";
            return false;
        }

        occurrences = list;
        error = null;
        return true;
    }
}

/// <summary>An Asynchronous Event Message as received: its generation (AEMGN) and occurrences.</summary>
public sealed record NvmeMiAsyncEventMessage(byte Generation, IReadOnlyList<AsyncEventOccurrence> Occurrences);

/// <summary>
/// The Asynchronous Event Message (NVMe-MI 2.0 §4.1.3): an NVMe-MI message the endpoint sends on its own, with ROR
/// clear, NMIMT 5 (the AEM carries its data in request format) and CSI 0, then the AE Occurrence List, then the MIC.
/// </summary>
public static class AsyncEventMessageCodec
{
    /// <summary>The length of an AEM carrying <paramref name="occurrences"/>: header, list, zero padding to a whole
    /// dword (NVMe-MI messages are whole dwords), MIC.</summary>
    public static int EncodedLength(IReadOnlyList<AsyncEventOccurrence> occurrences) =>
        ((NvmeMiMessageHeader.Size + AsyncEventOccurrenceList.EncodedLength(occurrences) + 3) & ~3) + NvmeMiMic.Size;

    /// <summary>Writes an AEM with its MIC; returns its length.</summary>
    public static int Write(Span<byte> destination, byte generation, IReadOnlyList<AsyncEventOccurrence> occurrences)
    {
        int total = EncodedLength(occurrences);
        if (total > NvmeMiCodec.MaxMessageSize || destination.Length < total)
        {
            throw new ArgumentException($"An AEM of {total} bytes does not fit.", nameof(occurrences));
        }

        new NvmeMiMessageHeader(NvmeMiMessageType.AsyncEvent, false).WriteTo(destination);
        int end = NvmeMiMessageHeader.Size + AsyncEventOccurrenceList.Write(destination[NvmeMiMessageHeader.Size..], generation, occurrences);
        destination[end..(total - NvmeMiMic.Size)].Clear();
        return NvmeMiMic.Append(destination, total - NvmeMiMic.Size);
    }

    /// <summary>True when <paramref name="message"/> looks like an AEM (type 0x84, ROR clear, NMIMT 5), before any
    /// deeper check: what a requester on a shared transport skips while it waits for a response.</summary>
    public static bool IsAsyncEventMessage(ReadOnlySpan<byte> message) =>
        message.Length >= NvmeMiMessageHeader.Size && message[0] == NvmeMiMessageHeader.MctpTypeByte
        && NvmeMiMessageHeader.TryRead(message, out var h) && !h.IsResponse && h.Nmimt == NvmeMiMessageType.AsyncEvent;

    /// <summary>Validates and decodes a whole AEM (MIC included): bounds, type byte, MIC, ROR clear, NMIMT 5, then the
    /// occurrence list. <paramref name="error"/> says what was wrong; nothing is allocated past the message's size.</summary>
    public static bool TryRead(ReadOnlySpan<byte> message, out NvmeMiAsyncEventMessage? aem, out string? error)
    {
        aem = null;
        if (message.Length < NvmeMiMessageHeader.Size + AsyncEventOccurrenceList.HeaderSize + NvmeMiMic.Size || message.Length > NvmeMiCodec.MaxMessageSize)
        {
            error = $"An AEM of {message.Length} bytes is outside {NvmeMiMessageHeader.Size + AsyncEventOccurrenceList.HeaderSize + NvmeMiMic.Size} to {NvmeMiCodec.MaxMessageSize} bytes.";
            return false;
        }

        if (message[0] != NvmeMiMessageHeader.MctpTypeByte)
        {
            error = $"MCTP message type 0x{message[0]:X2}; an AEM is 0x84 (NVMe-MI with IC).";
            return false;
        }

        if (!NvmeMiMic.Verify(message))
        {
            error = "The AEM's MIC does not match its contents.";
            return false;
        }

        NvmeMiMessageHeader.TryRead(message, out var header);
        if (header.IsResponse || header.Nmimt != NvmeMiMessageType.AsyncEvent)
        {
            error = $"Not an AEM: ROR {(header.IsResponse ? 1 : 0)}, NMIMT {(int)header.Nmimt} (an AEM has ROR 0 and NMIMT 5).";
            return false;
        }

        var list = message[NvmeMiMessageHeader.Size..^NvmeMiMic.Size];
        if (!AsyncEventOccurrenceList.TryRead(list, out byte generation, out var occurrences, out error))
        {
            return false;
        }

        // Only the dword padding may follow the list.
        int listLength = list[2] | (list[3] << 8) | ((list[4] & 0x7F) << 16);
        if (list.Length - listLength > 3)
        {
            error = $"{list.Length - listLength} bytes follow the {listLength}-byte occurrence list; only up to 3 bytes of dword padding may.";
            return false;
        }

        aem = new NvmeMiAsyncEventMessage(generation, occurrences);
        return true;
    }
}

/// <summary>
/// The Configuration Set (Asynchronous Event) dword 0 fields besides the identifier (NVMe-MI 2.0 §5.1.4): AERD in bits
/// 15:8 (the endpoint's delay between retransmissions of an unacknowledged AEM, in 100 ms units), AEMD in bits 23:16
/// (how long the endpoint gathers occurrences before it sends an AEM, in seconds), and the ENCFA, EMPFA and ENVFA
/// flags in bits 24-26, named as the specification abbreviates them.
/// </summary>
public readonly record struct AsyncEventSettings(byte RetryDelay100Ms = 0, byte MessageDelaySeconds = 0, bool Encfa = false, bool Empfa = false, bool Envfa = false)
{
    public uint ToCdw0() => (uint)NvmeMiConfigurationId.AsyncEvent | ((uint)RetryDelay100Ms << 8) | ((uint)MessageDelaySeconds << 16)
        | (Encfa ? 1u << 24 : 0) | (Empfa ? 1u << 25 : 0) | (Envfa ? 1u << 26 : 0);

    public static AsyncEventSettings FromCdw0(uint cdw0) => new((byte)(cdw0 >> 8), (byte)(cdw0 >> 16), (cdw0 & (1u << 24)) != 0, (cdw0 & (1u << 25)) != 0, (cdw0 & (1u << 26)) != 0);
}
