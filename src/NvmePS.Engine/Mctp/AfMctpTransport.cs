using System.Buffers;

namespace NvmePS.Engine.Mctp;

/// <summary>How an AF_MCTP exchange got its tag.</summary>
public enum MctpTagMode
{
    /// <summary>SIOCMCTPALLOCTAG2: preallocated, network-aware.</summary>
    PreallocatedV2,
    /// <summary>SIOCMCTPALLOCTAG: preallocated on the default network.</summary>
    Preallocated,
    /// <summary>MCTP_TAG_OWNER on each send: the kernel allocates and expires the tag.</summary>
    KernelOwned,
}

/// <summary>
/// NVMe-MI's usual host transport on Linux: kernel AF_MCTP sockets (net/mctp). Each exchange opens a socket,
/// preallocates a tag (SIOCMCTPALLOCTAG2, then SIOCMCTPALLOCTAG, then kernel-owned tags) so a More Processing
/// Required wait still owns the tag, and drops it when done. Timeouts use poll().
/// </summary>
public sealed class AfMctpTransport : IMctpTransport, IMctpEventSource
{
    private readonly Action<string>? _warning;
    private int _warnedKernelTags;

    /// <param name="warning">Receives warnings (for example kernel-owned tags); PowerShell maps it to WriteWarning.</param>
    public AfMctpTransport(Action<string>? warning = null)
    {
        _warning = warning;
    }

    public string Name => "AF_MCTP";

    /// <summary>True when this kernel can create AF_MCTP sockets.</summary>
    public static bool IsSupported()
    {
        int fd = MctpNative.Socket(MctpNative.AfMctp, MctpNative.SockDgram | MctpNative.SockCloexec, 0);
        if (fd < 0)
        {
            return false;
        }

        MctpNative.Close(fd);
        return true;
    }

    public ValueTask<IMctpExchange> OpenExchangeAsync(MctpEndpointAddress peer, byte messageType, CancellationToken cancellationToken)
    {
        cancellationToken.ThrowIfCancellationRequested();
        int fd = MctpNative.OpenSocket();
        try
        {
            var (tag, mode) = AllocateTag(fd, peer);
            if (mode == MctpTagMode.KernelOwned && Interlocked.Exchange(ref _warnedKernelTags, 1) == 0)
            {
                _warning?.Invoke(peer.Network != SockaddrMctp.NetAny && peer.Network != SockaddrMctp.InitialDefaultNet
                    ? $"The kernel does not support SIOCMCTPALLOCTAG2, and SIOCMCTPALLOCTAG only reserves tags on the default network, not net {peer.Network}; " +
                      "using kernel-owned tags. A More Processing Required wait cannot hold the tag, so a late response may be dropped."
                    : "The kernel does not support MCTP tag preallocation (SIOCMCTPALLOCTAG2/SIOCMCTPALLOCTAG); using kernel-owned " +
                      "tags. A More Processing Required wait cannot hold the tag, so a late response may be dropped.");
            }

            return ValueTask.FromResult<IMctpExchange>(new Exchange(fd, peer, (byte)(messageType & MctpMessageTypes.TypeMask), tag, mode));
        }
        catch
        {
            MctpNative.Close(fd);
            throw;
        }
    }

    /// <summary>
    /// Opens an exchange that addresses the peer by physical address (MCTP_OPT_ADDR_EXT, <c>sockaddr_mctp_ext</c>)
    /// instead of a route: for endpoints that have no route yet, as mctpd does while assigning EIDs.
    /// </summary>
    public unsafe ValueTask<IMctpExchange> OpenDirectExchangeAsync(MctpEndpointAddress peer, int interfaceIndex, byte[] hardwareAddress, byte messageType, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(hardwareAddress);
        if (hardwareAddress.Length > SockaddrMctpExt.MaxAddrLen)
        {
            throw new ArgumentException("A hardware address has at most 32 bytes (MAX_ADDR_LEN).", nameof(hardwareAddress));
        }

        cancellationToken.ThrowIfCancellationRequested();
        int fd = MctpNative.OpenSocket();
        int one = 1;
        if (MctpNative.SetSockOpt(fd, MctpIoctl.SolMctp, MctpIoctl.OptAddrExt, (byte*)&one, sizeof(int)) < 0)
        {
            int errno = MctpNative.LastErrno;
            MctpNative.Close(fd);
            throw new NvmeConnectionException($"This kernel does not support MCTP extended addressing (MCTP_OPT_ADDR_EXT): {MctpNative.Describe(errno)}");
        }

        // Without a route there is nothing to preallocate a tag against: the kernel owns the tag.
        return ValueTask.FromResult<IMctpExchange>(new Exchange(fd, peer, (byte)(messageType & MctpMessageTypes.TypeMask), SockaddrMctp.TagOwner, MctpTagMode.KernelOwned)
        {
            Direct = (interfaceIndex, hardwareAddress),
        });
    }

