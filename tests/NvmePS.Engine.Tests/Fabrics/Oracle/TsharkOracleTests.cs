using System.Globalization;
using System.Text.Json;
using NvmePS.Engine.Fabrics;

namespace NvmePS.Engine.Tests.Fabrics.Oracle;

/// <summary>
/// Wireshark's NVMe/TCP and NVMe dissectors (tshark) as an independent oracle for what our host and controller put on the
/// wire: a real association (admin + I/O queue + discovery) is relayed through a recording proxy, written to a pcap with
/// synthetic TCP/IP framing, and decoded by tshark. Every PDU must dissect with no malformed/expert warning or error,
/// match an independent walk of the byte stream, carry correct digests when negotiated, and decode to the fields we meant.
/// Skipped (with the reason) only when tshark is not installed.
/// </summary>
[Trait("Category", "Oracle")]
public class TsharkOracleTests
{
    private const int ExpertWarning = 0x00600000;

    public static TheoryData<bool, bool, bool> Combos => new()
    {
        { false, false, false },
        { true, false, false },
        { false, true, false },
        { true, true, false },
        { false, false, true },
        { true, true, true },
    };

    /// <summary>Digests off and on, SQ flow control on and off (the field-level checks; the framing check runs all six).</summary>
    public static TheoryData<bool, bool, bool> FieldCombos => new()
    {
        { false, false, false },
        { true, true, false },
        { true, true, true },
    };

    private static int Pad(int full, int pdaBytes) => (full + pdaBytes - 1) / pdaBytes * pdaBytes;

    [TsharkTheory]
    [MemberData(nameof(Combos))]
    public async Task Every_pdu_dissects_cleanly_and_matches_an_independent_walk_of_the_stream(bool hd, bool dd, bool noFc)
    {
        var s = await OracleSupport.ScenarioAsync(hd, dd, noFc);
        AssertCleanAndFramed(s);
    }

    [TsharkFact]
    public async Task Padding_from_hpda_and_cpda_dissects_cleanly()
    {
        // HPDA 7 (32-byte alignment of C2H data) and CPDA 3 (16-byte alignment of H2C data), with the header digest on.
        // Wireshark 4.0's nvme-tcp dissector ignores PDO: it reads in-capsule/H2C/C2H data right after the header digest,
        // so with padding it decodes shifted data and computes the data digest over the wrong bytes (expert warnings
        // "Trailing stray characters" / digest incorrect). For padded PDUs the framing is still compared with tshark, and the
        // data digest and zero padding are checked with the independent bitwise CRC-32C over [PDO, PLEN − 4).
        var s = await OracleSupport.ScenarioAsync(true, true, false, hpda: 7, cpda: 3);
        var pdus = AssertCleanAndFramed(s, padded: true);
        foreach (var p in pdus.Where(p => p.Type is 4 or 6 or 7 && p.Plen > p.Hlen + 4))
        {
            int pda = p.FromHost ? 16 : 32;
            Assert.Equal(Pad(p.Hlen + 4, pda), p.Pdo);
        }

        Assert.Contains(pdus, p => p.Type == 7 && p.Pdo == 32);
        Assert.Contains(pdus, p => p.Type == 6 && p.Pdo == 32);  // 24 + 4 rounded up to 16
        Assert.Contains(pdus, p => p.Type == 4 && p.Pdo == 80);  // 72 + 4 rounded up to 16
    }

