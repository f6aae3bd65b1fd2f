using NvmePS.Engine.Admin;

namespace NvmePS.Engine.Fabrics.Controller;

/// <summary>
/// One submission/completion queue pair of a controller as the target sees it, independent of the transport: it consumes
/// SQ slots (SQHD), guards against CID reuse while a command is in flight, validates each command before its data is
/// fetched, executes it and builds the completion. The TCP target drives one per connection:
/// <see cref="Begin"/> when a capsule arrives, then (after fetching data) <see cref="ExecuteAsync"/>, or
/// <see cref="Reject"/> when Begin refused the command.
/// </summary>
public sealed class NvmeControllerQueue : IDisposable, INvmeSqHeadSource
{
    private readonly ulong[] _cidsInFlight = new ulong[65536 / 64];
    private readonly CancellationTokenSource _closed = new();
    private int _head;
    private int _inFlight;
    private int _disposed;

    internal NvmeControllerQueue(NvmeController controller, ushort qid, int size, bool sqFlowControlDisabled)
    {
        Controller = controller;
        Qid = qid;
        Size = size;
        SqFlowControlDisabled = sqFlowControlDisabled;
    }

    public NvmeController Controller { get; }

    /// <summary>QID: 0 for the admin queue.</summary>
    public ushort Qid { get; }

    /// <summary>Number of SQ entries (Connect SQSIZE + 1): the most commands the host may have outstanding.</summary>
    public int Size { get; }

    /// <summary>The host disabled SQ flow control (CATTR bit 2): completions carry SQHD FFFFh.</summary>
    public bool SqFlowControlDisabled { get; }

    public bool IsAdmin => Qid == 0;

    /// <summary>The DH-HMAC-CHAP state of this queue when its host must authenticate (a key is configured for it).</summary>
    public Auth.DhchapControllerAuthenticator? Authentication { get; internal set; }

    /// <summary>False while authentication is required and not yet done: only Authentication Send/Receive are accepted.</summary>
    public bool IsAuthenticated => Authentication is null || Authentication.Authenticated;

    /// <summary>Commands begun and not yet completed.</summary>
    public int InFlight => Volatile.Read(ref _inFlight);

    /// <summary>Cancelled when the transport must close this queue: the association ended, a controller reset deleted
    /// I/O queues, or the host sent Disconnect.</summary>
    public CancellationToken Closed => _closed.Token;

    /// <summary>SQHD to report now.</summary>
    public ushort Sqhd => SqFlowControlDisabled ? (ushort)0xFFFF : (ushort)Volatile.Read(ref _head);

    /// <summary>
    /// The data direction and the NVMe command's view of who sends data: opcode bits 1:0 for Admin and NVM commands,
    /// FCTYPE for Fabrics commands (Connect and Authentication Send carry data to the controller).
    /// </summary>
    public static NvmeDataDirection DataDirectionOf(in NvmeCommand command)
    {
        if (command.Opcode == FabricsCommand.Opcode)
        {
            return FabricsCommand.GetFctype(command) switch
            {
                FabricsCommandType.Connect or FabricsCommandType.AuthenticationSend => NvmeDataDirection.HostToController,
                FabricsCommandType.AuthenticationReceive => NvmeDataDirection.ControllerToHost,
                _ => NvmeDataDirection.None,
            };
        }

        return NvmeAdminOpcode.DataDirection(command.Opcode);
    }

    /// <summary>
    /// A capsule arrived: consume an SQ slot and check the command (opcode, namespace, LBA range, transfer length against
    /// <paramref name="transferLength"/>, the data length the SGL describes). On success the CID is in flight until
    /// <see cref="ExecuteAsync"/> or <see cref="Fail"/> completes it; otherwise complete it with <see cref="Reject"/>.
    /// </summary>
    /// <param name="command">The SQE.</param>
    /// <param name="transferLength">The data length the SGL describes.</param>
    /// <param name="transportStatus">A failure the transport already found (e.g. an SGL it cannot use); it is
    /// returned as the command's status after the SQ slot is consumed.</param>
    public NvmeStatus Begin(in NvmeCommand command, int transferLength, NvmeStatus transportStatus = default)
    {
        AdvanceHead();
        Controller.Touch();
        if (IsInFlight(command.Cid))
        {
            return NvmeStatus.Generic(NvmeStatusNames.CommandIdConflict);
        }

        var status = !transportStatus.IsSuccess ? transportStatus
            : transferLength > Controller.Target.Options.MaxDataTransferSize || transferLength < 0
            ? NvmeStatus.Generic(NvmeStatusNames.InvalidFieldInCommand)
            : Controller.Validate(this, command, transferLength);
        if (!status.IsSuccess)
        {
            Controller.RecordError(Qid, command, status);
            return status;
        }

        MarkInFlight(command.Cid, true);
        Interlocked.Increment(ref _inFlight);
        return status;
    }