    /// <summary>One tag ioctl on the exchange's socket: returns 0 or the errno. A seam so the fallback order can be
    /// tested on hosts without AF_MCTP.</summary>
    internal delegate int TagIoctl(nuint request, Span<byte> argument);

    private static unsafe (byte Tag, MctpTagMode Mode) AllocateTag(int fd, MctpEndpointAddress peer) =>
        AllocateTag(peer, (request, argument) =>
        {
            fixed (byte* p = argument)
            {
                return MctpNative.Ioctl(fd, request, p) == 0 ? 0 : MctpNative.LastErrno;
            }
        });

    /// <summary>
    /// SIOCMCTPALLOCTAG2 (network-aware) first. Without it, SIOCMCTPALLOCTAG only when the peer is on the default
    /// network (<see cref="SockaddrMctp.NetAny"/> or <see cref="SockaddrMctp.InitialDefaultNet"/>, which kernels
    /// without v2 use for every interface): v1 has no network field, so on another network it would reserve the tag
    /// on the wrong network for the later sendto (review O-2). Otherwise the kernel owns the tag.
    /// </summary>
    internal static (byte Tag, MctpTagMode Mode) AllocateTag(MctpEndpointAddress peer, TagIoctl ioctl)
    {
        Span<byte> span = stackalloc byte[MctpIocTagCtl2.Size];
        new MctpIocTagCtl2(peer.Network, peer.Eid, 0, 0, 0).WriteTo(span);
        int errno = ioctl(MctpIoctl.SiocMctpAllocTag2, span);
        if (errno == 0)
        {
            return (MctpIocTagCtl2.Read(span).Tag, MctpTagMode.PreallocatedV2);
        }

        if (errno != MctpNative.EINVAL && errno != MctpNative.ENOTTY && errno != MctpNative.EOPNOTSUPP)
        {
            ThrowTagError(errno, peer);
        }

        if (peer.Network != SockaddrMctp.NetAny && peer.Network != SockaddrMctp.InitialDefaultNet)
        {
            return (SockaddrMctp.TagOwner, MctpTagMode.KernelOwned);
        }

        span.Clear();
        new MctpIocTagCtl(peer.Eid, 0).WriteTo(span);
        errno = ioctl(MctpIoctl.SiocMctpAllocTag, span);
        if (errno == 0)
        {
            return (MctpIocTagCtl.Read(span).Tag, MctpTagMode.Preallocated);
        }

        if (errno != MctpNative.EINVAL && errno != MctpNative.ENOTTY && errno != MctpNative.EOPNOTSUPP)
        {
            ThrowTagError(errno, peer);
        }

        return (SockaddrMctp.TagOwner, MctpTagMode.KernelOwned);
    }

    private static void ThrowTagError(int errno, MctpEndpointAddress peer)
    {
        if (errno == MctpNative.ENETUNREACH || errno == MctpNative.EHOSTUNREACH || errno == MctpNative.ENOENT)
        {
            throw new NvmeConnectionException($"No MCTP route to {peer}: {MctpNative.Describe(errno)}");
        }

        if (errno == MctpNative.EBUSY || errno == MctpNative.EAGAIN)
        {
            throw new NvmeConnectionException($"All 8 MCTP tags towards {peer} are in use: {MctpNative.Describe(errno)}");
        }

        throw new NvmeConnectionException($"MCTP tag allocation towards {peer} failed: {MctpNative.Describe(errno)}");
    }

    public ValueTask DisposeAsync() => ValueTask.CompletedTask;

    /// <summary>The local EID the event listener binds (0xFF: any local EID). A requester that shares a kernel with
    /// an AF_MCTP responder bound to any EID sets its own EID here, so the kernel tells their messages apart.</summary>
    public byte ListenEid { get; init; } = SockaddrMctp.AddrAny;

