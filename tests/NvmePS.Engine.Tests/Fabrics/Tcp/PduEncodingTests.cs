using System.Buffers.Binary;
using NvmePS.Engine.Fabrics;
using NvmePS.Engine.Fabrics.Tcp;

namespace NvmePS.Engine.Tests.Fabrics.Tcp;

public class PduEncodingTests
{
    [Fact]
    public void IcReq_is_128_bytes_with_fields_at_spec_offsets()
    {
        byte[] b = new byte[128];
        new IcReqPdu(Pfv: 0, Hpda: 2, HeaderDigest: true, DataDigest: false, Maxr2t: 3).Write(b);
        Assert.Equal(Convert.FromHexString("0000800080000000" + "0000" + "02" + "01" + "03000000"), b[..16]);
        Assert.All(b[16..], x => Assert.Equal(0, x));
        Assert.True(IcReqPdu.TryRead(b, out var back));
        Assert.Equal(new IcReqPdu(0, 2, true, false, 3), back);
    }

    [Fact]
    public void IcResp_round_trips()
    {
        byte[] b = new byte[128];
        new IcRespPdu(0, 1, true, true, 131072).Write(b);
        Assert.Equal(Convert.FromHexString("0100800080000000" + "0000" + "01" + "03" + "00000200"), b[..16]);
        Assert.True(IcRespPdu.TryRead(b, out var back));
        Assert.Equal(131072u, back.Maxh2cdata);
    }

    [Fact]
    public void CapsuleCmd_with_digests_and_in_capsule_data_is_byte_exact()
    {
        var sqe = new NvmeCommand { Opcode = 0x01, Flags = 0x40, Cid = 7, Nsid = 1, Cdw10 = 0 };
        SglDescriptor.InCapsule(5).WriteTo(ref sqe);
        byte[] data = { 1, 2, 3, 4, 5 };
        byte[] b = new byte[200];
        int n = NvmeTcpPduWriter.WriteCapsuleCommand(b, sqe, data, headerDigest: true, dataDigest: true, pdaBytes: 4);
        Assert.Equal(72 + 4 + 5 + 4, n);
        Assert.Equal(new byte[] { 0x04, 0x03, 72, 76, 85, 0, 0, 0 }, b[..8]);
        Assert.Equal(0x01, b[8]);
        Assert.Equal(ReferenceCrc32C.Compute(b.AsSpan(0, 72)), BinaryPrimitives.ReadUInt32LittleEndian(b.AsSpan(72)));
        Assert.Equal(data, b[76..81]);
        Assert.Equal(ReferenceCrc32C.Compute(data), BinaryPrimitives.ReadUInt32LittleEndian(b.AsSpan(81)));
        Assert.True(CapsuleCmdPdu.TryRead(b, out var back));
        Assert.Equal(sqe, back);
    }

    [Fact]
    public void Data_is_padded_to_the_receivers_pda()
    {
        // CPDA 7 → 32-byte alignment: 24-byte H2CData header + 4-byte digest pads to PDO 32.
        byte[] b = new byte[100];
        int n = NvmeTcpPduWriter.WriteH2CData(b, new H2CDataPdu(3, 9, 4096, 8), new byte[8], last: true, headerDigest: true, dataDigest: false, pdaBytes: 32);
        Assert.Equal(40, n);
        Assert.Equal(new byte[] { 0x06, 0x05, 24, 32, 40, 0, 0, 0 }, b[..8]);
        Assert.Equal(new byte[] { 3, 0, 9, 0, 0, 0x10, 0, 0, 8, 0, 0, 0, 0, 0, 0, 0 }, b[8..24]);
        Assert.Equal(new byte[4], b[28..32]);
        Assert.Equal(32, NvmeTcpPduLayout.PdaToBytes(7));
    }

    [Fact]
    public void C2HData_R2T_and_CapsuleResp_are_byte_exact()
    {
        byte[] b = new byte[64];
        int n = NvmeTcpPduWriter.WriteC2HData(b, new C2HDataPdu(0x1234, 512, 4), new byte[] { 9, 9, 9, 9 }, last: true, success: true, false, false, 4);
        Assert.Equal(28, n);
        Assert.Equal(Convert.FromHexString("070C18181C000000" + "34120000" + "00020000" + "04000000" + "00000000" + "09090909"), b[..n]);

        n = NvmeTcpPduWriter.WriteR2T(b, new R2TPdu(5, 1, 8192, 65536), headerDigest: false);
        Assert.Equal(Convert.FromHexString("0900180018000000" + "05000100" + "00200000" + "00000100" + "00000000"), b[..n]);

        n = NvmeTcpPduWriter.WriteCapsuleResponse(b, NvmeCompletion.Create(5, NvmeStatus.Success, dw0: 0xFFFF, sqhd: 3, sqid: 1), headerDigest: false);
        Assert.Equal(Convert.FromHexString("0500180018000000" + "FFFF0000" + "00000000" + "0300" + "0100" + "0500" + "0000"), b[..n]);
    }

    [Fact]
    public void TermReq_copies_at_most_128_bytes_of_the_offending_header()
    {
        byte[] offending = new byte[200];
        for (int i = 0; i < offending.Length; i++)
        {
            offending[i] = (byte)i;
        }

        byte[] b = new byte[200];
        int n = TermReqPdu.Write(b, fromController: true, NvmeTcpFatalErrorStatus.InvalidPduHeaderField, 2, offending);
        Assert.Equal(152, n);
        Assert.Equal(Convert.FromHexString("0300180098000000" + "0100" + "02000000"), b[..14]);
        Assert.Equal(new byte[10], b[14..24]);
        Assert.Equal(offending[..128], b[24..152]);
        Assert.True(TermReqPdu.TryRead(b, out var t));
        Assert.Equal(NvmeTcpFatalErrorStatus.InvalidPduHeaderField, t.Fes);
        Assert.Equal(2u, t.Fei);
    }
}