    /// <summary>Clean dissection, one-to-one with the walk, digests verified by tshark; returns tshark's PDUs.</summary>
    private static List<TsharkPdu> AssertCleanAndFramed(OracleScenario s, bool padded = false)
    {
        var frames = Tshark.Decode(s.Pcap);
        Assert.NotEmpty(frames);
        foreach (var f in frames)
        {
            foreach (var (key, value) in OracleSupport.Keys(f.Layers))
            {
                Assert.False(key.StartsWith("_ws.malformed", StringComparison.Ordinal), $"frame {f.Frame} is malformed: {f.Layers}");
                if (key == "_ws.expert.severity" && !padded)
                {
                    long sev = OracleSupport.ParseNumber(value.GetString()!);
                    Assert.True(sev < ExpertWarning, $"frame {f.Frame} has expert info of severity {sev:X}: {f.Layers}");
                }
            }
        }

        var walked = OracleSupport.Walk(s.Chunks);
        var decoded = OracleSupport.TsharkPdus(frames);
        Assert.Equal(3, s.Chunks.Select(c => c.Stream).Distinct().Count()); // admin, I/O, discovery
        foreach (var g in walked.GroupBy(w => (w.Stream, w.FromHost)))
        {
            var mine = g.ToList();
            var theirs = decoded.Where(d => d.Stream == g.Key.Stream && d.FromHost == g.Key.FromHost).ToList();
            Assert.True(mine.Count == theirs.Count,
                $"stream {g.Key.Stream} {(g.Key.FromHost ? "H2C" : "C2H")}: {mine.Count} PDUs in the bytes, tshark decoded {theirs.Count}");
            for (int i = 0; i < mine.Count; i++)
            {
                var (m, t) = (mine[i], theirs[i]);
                string where = $"stream {m.Stream} {(m.FromHost ? "H2C" : "C2H")} PDU #{i} (frame {t.Frame})";
                Assert.True(m.Type == t.Type, $"{where}: type {m.Type} vs tshark {t.Type}");
                Assert.True(m.Flags == t.Flags, $"{where}: flags {m.Flags:X2} vs tshark {t.Flags:X2}");
                Assert.True(m.Hlen == t.Hlen, $"{where}: hlen");
                Assert.True(m.Pdo == t.Pdo, $"{where}: pdo");
                Assert.True(m.Plen == t.Plen, $"{where}: plen");

                bool ic = m.Type is 0 or 1;
                bool carriesHeaderDigest = s.HeaderDigest && !ic && m.Type is not (2 or 3);
                Assert.True(carriesHeaderDigest == (t.Get("nvme-tcp.hdgst") is not null), $"{where}: header digest presence");
                if (carriesHeaderDigest)
                {
                    Assert.True(t.Get("nvme-tcp.hdgst.status") == "1", $"{where}: tshark says the header digest is not correct");
                }

                bool hasData = m.Type is 4 or 6 or 7 && m.Plen > m.Hlen + (carriesHeaderDigest ? 4 : 0);
                bool carriesDataDigest = s.DataDigest && hasData;
                Assert.True(carriesDataDigest == (t.Get("nvme-tcp.ddgst") is not null), $"{where}: data digest presence");
                bool hasPadding = hasData && m.Pdo > m.Hlen + (carriesHeaderDigest ? 4 : 0);
                if (carriesDataDigest && !hasPadding)
                {
                    Assert.True(t.Get("nvme-tcp.ddgst.status") == "1", $"{where}: tshark says the data digest is not correct");
                }

                // Independent of tshark: bitwise CRC-32C over HLEN bytes and over the DATA field only; padding is zero.
                if (carriesHeaderDigest)
                {
                    Assert.Equal(ReferenceCrc32C.Compute(m.Bytes.AsSpan(0, m.Hlen)), System.Buffers.Binary.BinaryPrimitives.ReadUInt32LittleEndian(m.Bytes.AsSpan(m.Hlen)));
                }

                if (hasData)
                {
                    int dataEnd = (int)m.Plen - (carriesDataDigest ? 4 : 0);
                    Assert.All(m.Bytes[(m.Hlen + (carriesHeaderDigest ? 4 : 0))..m.Pdo], b => Assert.Equal(0, b));
                    if (carriesDataDigest)
                    {
                        Assert.Equal(ReferenceCrc32C.Compute(m.Bytes.AsSpan(m.Pdo, dataEnd - m.Pdo)), System.Buffers.Binary.BinaryPrimitives.ReadUInt32LittleEndian(m.Bytes.AsSpan(dataEnd)));
                    }
                }
            }
        }

        return decoded;
    }