    /// <summary>Binds a socket to (peer's network, <see cref="ListenEid"/>, <paramref name="messageType"/>): the kernel
    /// delivers the messages peers send with TO set (their own requests) to bound sockets, never to a requester's
    /// tagged socket, so the endpoint's AEMs arrive here and only here. Messages from other EIDs are dropped.</summary>
    public unsafe ValueTask<IMctpListener> ListenAsync(MctpEndpointAddress peer, byte messageType, CancellationToken cancellationToken)
    {
        cancellationToken.ThrowIfCancellationRequested();
        int fd = MctpNative.OpenSocket();
        byte* addr = stackalloc byte[SockaddrMctp.Size];
        new SockaddrMctp(peer.Network, ListenEid, (byte)(messageType & MctpMessageTypes.TypeMask), 0).WriteTo(new Span<byte>(addr, SockaddrMctp.Size));
        if (MctpNative.Bind(fd, addr, SockaddrMctp.Size) < 0)
        {
            int errno = MctpNative.LastErrno;
            MctpNative.Close(fd);
            throw new NvmeConnectionException($"bind(AF_MCTP, net {peer.Network}, type {messageType & MctpMessageTypes.TypeMask}) for {peer}'s own messages failed: {MctpNative.Describe(errno)}");
        }

        return ValueTask.FromResult<IMctpListener>(new Listener(fd, peer, (byte)(messageType & MctpMessageTypes.TypeMask)));
    }

    private delegate int ReceiveInto(Span<byte> buffer);

    /// <summary>The blocking poll in short slices, on a pool thread so cancellation is honoured promptly, shared by
    /// exchanges and event listeners: <paramref name="tryReceive"/> returns a message's length, or 0 for nothing of
    /// its own yet.</summary>
    private static async ValueTask<int> PollReceiveAsync(Func<int> fd, ReceiveInto tryReceive, Memory<byte> buffer, TimeSpan timeout, string timeoutMessage,
        CancellationToken cancellationToken)
    {
        long deadline = Environment.TickCount64 + (long)timeout.TotalMilliseconds;
        return await Task.Run(() =>
        {
            while (true)
            {
                cancellationToken.ThrowIfCancellationRequested();
                int current = fd();
                long remaining = deadline - Environment.TickCount64;
                if (remaining <= 0)
                {
                    throw new NvmeTimeoutException(timeoutMessage);
                }

                if (MctpNative.WaitReadable(current, (int)Math.Min(remaining, 100)) && tryReceive(buffer.Span) is > 0 and int n)
                {
                    return n;
                }
            }
        }, cancellationToken).ConfigureAwait(false);
    }

    private sealed class Listener(int fd, MctpEndpointAddress peer, byte type) : IMctpListener
    {
        // recvfrom and close take this lock: a receive never reaches a descriptor number reused after close.
        private readonly object _fdGate = new();
        private int _fd = fd;

        public ValueTask<int> ReceiveAsync(Memory<byte> buffer, TimeSpan timeout, CancellationToken cancellationToken) =>
            PollReceiveAsync(() =>
            {
                int current = Volatile.Read(ref _fd);
                ObjectDisposedException.ThrowIf(current < 0, this);
                return current;
            }, TryReceive, buffer, timeout, $"No message from {peer} within {timeout.TotalMilliseconds:0} ms.", cancellationToken);

        private unsafe int TryReceive(Span<byte> buffer)
        {
            byte* addr = stackalloc byte[SockaddrMctp.Size];
            uint addrLen = SockaddrMctp.Size;
            Span<byte> body = buffer[1..];
            nint rc;
            lock (_fdGate)
            {
                ObjectDisposedException.ThrowIf(_fd < 0, this);
                fixed (byte* p = body)
                {
                    rc = MctpNative.RecvFrom(_fd, p, (nuint)body.Length, MctpNative.MsgTrunc | MctpNative.MsgDontwait, addr, &addrLen);
                }
            }

            if (rc < 0)
            {
                int errno = MctpNative.LastErrno;
                return errno is MctpNative.EAGAIN or MctpNative.EINTR ? 0
                    : throw new NvmeConnectionException($"recvfrom for {peer}'s own messages failed: {MctpNative.Describe(errno)}");
            }

            if (!SockaddrMctp.TryRead(new ReadOnlySpan<byte>(addr, SockaddrMctp.Size), out var from))
            {
                return 0;
            }

            // Only the peer's own messages (TO set) of the type belong here; anyone else's are dropped.
            if (from.Eid != peer.Eid || (from.Tag & SockaddrMctp.TagOwner) == 0 || (from.Type & MctpMessageTypes.TypeMask) != type)
            {
                return 0;
            }

            if (rc > body.Length)
            {
                throw new NvmeProtocolException($"MCTP message of {rc + 1} bytes from {peer} exceeds the {buffer.Length}-byte receive buffer.");
            }

            buffer[0] = from.Type;
            return (int)rc + 1;
        }

