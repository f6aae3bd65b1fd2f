using System.Buffers.Binary;
using NvmePS.Engine.Admin;

namespace NvmePS.Engine.Mi;

/// <summary>
/// NVMe Admin commands tunnelled over NVMe-MI (NVMe-MI 1.2 §6) for one controller of an endpoint. Implements the
/// Admin seam so the shared Admin client (Identify, logs chunked by <see cref="MaxDataTransferSize"/>, features,
/// namespace management, firmware, sanitize, security) runs unchanged over MI. The MI data rules are enforced
/// before anything is sent: at most 4096 bytes, a multiple of 4, and data in one direction only, matching the
/// opcode's data-transfer bits.
/// </summary>
public sealed class NvmeMiAdminTransport : INvmeAdminTransport
{
    private readonly NvmeMiEndpoint _endpoint;

    internal NvmeMiAdminTransport(NvmeMiEndpoint endpoint, ushort controllerId)
    {
        _endpoint = endpoint;
        ControllerId = controllerId;
    }

    public ushort ControllerId { get; }

    public NvmeMiEndpoint Endpoint => _endpoint;

    /// <summary>DLEN limit of NVMe-MI: 4096 bytes per command.</summary>
    public int MaxDataTransferSize => NvmeMiCodec.MaxAdminDataLength;

    public ValueTask<NvmeCommandResult> ExecuteAdminAsync(NvmeCommand command, ReadOnlyMemory<byte> dataToController, Memory<byte> dataFromController, CancellationToken cancellationToken) =>
        ExecuteAdminAsync(command, dataToController, dataFromController, 0, null, cancellationToken);

    /// <summary>As the seam's method, plus a response data offset (DOFST, for partial reads) and a timeout override.</summary>
    public async ValueTask<NvmeCommandResult> ExecuteAdminAsync(NvmeCommand command, ReadOnlyMemory<byte> dataToController, Memory<byte> dataFromController, uint dataOffset, TimeSpan? timeout, CancellationToken cancellationToken)
    {
        CheckDataRules(command.Opcode, dataToController.Length, dataFromController.Length, dataOffset);
        int dlen = dataToController.Length != 0 ? dataToController.Length : dataFromController.Length;
        byte flags = (byte)((dlen != 0 ? NvmeMiCodec.AdminFlagDlv : 0) | (dataOffset != 0 ? NvmeMiCodec.AdminFlagDov : 0));
        byte[] request = new byte[NvmeMiCodec.AdminRequestHeaderSize + dataToController.Length + NvmeMiMic.Size];
        int length = NvmeMiCodec.WriteAdminRequest(request, command, ControllerId, dataOffset, (uint)dlen, flags, dataToController.Span, _endpoint.Options.CommandSlot);
        string operation = $"Admin opcode 0x{command.Opcode:X2} to controller {ControllerId} over NVMe-MI";
        TimeSpan? t = timeout ?? _endpoint.Options.AdminTimeout?.Invoke(command);
        byte[] body = await _endpoint.ExchangeAsync(request.AsMemory(0, length), NvmeMiMessageType.AdminCommand, operation, t, true, cancellationToken).ConfigureAwait(false);
        return ParseResponse(body, dataFromController.Span, operation);
    }

    /// <summary>Checks the NVMe-MI data-length rules; throws <see cref="ArgumentException"/> naming the rule broken.</summary>
    public static void CheckDataRules(byte opcode, int toControllerLength, int fromControllerLength, uint dataOffset)
    {
        if (toControllerLength != 0 && fromControllerLength != 0)
        {
            throw new ArgumentException("NVMe-MI Admin commands move data in one direction only (DLEN covers request or response data, not both).");
        }

        int dlen = toControllerLength + fromControllerLength;
        if (dlen > NvmeMiCodec.MaxAdminDataLength)
        {
            throw new ArgumentException($"NVMe-MI Admin commands move at most {NvmeMiCodec.MaxAdminDataLength} bytes; {dlen} requested.");
        }

        if ((dlen & 3) != 0 || (dataOffset & 3) != 0)
        {
            throw new ArgumentException($"NVMe-MI Admin data length and offset must be multiples of 4 bytes (length {dlen}, offset {dataOffset}).");
        }

        int direction = opcode & 0x3;
        if (direction == 3)
        {
            throw new ArgumentException($"Opcode 0x{opcode:X2} is bidirectional; NVMe-MI cannot tunnel bidirectional commands.");
        }

        if (toControllerLength != 0 && direction != 1)
        {
            throw new ArgumentException($"Opcode 0x{opcode:X2} does not transfer data to the controller (data-transfer bits {direction}).");
        }

        if (fromControllerLength != 0 && direction != 2)
        {
            throw new ArgumentException($"Opcode 0x{opcode:X2} does not transfer data from the controller (data-transfer bits {direction}).");
        }

        if (dataOffset != 0 && fromControllerLength == 0)
        {
            throw new ArgumentException("A data offset only applies to response data.");
        }
    }

    /// <summary>Decodes an Admin response body (MIC removed): MI status, CQE dwords 0, 1, 3, then data.</summary>
    public static NvmeCommandResult ParseResponse(ReadOnlySpan<byte> body, Span<byte> dataFromController, string operation)
    {
        if (NvmeMiResponseHeader.TryRead(body, out var header) && header.Status != 0)
        {
            throw new NvmeMiStatusException(header.Status, operation, header.Nmresp);
        }

        if (!NvmeMiAdminResponseHeader.TryRead(body, out var admin))
        {
            throw new NvmeProtocolException($"{operation}: response header is {body.Length} bytes, an Admin response header is 20.", fieldOffset: (uint)body.Length);
        }

        var data = body[NvmeMiCodec.AdminResponseHeaderSize..];
        if (data.Length > dataFromController.Length)
        {
            throw new NvmeProtocolException($"{operation}: {data.Length} bytes of response data, {dataFromController.Length} were requested.", fieldOffset: NvmeMiCodec.AdminResponseHeaderSize);
        }

        data.CopyTo(dataFromController);
        return new NvmeCommandResult(admin.Completion, data.Length);
    }
}