    /// <summary>Runs a command <see cref="Begin"/> accepted. Exactly one of the buffers may be non-empty, sized as the SGL said.
    /// Returns the completion to send and how many bytes of <paramref name="dataFromController"/> were produced.</summary>
    // Pooled state machines: no allocation per I/O when the store completes asynchronously.
    [System.Runtime.CompilerServices.AsyncMethodBuilder(typeof(System.Runtime.CompilerServices.PoolingAsyncValueTaskMethodBuilder<>))]
    public async ValueTask<NvmeCommandResult> ExecuteAsync(NvmeCommand command, ReadOnlyMemory<byte> dataToController, Memory<byte> dataFromController,
        CancellationToken cancellationToken = default)
    {
        NvmeController.Outcome outcome;
        try
        {
            outcome = await Controller.ExecuteAsync(this, command, dataToController, dataFromController, cancellationToken).ConfigureAwait(false);
        }
        catch (OperationCanceledException)
        {
            outcome = new NvmeController.Outcome(NvmeStatus.Generic(NvmeStatusNames.CommandAbortedDueToSqDeletion));
        }
#pragma warning disable CA1031 // A fault in one command's execution must become its status, not a lost completion.
        catch (Exception)
        {
            outcome = new NvmeController.Outcome(NvmeStatus.Generic(NvmeStatusNames.InternalError, dnr: false));
        }
#pragma warning restore CA1031

        if (!outcome.Status.IsSuccess)
        {
            Controller.RecordError(Qid, command, outcome.Status);
        }

        Release(command.Cid);
        return new NvmeCommandResult(NvmeCompletion.Create(command.Cid, outcome.Status, outcome.Dw0, outcome.Dw1, Sqhd, Qid), outcome.Bytes);
    }

    /// <summary>Begin followed by Execute, for callers that already hold the data.</summary>
    public async ValueTask<NvmeCommandResult> ProcessAsync(NvmeCommand command, ReadOnlyMemory<byte> dataToController, Memory<byte> dataFromController,
        CancellationToken cancellationToken = default)
    {
        var status = Begin(command, Math.Max(dataToController.Length, dataFromController.Length));
        if (!status.IsSuccess)
        {
            return new NvmeCommandResult(Reject(command.Cid, status), 0);
        }

        return await ExecuteAsync(command, dataToController, dataFromController, cancellationToken).ConfigureAwait(false);
    }

    /// <summary>The completion for a command <see cref="Begin"/> refused (its CID was never put in flight).</summary>
    public NvmeCompletion Reject(ushort cid, NvmeStatus status) => NvmeCompletion.Create(cid, status, sqhd: Sqhd, sqid: Qid);

    /// <summary>Completes a command Begin accepted without executing it (e.g. its data never arrived intact).</summary>
    public NvmeCompletion Fail(in NvmeCommand command, NvmeStatus status)
    {
        Controller.RecordError(Qid, command, status);
        Release(command.Cid);
        return NvmeCompletion.Create(command.Cid, status, sqhd: Sqhd, sqid: Qid);
    }

    internal NvmeCompletion CompleteConnect(ushort cid)
    {
        // The Connect itself consumed the first SQ slot.
        AdvanceHead();
        // AUTHREQ bit 1 (DW0 bit 17, ATR): the host must run an authentication transaction on this queue.
        return NvmeCompletion.Create(cid, NvmeStatus.Success, dw0: ConnectResponse.SuccessDw0(Controller.Cntlid, Authentication is null ? (byte)0 : ConnectResponse.AuthreqAtr),
            sqhd: Sqhd, sqid: Qid);
    }

    /// <summary>Signals the transport to close this queue.</summary>
    internal void Close()
    {
        try
        {
            _closed.Cancel();
        }
        catch (ObjectDisposedException)
        {
        }
    }

    /// <summary>A Disconnect of this I/O queue succeeded: its QID is free again from now, before the completion goes out,
    /// so a host that reconnects the QID as soon as it has the completion is not refused. The transport closes it next.</summary>
    internal void ReleaseIoQueueIdentifier()
    {
        if (!IsAdmin)
        {
            Controller.OnQueueClosed(this);
        }
    }

    /// <summary>The transport lost or closed this queue. Losing the admin queue ends the association.</summary>
    public void Dispose()
    {
        if (Interlocked.Exchange(ref _disposed, 1) != 0)
        {
            return;
        }

        Close();
        Controller.OnQueueClosed(this);
        _closed.Dispose();
    }

    private void AdvanceHead()
    {
        int head, next;
        do
        {
            head = Volatile.Read(ref _head);
            next = head + 1 == Size ? 0 : head + 1;
        }
        while (Interlocked.CompareExchange(ref _head, next, head) != head);
    }

    private bool IsInFlight(ushort cid) => (Volatile.Read(ref _cidsInFlight[cid >> 6]) & (1UL << (cid & 63))) != 0;

    private void MarkInFlight(ushort cid, bool set)
    {
        ulong bit = 1UL << (cid & 63);
        if (set)
        {
            Interlocked.Or(ref _cidsInFlight[cid >> 6], bit);
        }
        else
        {
            Interlocked.And(ref _cidsInFlight[cid >> 6], ~bit);
        }
    }

    private void Release(ushort cid)
    {
        MarkInFlight(cid, false);
        Interlocked.Decrement(ref _inFlight);
    }
}
