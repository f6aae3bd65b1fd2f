using NvmePS.Engine.Admin;

namespace NvmePS.Engine.Fabrics.Controller;

public sealed partial class NvmeController
{
    // Pooled state machines: no allocation per I/O when the store completes asynchronously.
    [System.Runtime.CompilerServices.AsyncMethodBuilder(typeof(System.Runtime.CompilerServices.PoolingAsyncValueTaskMethodBuilder<>))]
    private async ValueTask<Outcome> ExecuteIoAsync(NvmeCommand c, ReadOnlyMemory<byte> dataIn, Memory<byte> dataOut, CancellationToken ct)
    {
        // Validate ran when the capsule arrived; the namespace may have been removed since, so look it up again.
        try
        {
            switch (c.Opcode)
            {
                case NvmeIoOpcode.Read:
                    {
                        var ns = Subsystem.GetNamespace(c.Nsid);
                        if (ns is null)
                        {
                            return new Outcome(InvalidNamespace);
                        }

                        ulong slba = c.Cdw10 | ((ulong)c.Cdw11 << 32);
                        long blocks = (c.Cdw12 & 0xFFFF) + 1L;
                        if (!ns.InRange(slba, blocks) || dataOut.Length != blocks << ns.BlockSizeShift)
                        {
                            return new Outcome(NvmeStatus.Generic(NvmeStatusNames.LbaOutOfRange));
                        }

                        await ns.ReadAsync(slba, dataOut, ct).ConfigureAwait(false);
                        return new Outcome(NvmeStatus.Success, Bytes: dataOut.Length);
                    }

                case NvmeIoOpcode.Write:
                    {
                        var ns = Subsystem.GetNamespace(c.Nsid);
                        if (ns is null)
                        {
                            return new Outcome(InvalidNamespace);
                        }

                        ulong slba = c.Cdw10 | ((ulong)c.Cdw11 << 32);
                        long blocks = (c.Cdw12 & 0xFFFF) + 1L;
                        if (!ns.InRange(slba, blocks) || dataIn.Length != blocks << ns.BlockSizeShift)
                        {
                            return new Outcome(NvmeStatus.Generic(NvmeStatusNames.LbaOutOfRange));
                        }

                        // FUA (bit 30), or the write cache turned off, means durable before completion.
                        bool fua = (c.Cdw12 & (1u << 30)) != 0 || !_volatileWriteCache;
                        await ns.WriteAsync(slba, dataIn, fua, ct).ConfigureAwait(false);
                        return new Outcome(NvmeStatus.Success);
                    }

                case NvmeIoOpcode.Flush:
                    if (c.Nsid == NvmeAdminCommands.BroadcastNsid)
                    {
                        foreach (var each in Subsystem.Namespaces)
                        {
                            await each.Storage.FlushAsync(ct).ConfigureAwait(false);
                        }

                        return new Outcome(NvmeStatus.Success);
                    }
                    else
                    {
                        var ns = Subsystem.GetNamespace(c.Nsid);
                        if (ns is null)
                        {
                            return new Outcome(InvalidNamespace);
                        }

                        await ns.Storage.FlushAsync(ct).ConfigureAwait(false);
                        return new Outcome(NvmeStatus.Success);
                    }

                case NvmeIoOpcode.WriteZeroes:
                    {
                        var ns = Subsystem.GetNamespace(c.Nsid);
                        if (ns is null)
                        {
                            return new Outcome(InvalidNamespace);
                        }

                        ulong slba = c.Cdw10 | ((ulong)c.Cdw11 << 32);
                        long blocks = (c.Cdw12 & 0xFFFF) + 1L;
                        if (!ns.InRange(slba, blocks))
                        {
                            return new Outcome(NvmeStatus.Generic(NvmeStatusNames.LbaOutOfRange));
                        }

                        await ns.WriteZeroesAsync(slba, blocks, deallocate: (c.Cdw12 & (1u << 25)) != 0, ct).ConfigureAwait(false);
                        if ((c.Cdw12 & (1u << 30)) != 0)
                        {
                            await ns.Storage.FlushAsync(ct).ConfigureAwait(false);
                        }

                        return new Outcome(NvmeStatus.Success);
                    }

                case NvmeIoOpcode.DatasetManagement:
                    {
                        var ns = Subsystem.GetNamespace(c.Nsid);
                        if (ns is null)
                        {
                            return new Outcome(InvalidNamespace);
                        }

                        int count = (int)(c.Cdw10 & 0xFF) + 1;
                        if (dataIn.Length != count * NvmeDsmRange.Size)
                        {
                            return new Outcome(NvmeStatus.Generic(NvmeStatusNames.DataSglLengthInvalid));
                        }

                        // Check every range before touching any, so a bad range changes nothing.
                        for (int i = 0; i < count; i++)
                        {
                            var r = NvmeDsmRange.Read(dataIn.Span[(i * NvmeDsmRange.Size)..]);
                            if (!ns.InRange(r.StartingLba, r.LengthInBlocks))
                            {
                                return new Outcome(NvmeStatus.Generic(NvmeStatusNames.LbaOutOfRange));
                            }
                        }

                        if ((c.Cdw11 & 0x4) != 0)
                        {
                            for (int i = 0; i < count; i++)
                            {
                                var r = NvmeDsmRange.Read(dataIn.Span[(i * NvmeDsmRange.Size)..]);
                                if (r.LengthInBlocks != 0)
                                {
                                    // DLFEAT says deallocated blocks read as zeroes, so deallocation is a zeroing.
                                    await ns.Storage.WriteZeroesAsync((long)r.StartingLba << ns.BlockSizeShift,
                                        (long)r.LengthInBlocks << ns.BlockSizeShift, deallocate: true, ct).ConfigureAwait(false);
                                }
                            }
                        }

                        return new Outcome(NvmeStatus.Success);
                    }

                default:
                    return new Outcome(NvmeStatus.Generic(NvmeStatusNames.InvalidCommandOpcode));
            }
        }
        catch (ObjectDisposedException)
        {
            // The namespace was removed while the command ran.
            return new Outcome(InvalidNamespace);
        }
        catch (IOException)
        {
            // The backing file failed: a media error the host can see and retry elsewhere.
            return new Outcome(c.Opcode == NvmeIoOpcode.Read
                ? new NvmeStatus(NvmeStatusCodeType.MediaAndDataIntegrity, 0x81) // Unrecovered Read Error
                : new NvmeStatus(NvmeStatusCodeType.MediaAndDataIntegrity, 0x80)); // Write Fault
        }
    }
}