        public ValueTask DisposeAsync()
        {
            lock (_fdGate)
            {
                if (_fd >= 0)
                {
                    MctpNative.Close(_fd);
                    _fd = -1;
                }
            }

            return ValueTask.CompletedTask;
        }
    }

    private sealed class Exchange : IMctpExchange
    {
        private readonly MctpEndpointAddress _peer;
        private readonly byte _type;
        private readonly byte _tag;
        private readonly MctpTagMode _mode;
        private int _fd;

        public Exchange(int fd, MctpEndpointAddress peer, byte type, byte tag, MctpTagMode mode)
        {
            _fd = fd;
            _peer = peer;
            _type = type;
            _tag = tag;
            _mode = mode;
        }

        public bool HoldsTag => _mode != MctpTagMode.KernelOwned;

        public MctpTagMode TagMode => _mode;

        /// <summary>Interface index and hardware address for extended (direct) addressing; null to use routes.</summary>
        public (int IfIndex, byte[] Haddr)? Direct { get; init; }

        public ValueTask SendAsync(ReadOnlyMemory<byte> message, CancellationToken cancellationToken)
        {
            cancellationToken.ThrowIfCancellationRequested();
            if (message.Length < 1)
            {
                throw new ArgumentException("An MCTP message has at least its type byte.", nameof(message));
            }

            Send(message.Span);
            return ValueTask.CompletedTask;
        }

        private unsafe void Send(ReadOnlySpan<byte> message)
        {
            byte* addr = stackalloc byte[SockaddrMctpExt.Size];
            // The kernel writes smctp_type as the first message byte, so the IC bit travels in smctp_type too.
            var baseAddr = new SockaddrMctp(_peer.Network, _peer.Eid, message[0], _tag);
            uint addrLen = SockaddrMctp.Size;
            if (Direct is { } direct)
            {
                new SockaddrMctpExt(baseAddr, direct.IfIndex, direct.Haddr).WriteTo(new Span<byte>(addr, SockaddrMctpExt.Size));
                addrLen = SockaddrMctpExt.Size;
            }
            else
            {
                baseAddr.WriteTo(new Span<byte>(addr, SockaddrMctp.Size));
            }

            ReadOnlySpan<byte> body = message[1..];
            fixed (byte* p = body)
            {
                nint rc = MctpNative.SendTo(_fd, p, (nuint)body.Length, 0, addr, addrLen);
                if (rc < 0)
                {
                    int errno = MctpNative.LastErrno;
                    if (errno == MctpNative.ENETUNREACH || errno == MctpNative.EHOSTUNREACH)
                    {
                        throw new NvmeConnectionException($"No MCTP route to {_peer}: {MctpNative.Describe(errno)}");
                    }

                    if (errno == MctpNative.EACCES || errno == MctpNative.EPERM)
                    {
                        throw new NvmeConnectionException($"Sending on AF_MCTP needs CAP_NET_RAW: {MctpNative.Describe(errno)}");
                    }

                    throw new NvmeConnectionException($"sendto {_peer} failed: {MctpNative.Describe(errno)}");
                }
            }
        }

        public async ValueTask<int> ReceiveAsync(Memory<byte> buffer, TimeSpan timeout, CancellationToken cancellationToken)
        {
            if (buffer.Length < 2)
            {
                throw new ArgumentException("Receive buffer too small.", nameof(buffer));
            }

            return await PollReceiveAsync(() => _fd, TryReceive, buffer, timeout, $"No MCTP response from {_peer} within {timeout.TotalMilliseconds:0} ms.", cancellationToken).ConfigureAwait(false);
        }

