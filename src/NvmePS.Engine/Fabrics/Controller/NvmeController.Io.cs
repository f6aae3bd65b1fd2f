using NvmePS.Engine.Admin;

namespace NvmePS.Engine.Fabrics.Controller;

public sealed partial class NvmeController
{
    // Pooled state machines: no allocation per I/O when the store completes asynchronously.
    [System.Runtime.CompilerServices.AsyncMethodBuilder(typeof(System.Runtime.CompilerServices.PoolingAsyncValueTaskMethodBuilder<>))]
    private async ValueTask<Outcome> ExecuteIoAsync(NvmeCommand c, ReadOnlyMemory<byte> dataIn, Memory<byte> dataOut, CancellationToken ct)
    {
        // Validate ran when the capsule arrived; the namespace may have been removed since, so look it up again.
        if (Subsystem.Maintenance.SanitizeInProgress)
        {
            return new Outcome(NvmeStatus.Generic(NvmeStatusNames.SanitizeInProgress));
        }

        try
        {
            switch (c.Opcode)
            {
                case NvmeIoOpcode.Read:
                    {
                        var ns = ActiveNamespace(c.Nsid);
                        if (ns is null)
                        {
                            return new Outcome(InvalidNamespace);
                        }

                        var rw = ReadWriteCommand.Read(c);
                        ulong slba = rw.Slba;
                        long blocks = rw.Blocks;
                        if (!ns.InRange(slba, blocks) || dataOut.Length != blocks << ns.BlockSizeShift)
                        {
                            return new Outcome(NvmeStatus.Generic(NvmeStatusNames.LbaOutOfRange));
                        }

                        await ns.ReadAsync(slba, dataOut, ct).ConfigureAwait(false);
                        return new Outcome(NvmeStatus.Success, Bytes: dataOut.Length);
                    }

                case NvmeIoOpcode.Write:
                    {
                        var ns = ActiveNamespace(c.Nsid);
                        if (ns is null)
                        {
                            return new Outcome(InvalidNamespace);
                        }

                        var rw = ReadWriteCommand.Read(c);
                        ulong slba = rw.Slba;
                        long blocks = rw.Blocks;
                        if (!ns.InRange(slba, blocks) || dataIn.Length != blocks << ns.BlockSizeShift)
                        {
                            return new Outcome(NvmeStatus.Generic(NvmeStatusNames.LbaOutOfRange));
                        }

                        // FUA (bit 30), or the write cache turned off, means durable before completion.
                        bool fua = rw.Fua || !_volatileWriteCache;
                        await ns.WriteAsync(slba, dataIn, fua, ct).ConfigureAwait(false);
                        return new Outcome(NvmeStatus.Success);
                    }

                case NvmeIoOpcode.Compare:
                    {
                        var ns = ActiveNamespace(c.Nsid);
                        if (ns is null)
                        {
                            return new Outcome(InvalidNamespace);
                        }

                        var rw = ReadWriteCommand.Read(c);
                        if (!ns.InRange(rw.Slba, rw.Blocks) || dataIn.Length != (long)rw.Blocks << ns.BlockSizeShift)
                        {
                            return new Outcome(NvmeStatus.Generic(NvmeStatusNames.LbaOutOfRange));
                        }

                        return new Outcome(await ns.CompareAsync(rw.Slba, dataIn, ct).ConfigureAwait(false)
                            ? NvmeStatus.Success
                            : new NvmeStatus(NvmeStatusCodeType.MediaAndDataIntegrity, NvmeStatusNames.CompareFailure));
                    }

                case NvmeIoOpcode.Flush:
                    if (c.Nsid == NvmeAdminCommands.BroadcastNsid)
                    {
                        foreach (var each in ActiveNamespaces)
                        {
                            await each.Storage.FlushAsync(ct).ConfigureAwait(false);
                        }

                        return new Outcome(NvmeStatus.Success);
                    }
                    else
                    {
                        var ns = ActiveNamespace(c.Nsid);
                        if (ns is null)
                        {
                            return new Outcome(InvalidNamespace);
                        }

                        await ns.Storage.FlushAsync(ct).ConfigureAwait(false);
                        return new Outcome(NvmeStatus.Success);
                    }

                case NvmeIoOpcode.WriteZeroes:
                    {
                        var ns = ActiveNamespace(c.Nsid);
                        if (ns is null)
                        {
                            return new Outcome(InvalidNamespace);
                        }

                        var rw = ReadWriteCommand.Read(c);
                        ulong slba = rw.Slba;
                        long blocks = rw.Blocks;
                        if (!ns.InRange(slba, blocks))
                        {
                            return new Outcome(NvmeStatus.Generic(NvmeStatusNames.LbaOutOfRange));
                        }

                        await ns.WriteZeroesAsync(slba, blocks, deallocate: rw.Deallocate, ct).ConfigureAwait(false);
                        if (rw.Fua)
                        {
                            await ns.Storage.FlushAsync(ct).ConfigureAwait(false);
                        }

                        return new Outcome(NvmeStatus.Success);
                    }

                case NvmeIoOpcode.DatasetManagement:
                    {
                        var ns = ActiveNamespace(c.Nsid);
                        if (ns is null)
                        {
                            return new Outcome(InvalidNamespace);
                        }

                        DatasetManagementCommand.TryRead(c, out var dsm);
                        int count = dsm.Ranges;
                        if (dataIn.Length != dsm.DataLength)
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

                        if (dsm.Deallocate)
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
                ? new NvmeStatus(NvmeStatusCodeType.MediaAndDataIntegrity, NvmeStatusNames.UnrecoveredReadError)
                : new NvmeStatus(NvmeStatusCodeType.MediaAndDataIntegrity, NvmeStatusNames.WriteFault));
        }
    }
}