    [TsharkTheory]
    [MemberData(nameof(FieldCombos))]
    public async Task ICReq_ICResp_and_Connect_decode_to_the_negotiated_values(bool hd, bool dd, bool noFc)
    {
        var s = await OracleSupport.ScenarioAsync(hd, dd, noFc);
        var icreq = OracleSupport.Fields(s.Pcap, "nvme-tcp.type == 0", "nvme-tcp.icreq.pfv", "nvme-tcp.icreq.hpda", "nvme-tcp.icreq.digest", "nvme-tcp.icreq.maxr2t", "nvme-tcp.plen");
        Assert.Equal(3, icreq.Count);
        int digest = (hd ? 1 : 0) | (dd ? 2 : 0);
        Assert.All(icreq, r => Assert.Equal(["0", "0", digest.ToString(CultureInfo.InvariantCulture), "3", "128"], r.Select(c => OracleSupport.ParseNumber(c).ToString(CultureInfo.InvariantCulture))));

        var icresp = OracleSupport.Fields(s.Pcap, "nvme-tcp.type == 1", "nvme-tcp.icresp.pfv", "nvme-tcp.icresp.cpda", "nvme-tcp.icresp.digest", "nvme-tcp.icresp.maxdata", "nvme-tcp.plen");
        Assert.Equal(3, icresp.Count);
        Assert.All(icresp, r => Assert.Equal(["0", "0", digest.ToString(CultureInfo.InvariantCulture), s.MaxH2CData.ToString(CultureInfo.InvariantCulture), "128"],
            r.Select(c => OracleSupport.ParseNumber(c).ToString(CultureInfo.InvariantCulture))));

        var connect = OracleSupport.Fields(s.Pcap, "nvme.fabrics.cmd.fctype == 0x01",
            "nvme.fabrics.cmd.connect.qid", "nvme.fabrics.cmd.connect.sqsize", "nvme.fabrics.cmd.connect.cattr.dfc", "nvme.fabrics.cmd.connect.kato",
            "nvme.fabrics.cmd.connect.data.cntrlid", "nvme.fabrics.cmd.connect.data.subnqn", "nvme.fabrics.cmd.connect.data.hostnqn",
            "nvme.fabrics.cmd.connect.data.hostid", "nvme.cmd.sgl1.len", "nvme.cmd.sgl.type", "nvme.cmd.sgl.subtype", "nvme.fabrics.cmd.connect.recfmt");
        Assert.Equal(3, connect.Count);
        string hostId = Convert.ToHexStringLower(s.HostId.ToByteArray(bigEndian: true)); // RFC 4122 byte order, as Linux sends uuid_t
        long dfc = noFc ? 1 : 0;
        void Check(string[] r, int qid, int sqsize, long kato, int cntlid, string subnqn)
        {
            Assert.Equal(qid, OracleSupport.ParseNumber(r[0]));
            Assert.Equal(sqsize, OracleSupport.ParseNumber(r[1]));
            Assert.Equal(dfc, OracleSupport.ParseNumber(r[2]));
            Assert.Equal(kato, OracleSupport.ParseNumber(r[3]));
            Assert.Equal(cntlid, OracleSupport.ParseNumber(r[4]));
            Assert.Equal(subnqn, r[5]);
            Assert.Equal(s.HostNqn, r[6]);
            Assert.Equal(hostId, r[7]);
            Assert.Equal(1024, OracleSupport.ParseNumber(r[8]));
            Assert.Equal(0, OracleSupport.ParseNumber(r[9]));  // Data Block
            Assert.Equal(1, OracleSupport.ParseNumber(r[10])); // Offset: in-capsule
            Assert.Equal(0, OracleSupport.ParseNumber(r[11]));
        }

        Check(connect[0], 0, 31, 30000, 0xFFFF, s.SubNqn);
        Check(connect[1], 1, 31, 0, s.Cntlid, s.SubNqn);
        Check(connect[2], 0, 31, 30000, 0xFFFF, FabricsCommand.DiscoveryNqn);

        var cqe = OracleSupport.Fields(s.Pcap, "nvme.fabrics.cqe.connect.cntrlid", "nvme.fabrics.cqe.connect.cntrlid", "nvme.cqe.sqhd", "nvme.cqe.status", "nvme.fabrics.cqe.connect.authreq");
        Assert.Equal(3, cqe.Count);
        Assert.Equal(s.Cntlid, OracleSupport.ParseNumber(cqe[0][0]));
        Assert.Equal(s.Cntlid, OracleSupport.ParseNumber(cqe[1][0]));
        Assert.All(cqe, r =>
        {
            Assert.Equal(noFc ? 0xFFFF : 1, OracleSupport.ParseNumber(r[1])); // the Connect consumed SQ entry 0
            Assert.Equal(0, OracleSupport.ParseNumber(r[2]));
            Assert.Equal(0, OracleSupport.ParseNumber(r[3]));
        });
    }

