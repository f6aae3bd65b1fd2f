namespace NvmePS.Engine.Fabrics;

/// <summary>
/// A controller's submission queue head, read by the transport when a CapsuleResp's place on the wire is fixed, so the
/// SQHD values a host sees never go backwards (NVMe Base 2.1 §4.2.4: SQHD is the head at the time the completion is
/// posted; on a byte stream, posting is the order PDUs leave in, not the order completions were built).
/// </summary>
internal interface INvmeSqHeadSource
{
    /// <summary>SQHD to report now (FFFFh with SQ flow control disabled).</summary>
    ushort Sqhd { get; }
}
