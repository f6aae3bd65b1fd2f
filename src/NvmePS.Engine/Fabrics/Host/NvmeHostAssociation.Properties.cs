using System.Diagnostics;

namespace NvmePS.Engine.Fabrics.Host;

/// <summary>Fabrics Property Get/Set and the controller registers they reach.</summary>
public sealed partial class NvmeHostAssociation
{
    /// <summary>Property Get (4 or 8 bytes).</summary>
    public async Task<ulong> GetPropertyAsync(uint offset, PropertySize size, CancellationToken cancellationToken)
    {
        var r = await AdminQueue.ExecuteAsync(new PropertyGetCommand(size, offset).ToCommand(0), default, default, cancellationToken).ConfigureAwait(false);
        ThrowIfError(r.Completion, NvmeCommandContext.Fabrics, $"Property Get {ControllerProperty.NameOf(offset)}");
        return PropertyGetCommand.GetValue(r.Completion, size);
    }

    /// <summary>Property Set (4 or 8 bytes).</summary>
    public async Task SetPropertyAsync(uint offset, PropertySize size, ulong value, CancellationToken cancellationToken)
    {
        var r = await AdminQueue.ExecuteAsync(new PropertySetCommand(size, offset, value).ToCommand(0), default, default, cancellationToken).ConfigureAwait(false);
        ThrowIfError(r.Completion, NvmeCommandContext.Fabrics, $"Property Set {ControllerProperty.NameOf(offset)}");
    }

    /// <summary>CSTS.</summary>
    public async Task<ControllerStatus> GetStatusAsync(CancellationToken cancellationToken) =>
        new((uint)await GetPropertyAsync(ControllerProperty.Csts, PropertySize.FourBytes, cancellationToken).ConfigureAwait(false));

    /// <summary>Sets CC.EN (CSS from CAP.CSS, 64-byte SQEs, 16-byte CQEs) and waits for CSTS.RDY within CAP.TO.</summary>
    public async Task EnableAsync(CancellationToken cancellationToken)
    {
        var cap = Capabilities;
        var current = new ControllerConfiguration((uint)await GetPropertyAsync(ControllerProperty.Cc, PropertySize.FourBytes, cancellationToken).ConfigureAwait(false));
        if (!current.En)
        {
            // CC.CSS: 110b when the controller supports I/O command sets, 111b for admin-only (discovery) controllers, else NVM.
            byte css = (cap.Css & 0x40) != 0 ? (byte)0x6 : (cap.Css & 0x81) == 0x80 ? (byte)0x7 : (byte)0x0;
            var cc = ControllerConfiguration.Create(en: true, css: css, mps: cap.Mpsmin, iosqes: 6, iocqes: 4);
            await SetPropertyAsync(ControllerProperty.Cc, PropertySize.FourBytes, cc.Value, cancellationToken).ConfigureAwait(false);
        }

        var limit = cap.Timeout > TimeSpan.Zero ? cap.Timeout : TimeSpan.FromMilliseconds(500);
        await WaitStatusAsync(s => s.Rdy, limit, "CSTS.RDY = 1", $"CAP.TO ({limit.TotalMilliseconds:0} ms)", cancellationToken).ConfigureAwait(false);
    }

    /// <summary>Normal shutdown: CC.SHN = 01b, then waits for CSTS.SHST = 10b (shutdown complete).</summary>
    public async Task ShutdownAsync(CancellationToken cancellationToken)
    {
        var cc = new ControllerConfiguration((uint)await GetPropertyAsync(ControllerProperty.Cc, PropertySize.FourBytes, cancellationToken).ConfigureAwait(false));
        await SetPropertyAsync(ControllerProperty.Cc, PropertySize.FourBytes, cc.WithShn(ShutdownNotification.Normal).Value, cancellationToken).ConfigureAwait(false);
        var limit = Parameters.ShutdownTimeout;
        if (IdentifyController is { } id && id.Rtd3e > 0)
        {
            limit = TimeSpan.FromMilliseconds(Math.Max(limit.TotalMilliseconds, id.Rtd3e / 1000.0));
        }

        await WaitStatusAsync(s => s.Shst == ShutdownStatus.Complete, limit, "CSTS.SHST = shutdown complete", $"{limit.TotalMilliseconds:0} ms", cancellationToken).ConfigureAwait(false);
    }

    private async Task WaitStatusAsync(Func<ControllerStatus, bool> done, TimeSpan limit, string what, string limitText, CancellationToken cancellationToken)
    {
        var sw = Stopwatch.StartNew();
        int delay = 1;
        while (true)
        {
            var csts = await GetStatusAsync(cancellationToken).ConfigureAwait(false);
            if (csts.Cfs)
            {
                throw new NvmeProtocolException($"The controller reports fatal status (CSTS.CFS) while waiting for {what}.");
            }

            if (done(csts))
            {
                return;
            }

            if (sw.Elapsed > limit)
            {
                throw new NvmeTimeoutException($"{what} did not happen within {limitText}; CSTS = {csts.Value:X8}h.");
            }

            await Task.Delay(delay, cancellationToken).ConfigureAwait(false);
            delay = Math.Min(delay * 2, 100);
        }
    }

    private static void ThrowIfError(in NvmeCompletion cqe, NvmeCommandContext context, string operation)
    {
        if (!cqe.IsSuccess)
        {
            throw new NvmeStatusException(cqe, context, operation);
        }
    }
}