    [TsharkFact]
    public async Task Property_get_set_and_identify_decode_to_what_was_sent()
    {
        var s = await OracleSupport.ScenarioAsync(false, false, false);
        // Property Get: CAP (8 bytes, offset 0), VS (4 bytes, 8), CC (14h), CSTS (1Ch).
        var gets = OracleSupport.Fields(s.Pcap, "tcp.srcport == 40000 && nvme.fabrics.cmd.fctype == 0x04",
            "nvme.fabrics.cmd.prop_get_set.attrib.size", "nvme.fabrics.cmd.prop_get_set.offset");
        Assert.Equal(["1:0", "0:8", "0:20"], gets.Take(3).Select(r => $"{OracleSupport.ParseNumber(r[0])}:{OracleSupport.ParseNumber(r[1])}"));
        Assert.Contains(gets, r => OracleSupport.ParseNumber(r[1]) == 0x1C);

        var capCqe = OracleSupport.Fields(s.Pcap, "tcp.dstport == 40000 && nvme.fabrics.prop_get.ccap", "nvme.fabrics.prop_get.ccap.mqes", "nvme.fabrics.prop_get.ccap.css", "nvme.fabrics.prop_get.ccap.to");
        Assert.Single(capCqe);
        Assert.Equal(127, OracleSupport.ParseNumber(capCqe[0][0]));  // MaxQueueSize 128, 0's based
        Assert.Equal(1, OracleSupport.ParseNumber(capCqe[0][1]) & 1); // NVM command set

        // Property Set CC: enable (EN=1, IOSQES 6, IOCQES 4), then on disconnect SHN = 01b.
        var sets = OracleSupport.Fields(s.Pcap, "tcp.srcport == 40000 && nvme.fabrics.cmd.fctype == 0x00",
            "nvme.fabrics.cmd.prop_get_set.offset", "nvme.fabrics.prop_get_set.cc.en", "nvme.fabrics.prop_get_set.cc.iosqes", "nvme.fabrics.prop_get_set.cc.iocqes", "nvme.fabrics.prop_get_set.cc.shn");
        Assert.Equal(2, sets.Count);
        Assert.Equal([0x14, 1, 6, 4, 0], sets[0].Select(OracleSupport.ParseNumber));
        Assert.Equal([0x14, 1, 6, 4, 1], sets[1].Select(OracleSupport.ParseNumber));

        var identify = OracleSupport.Fields(s.Pcap, "tcp.srcport == 40000 && nvme.cmd.opc == 0x06", "nvme.cmd.identify.dword10.cns", "nvme.cmd.sgl.type", "nvme.cmd.sgl.subtype", "nvme.cmd.psdt");
        Assert.Single(identify);
        Assert.Equal([1, 5, 0xA, 1], identify[0].Select(OracleSupport.ParseNumber)); // CNS 1, Transport SGL Data Block, PSDT 01b
        var idC2h = OracleSupport.TsharkPdus(Tshark.Decode(s.Pcap)).Where(p => p.Stream == 0 && p.Type == 7).First();
        Assert.Equal(4096, idC2h.Long("nvme-tcp.data.length"));
        var idData = OracleSupport.Fields(s.Pcap, "tcp.dstport == 40000 && nvme.cmd.identify.ctrl.cntlid", "nvme.cmd.identify.ctrl.cntlid", "nvme.cmd.identify.ctrl.subnqn", "nvme.cmd.identify.ctrl.mdts", "nvme.cmd.identify.ctrl.nvmeof.ioccsz");
        Assert.Single(idData);
        Assert.Equal(s.Cntlid, OracleSupport.ParseNumber(idData[0][0]));
        Assert.Equal(s.SubNqn, idData[0][1]);
        Assert.Equal(5, OracleSupport.ParseNumber(idData[0][2])); // 128 KiB = 4 KiB << 5
        Assert.Equal((64 + s.InCapsule) / 16, OracleSupport.ParseNumber(idData[0][3]));
    }