        private unsafe int TryReceive(Span<byte> buffer)
        {
            // With MCTP_OPT_ADDR_EXT the kernel reports a sockaddr_mctp_ext; its first 12 bytes are the sockaddr_mctp.
            byte* addr = stackalloc byte[SockaddrMctpExt.Size];
            uint addrLen = SockaddrMctpExt.Size;
            Span<byte> body = buffer[1..];
            nint rc;
            fixed (byte* p = body)
            {
                rc = MctpNative.RecvFrom(_fd, p, (nuint)body.Length, MctpNative.MsgTrunc | MctpNative.MsgDontwait, addr, &addrLen);
            }

            if (rc < 0)
            {
                int errno = MctpNative.LastErrno;
                if (errno == MctpNative.EAGAIN || errno == MctpNative.EINTR)
                {
                    return 0;
                }

                throw new NvmeConnectionException($"recvfrom {_peer} failed: {MctpNative.Describe(errno)}");
            }

            if (!SockaddrMctp.TryRead(new ReadOnlySpan<byte>(addr, SockaddrMctp.Size), out var from))
            {
                return 0;
            }

            // Only the peer's responses (TO clear) of our type on our tag belong to this exchange.
            if (from.Eid != _peer.Eid || (from.Type & MctpMessageTypes.TypeMask) != _type)
            {
                return 0;
            }

            if (rc > body.Length)
            {
                throw new NvmeProtocolException($"MCTP message of {rc + 1} bytes from {_peer} exceeds the {buffer.Length}-byte receive buffer.");
            }

            buffer[0] = from.Type;
            return (int)rc + 1;
        }

        public unsafe ValueTask DisposeAsync()
        {
            int fd = Interlocked.Exchange(ref _fd, -1);
            if (fd < 0)
            {
                return ValueTask.CompletedTask;
            }

            byte* buf = stackalloc byte[MctpIocTagCtl2.Size];
            var span = new Span<byte>(buf, MctpIocTagCtl2.Size);
            if (_mode == MctpTagMode.PreallocatedV2)
            {
                new MctpIocTagCtl2(_peer.Network, _peer.Eid, 0, 0, _tag).WriteTo(span);
                _ = MctpNative.Ioctl(fd, MctpIoctl.SiocMctpDropTag2, buf);
            }
            else if (_mode == MctpTagMode.Preallocated)
            {
                new MctpIocTagCtl(_peer.Eid, _tag).WriteTo(span);
                _ = MctpNative.Ioctl(fd, MctpIoctl.SiocMctpDropTag, buf);
            }

            MctpNative.Close(fd);
            return ValueTask.CompletedTask;
        }
    }
}

/// <summary>
/// The responder side over AF_MCTP: binds to a message type (any network, any local EID) and answers each request
/// with the same tag, TO bit clear. Used to serve the simulator on a kernel with MCTP.
/// </summary>
public sealed class AfMctpResponderHost : IAsyncDisposable
{
    private readonly MctpResponderDispatcher _dispatcher;
    private readonly CancellationTokenSource _stop = new();
    private readonly object _fdGate = new();
    private int _fd;
    private Task? _loop;

    private AfMctpResponderHost(int fd, IMctpResponder responder, int maxInFlight)
    {
        _fd = fd;
        _dispatcher = new MctpResponderDispatcher(responder, maxInFlight);
    }

    /// <summary>The per-request dispatcher (in-flight count, dropped requests).</summary>
    public MctpResponderDispatcher Dispatcher => _dispatcher;

    /// <summary>Binds an AF_MCTP socket to <paramref name="messageType"/> on <paramref name="network"/> (0 = any) and
    /// <paramref name="localEid"/> (0xFF = any local EID), and starts answering.</summary>
    public static unsafe AfMctpResponderHost Start(IMctpResponder responder, byte messageType = MctpMessageTypes.NvmeManagement, uint network = SockaddrMctp.NetAny, byte localEid = SockaddrMctp.AddrAny,
        int maxInFlight = MctpResponderDispatcher.DefaultMaxInFlight)
    {
        ArgumentNullException.ThrowIfNull(responder);
        int fd = MctpNative.OpenSocket();
        byte* addr = stackalloc byte[SockaddrMctp.Size];
        // The kernel ignores the IC bit of smctp_type on bind.
        new SockaddrMctp(network, localEid, (byte)(messageType & MctpMessageTypes.TypeMask), 0).WriteTo(new Span<byte>(addr, SockaddrMctp.Size));
        if (MctpNative.Bind(fd, addr, SockaddrMctp.Size) < 0)
        {
            int errno = MctpNative.LastErrno;
            MctpNative.Close(fd);
            throw new NvmeConnectionException($"bind(AF_MCTP, type {messageType}) failed: {MctpNative.Describe(errno)}");
        }

        var host = new AfMctpResponderHost(fd, responder, maxInFlight);
        // The default scheduler, named: under a caller's own scheduler (a test framework's, a UI's) StartNew would run
        // this never-ending loop on the caller's threads, which then starve.
        host._loop = Task.Factory.StartNew(host.Run, CancellationToken.None, TaskCreationOptions.LongRunning, TaskScheduler.Default).Unwrap();
        return host;
    }

