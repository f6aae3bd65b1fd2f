using NvmePS.Engine.Fabrics.Tcp;

namespace NvmePS.Engine.Tests.Fabrics.Tcp;

public class R2TTrackerTests
{
    private static NvmeTcpReceivedHeader H2C(ushort cccid, ushort ttag, uint datao, uint datal, bool last) =>
        new(NvmeTcpPduType.H2CData, last ? NvmeTcpPduFlags.LastPdu : 0, default, default, default, cccid, ttag, datao, datal);

    private static void AssertError(NvmeTcpR2TTracker t, NvmeTcpReceivedHeader h, NvmeTcpFatalErrorStatus fes, int offset)
    {
        Assert.False(t.TryAccept(h, out _, out var e));
        Assert.Equal(fes, e.Fes);
        Assert.Equal(offset, e.FieldOffset);
    }

    [Fact]
    public void In_order_data_completes_the_transfer()
    {
        var t = new NvmeTcpR2TTracker();
        ushort tag = t.Register(5, 8192, 8192);
        Assert.True(t.TryAccept(H2C(5, tag, 8192, 4096, false), out bool done, out _));
        Assert.False(done);
        Assert.True(t.TryAccept(H2C(5, tag, 12288, 4096, true), out done, out _));
        Assert.True(done);
        Assert.Equal(0, t.Outstanding);
    }

    [Fact]
    public void Every_bad_h2cdata_gets_its_fes_and_offset()
    {
        var t = new NvmeTcpR2TTracker();
        AssertError(t, H2C(5, 0, 0, 4096, true), NvmeTcpFatalErrorStatus.PduSequenceError, 0);
        ushort tag = t.Register(5, 0, 8192);
        AssertError(t, H2C(6, tag, 0, 4096, false), NvmeTcpFatalErrorStatus.InvalidPduHeaderField, 8);
        AssertError(t, H2C(5, (ushort)(tag + 1), 0, 4096, false), NvmeTcpFatalErrorStatus.InvalidPduHeaderField, 10);
        // Outside the R2T's range: Data Transfer Out of Range (04h). Inside it but out of step: PDU Sequence Error (02h),
        // as FreeBSD nvmf_tcp_handle_h2c_data.
        AssertError(t, H2C(5, tag, 8192, 4096, true), NvmeTcpFatalErrorStatus.DataTransferOutOfRange, 12);
        AssertError(t, H2C(5, tag, 4096, 4096, false), NvmeTcpFatalErrorStatus.PduSequenceError, 0);
        AssertError(t, H2C(5, tag, 0, 12288, true), NvmeTcpFatalErrorStatus.DataTransferOutOfRange, 16);
        AssertError(t, H2C(5, tag, 0, 4096, true), NvmeTcpFatalErrorStatus.PduSequenceError, 0);
        AssertError(t, H2C(5, tag, 0, 8192, false), NvmeTcpFatalErrorStatus.PduSequenceError, 0);
        Assert.True(t.TryAccept(H2C(5, tag, 0, 4096, false), out _, out _));
        // Overlapping: the same range again.
        AssertError(t, H2C(5, tag, 0, 4096, false), NvmeTcpFatalErrorStatus.PduSequenceError, 0);
        t.RemoveCommand(5);
        Assert.Equal(0, t.Outstanding);
    }
}