    [TsharkTheory]
    [MemberData(nameof(FieldCombos))]
    public async Task In_capsule_write_R2T_H2CData_and_C2HData_decode_as_intended(bool hd, bool dd, bool noFc)
    {
        var s = await OracleSupport.ScenarioAsync(hd, dd, noFc);
        var pdus = OracleSupport.TsharkPdus(Tshark.Decode(s.Pcap));
        int hdg = hd ? 4 : 0, ddg = dd ? 4 : 0;

        // Writes on the I/O queue (stream 1, host port 40001).
        var writes = OracleSupport.Fields(s.Pcap, "tcp.srcport == 40001 && nvme.cmd.opc == 0x01",
            "nvme.cmd.cid", "nvme.cmd.slba", "nvme.cmd.nlb", "nvme.cmd.sgl.type", "nvme.cmd.sgl.subtype", "nvme.cmd.sgl1.len", "nvme-tcp.pdo", "nvme-tcp.plen");
        Assert.Equal(2, writes.Count);
        var w1 = writes[0].Select(OracleSupport.ParseNumber).ToArray();
        Assert.Equal((long)OracleScenario.SmallLba, w1[1]);
        Assert.Equal(s.SmallWrite.Length / 512, w1[2]); // tshark shows NLB + 1
        Assert.Equal([0, 1, s.SmallWrite.Length], w1[3..6]);
        Assert.Equal(72 + hdg, w1[6]);
        Assert.Equal(72 + hdg + s.SmallWrite.Length + ddg, w1[7]);
        // Wireshark 4.0 does not decode a Transport SGL Data Block's length (type 5 is "reserved" to it): checked only if present.
        var w2 = writes[1].Select(c => c.Length == 0 ? -1 : OracleSupport.ParseNumber(c)).ToArray();
        Assert.Equal((long)OracleScenario.BigLba, w2[1]);
        Assert.Equal(s.BigWrite.Length / 512, w2[2]);
        Assert.Equal([5, 0xA], w2[3..5]);
        Assert.True(w2[5] is -1 || w2[5] == s.BigWrite.Length);
        Assert.Equal(0, w2[6]);
        Assert.Equal(72 + hdg, w2[7]);

        var r2t = pdus.Where(p => p.Stream == 1 && !p.FromHost && p.Type == 9).ToList();
        var r2tOne = Assert.Single(r2t);
        Assert.Equal(w2[0], r2tOne.Long("nvme-tcp.cmd.cid"));
        Assert.Equal(0, r2tOne.Long("nvme-tcp.r2t.offset"));
        Assert.Equal(s.BigWrite.Length, r2tOne.Long("nvme-tcp.r2t.length"));
        long ttag = r2tOne.Long("nvme-tcp.ttag");

        var h2c = pdus.Where(p => p.Stream == 1 && p.FromHost && p.Type == 6).ToList();
        Assert.Equal(3, h2c.Count);
        Assert.Equal([0L, 16384, 32768], h2c.Select(p => p.Long("nvme-tcp.data.offset")));
        Assert.Equal([16384L, 16384, 8192], h2c.Select(p => p.Long("nvme-tcp.data.length")));
        Assert.Equal(["0", "0", "1"], h2c.Select(p => p.Get("nvme-tcp.flags.pdu.data_last")));
        Assert.All(h2c, p =>
        {
            Assert.Equal(w2[0], p.Long("nvme-tcp.cmd.cid"));
            Assert.Equal(ttag, p.Long("nvme-tcp.ttag"));
            Assert.Equal("0", p.Get("nvme-tcp.flags.pdu.data_success"));
            Assert.Equal(24 + hdg, p.Pdo);
            Assert.Equal(24 + hdg + p.Long("nvme-tcp.data.length") + ddg, p.Plen);
        });

        // Read: C2HData in MAXH2CDATA-sized PDUs, SUCCESS on the last one only when SQ flow control is disabled, and then no CapsuleResp.
        var read = OracleSupport.Fields(s.Pcap, "tcp.srcport == 40001 && nvme.cmd.opc == 0x02", "nvme.cmd.cid", "nvme.cmd.sgl.type", "nvme.cmd.nlb");
        var rd = Assert.Single(read).Select(OracleSupport.ParseNumber).ToArray();
        Assert.Equal([5, s.BigWrite.Length / 512], rd[1..]);
        var c2h = pdus.Where(p => p.Stream == 1 && !p.FromHost && p.Type == 7).ToList();
        Assert.Equal(3, c2h.Count);
        Assert.Equal([0L, 16384, 32768], c2h.Select(p => p.Long("nvme-tcp.data.offset")));
        Assert.Equal([16384L, 16384, 8192], c2h.Select(p => p.Long("nvme-tcp.data.length")));
        Assert.Equal(["0", "0", "1"], c2h.Select(p => p.Get("nvme-tcp.flags.pdu.data_last")));
        Assert.Equal(["0", "0", noFc ? "1" : "0"], c2h.Select(p => p.Get("nvme-tcp.flags.pdu.data_success")));
        Assert.All(c2h, p => Assert.Equal(rd[0], p.Long("nvme-tcp.cmd.cid")));
        var readCqe = OracleSupport.Fields(s.Pcap, $"tcp.dstport == 40001 && nvme.cqe.cid == {rd[0]}", "nvme.cqe.status", "nvme.cqe.sqhd");
        if (noFc)
        {
            Assert.Empty(readCqe);
        }
        else
        {
            var c = Assert.Single(readCqe);
            Assert.Equal(0, OracleSupport.ParseNumber(c[0]));
            Assert.Equal(4, OracleSupport.ParseNumber(c[1])); // Connect, two writes, the read
        }
    }