    private async Task Run()
    {
        byte[] buffer = ArrayPool<byte>.Shared.Rent(8192);
        try
        {
            while (!_stop.IsCancellationRequested)
            {
                if (!MctpNative.WaitReadable(_fd, 100))
                {
                    continue;
                }

                var (length, source) = ReceiveOne(buffer);
                if (length <= 0)
                {
                    continue;
                }

                byte[] request = buffer.AsSpan(0, length).ToArray();
                var replyTo = source with { Tag = (byte)(source.Tag & SockaddrMctp.TagMask) };
                // Concurrent and bounded, like a device: a slow command must not stop control primitives (Abort,
                // Get State) or other requesters; past the bound the request is discarded (review O-1).
                _dispatcher.TryDispatch(new MctpEndpointAddress(source.Network, source.Eid), request, (resp, ct) =>
                {
                    SendOne(replyTo, resp.Span);
                    return ValueTask.CompletedTask;
                });
                await Task.Yield();
            }
        }
        catch (OperationCanceledException) when (_stop.IsCancellationRequested)
        {
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(buffer);
        }
    }

    private unsafe (int Length, SockaddrMctp From) ReceiveOne(byte[] buffer)
    {
        byte* addr = stackalloc byte[SockaddrMctp.Size];
        uint addrLen = SockaddrMctp.Size;
        nint rc;
        fixed (byte* p = &buffer[1])
        {
            rc = MctpNative.RecvFrom(_fd, p, (nuint)(buffer.Length - 1), MctpNative.MsgTrunc | MctpNative.MsgDontwait, addr, &addrLen);
        }

        if (rc < 0 || rc > buffer.Length - 1 || !SockaddrMctp.TryRead(new ReadOnlySpan<byte>(addr, SockaddrMctp.Size), out var from))
        {
            return (0, default);
        }

        buffer[0] = from.Type;
        return ((int)rc + 1, from);
    }

    private unsafe void SendOne(SockaddrMctp destination, ReadOnlySpan<byte> message)
    {
        byte* addr = stackalloc byte[SockaddrMctp.Size];
        (destination with { Type = message[0] }).WriteTo(new Span<byte>(addr, SockaddrMctp.Size));
        ReadOnlySpan<byte> body = message[1..];
        fixed (byte* p = body)
        {
            // Under the lock that closes the socket: a late answer must never reach a reused descriptor number.
            lock (_fdGate)
            {
                if (_fd >= 0)
                {
                    _ = MctpNative.SendTo(_fd, p, (nuint)body.Length, 0, addr, SockaddrMctp.Size);
                }
            }
        }
    }

    /// <summary>Sends a message to a requester as this endpoint's own request (TO set, a tag the kernel allocates):
    /// how the simulator delivers an AEM.</summary>
    public MctpUnsolicitedSender Sender => (destination, message, ct) =>
    {
        ct.ThrowIfCancellationRequested();
        SendOne(new SockaddrMctp(destination.Network, destination.Eid, message.Span[0], SockaddrMctp.TagOwner), message.Span);
        return ValueTask.CompletedTask;
    };

    public async ValueTask DisposeAsync()
    {
        await _stop.CancelAsync().ConfigureAwait(false);
        if (_loop is not null)
        {
            try
            {
                await _loop.ConfigureAwait(false);
            }
            catch (NvmeException)
            {
            }
        }

        await _dispatcher.DisposeAsync().ConfigureAwait(false);
        lock (_fdGate)
        {
            if (_fd >= 0)
            {
                MctpNative.Close(_fd);
                _fd = -1;
            }
        }
    }
}