    [TsharkFact]
    public async Task Discovery_log_page_decodes_to_the_configured_subsystem_and_port()
    {
        var s = await OracleSupport.ScenarioAsync(false, false, false);
        var cmd = OracleSupport.Fields(s.Pcap, "tcp.srcport == 40002 && nvme.cmd.opc == 0x02", "nvme.cmd.get_logpage.dword10.id", "nvme.cmd.get_logpage.numd", "nvme.cmd.get_logpage.lpo");
        Assert.True(cmd.Count >= 2);
        Assert.All(cmd, r => Assert.Equal(0x70, OracleSupport.ParseNumber(r[0])));
        const string R = "nvme.cmd.get_logpage.identify.rcrd.";
        var log = OracleSupport.Fields(s.Pcap, "tcp.dstport == 40002 && nvme.cmd.get_logpage.identify.rcrd",
            "nvme.cmd.get_logpage.identify.genctr", "nvme.cmd.get_logpage.identify.numrec", "nvme.cmd.get_logpage.identify.recfmt",
            R + "trtype", R + "adrfam", R + "subtype", R + "treq", R + "portid", R + "cntlid", R + "asqsz", R + "trsvcid", R + "subnqn", R + "traddr", R + "tsas.tcp_sectype");
        var row = Assert.Single(log);
        string[][] cells = row.Select(c => c.Split(',')).ToArray();
        Assert.Equal((long)s.Discovery.GenerationCounter, OracleSupport.ParseNumber(cells[0][0]));
        Assert.Equal(2, OracleSupport.ParseNumber(cells[1][0]));
        Assert.Equal(0, OracleSupport.ParseNumber(cells[2][0]));
        Assert.Equal([3L, 3], cells[3].Select(OracleSupport.ParseNumber));   // TCP
        Assert.Equal([1L, 1], cells[4].Select(OracleSupport.ParseNumber));   // IPv4
        Assert.Equal([2L, 3], cells[5].Select(OracleSupport.ParseNumber));   // NVM subsystem, current discovery subsystem
        Assert.All(cells[6], v => Assert.Equal(0x06, OracleSupport.ParseNumber(v))); // not required secure channel, SQ flow control disable supported
        Assert.All(cells[7], v => Assert.Equal(1, OracleSupport.ParseNumber(v)));
        Assert.All(cells[8], v => Assert.Equal(0xFFFF, OracleSupport.ParseNumber(v)));
        Assert.All(cells[10], v => Assert.Equal(s.TargetPort.ToString(CultureInfo.InvariantCulture), v));
        Assert.Equal([s.SubNqn, FabricsCommand.DiscoveryNqn], cells[11]);
        Assert.All(cells[12], v => Assert.Equal("127.0.0.1", v));
        Assert.All(cells[13], v => Assert.Equal(0, OracleSupport.ParseNumber(v)));

        // Our host decoded the same log.
        Assert.Equal([s.SubNqn, FabricsCommand.DiscoveryNqn], s.Discovery.Entries.Select(e => e.SubNqn));
    }
}
