using System.Collections;
using System.Collections.Concurrent;
using System.Reflection;
using NvmePS.Engine;
using NvmePS.Engine.Admin;
using NvmePS.Engine.Fabrics;
using NvmePS.Engine.Fabrics.Auth;

namespace NvmePS.Fuzz;

/// <summary>The structure parsers a host applies to what a controller returns, and the command records a controller
/// applies to what a host sends: byte 0 picks the parser, the rest is the structure. Every property of what a parser
/// accepts is read too (what the cmdlets and views do with it). Invariant: a parser accepts or refuses; it never throws,
/// and neither does a property of a value it accepted.</summary>
public sealed class AdminStructuresTarget : FuzzTarget
{
    public const string TargetName = "admin-structures";

    /// <summary>The parsers, in the order byte 0 selects them.</summary>
    public static readonly string[] Parsers =
    [
        "identify-controller", "identify-namespace", "smart-log", "error-log-entry", "firmware-slot-log", "self-test-log",
        "sanitize-status-log", "namespace-list", "namespace-id-descriptors", "controller-list", "discovery-log",
        "discovery-log-entry", "sqe-records", "connect-data", "nqn", "auth-header", "auth-negotiate", "dhchap-challenge",
        "dhchap-reply", "dhchap-success1", "auth-failure",
    ];

    private static readonly ConcurrentDictionary<Type, PropertyInfo[]> PropertiesByType = new();

    public const string Summary = "Identify, log page, discovery, Connect data, SQE and authentication message parsers";

    public static byte[] Compose(string parser, ReadOnlySpan<byte> structure)
    {
        int index = Array.IndexOf(Parsers, parser);
        if (index < 0)
        {
            throw new ArgumentException($"No parser '{parser}'.", nameof(parser));
        }

        var input = new byte[1 + structure.Length];
        input[0] = (byte)index;
        structure.CopyTo(input.AsSpan(1));
        return input;
    }

    public override void Run(ReadOnlySpan<byte> input)
    {
        if (input.Length < 1)
        {
            return;
        }

        var s = input[1..];
        switch (Parsers[input[0] % Parsers.Length])
        {
            case "identify-controller": Accepted(NvmeIdentifyController.TryRead(s, out var idc), idc); break;
            case "identify-namespace": Accepted(NvmeIdentifyNamespace.TryRead(s, out var idn), idn); break;
            case "smart-log": Accepted(NvmeSmartLog.TryRead(s, out var smart), smart); break;
            case "error-log-entry": Accepted(NvmeErrorLogEntry.TryRead(s, out var error), error); break;
            case "firmware-slot-log": Accepted(NvmeFirmwareSlotLog.TryRead(s, out var fw), fw); break;
            case "self-test-log": Accepted(NvmeSelfTestLog.TryRead(s, out var selfTest), selfTest); break;
            case "sanitize-status-log": Accepted(NvmeSanitizeStatusLog.TryRead(s, out var sanitize), sanitize); break;
            case "namespace-list": Touch(NvmeNamespaceList.Read(s)); break;
            case "namespace-id-descriptors": Accepted(NvmeNamespaceIdDescriptor.TryReadList(s, out var descriptors), descriptors); break;
            case "controller-list": Accepted(NvmeControllerList.TryRead(s, out var controllers), controllers); break;
            case "discovery-log":
                Accepted(DiscoveryLog.TryRead(s, out var log), log);
                if (DiscoveryLog.TryReadHeader(s, out _, out ulong records, out _))
                {
                    Check(DiscoveryLog.SizeFor(records) >= DiscoveryLog.HeaderSize, "a discovery log size below its header");
                }

                break;
            case "discovery-log-entry": Accepted(DiscoveryLogEntry.TryRead(s, out var entry), entry); break;
            case "sqe-records": SqeRecords(s); break;
            case "connect-data":
                Check(ConnectData.TryRead(s, out var connect, out var connectError) ? connect is not null : connectError.Reason is not null,
                    "Connect data neither read nor refused with a reason");
                Touch(connect);
                break;
            case "nqn": Check(Nqn.TryRead(s, out string? nqn, out string? why) ? nqn is not null : why is not null, "an NQN neither read nor refused with a reason"); break;
            case "auth-header": Accepted(AuthMessageHeader.TryRead(s, out var authHeader), authHeader); break;
            case "auth-negotiate": Accepted(AuthNegotiate.TryRead(s, out var negotiate, out _), negotiate); break;
            case "dhchap-challenge": Accepted(DhchapChallenge.TryRead(s, out var challenge), challenge); break;
            case "dhchap-reply": Accepted(DhchapReply.TryRead(s, out var reply), reply); break;
            case "dhchap-success1": Accepted(DhchapSuccess1.TryRead(s, out var success1), success1); break;
            default: Accepted(AuthFailure.TryRead(s, out var failure), failure); break;
        }
    }

    /// <summary>A 64-byte SQE through every command record that reads one.</summary>
    private static void SqeRecords(ReadOnlySpan<byte> s)
    {
        if (!NvmeCommand.TryRead(s, out var c))
        {
            return;
        }

        Accepted(IdentifyCommand.TryRead(c, out var a), a);
        Accepted(GetLogPageCommand.TryRead(c, out var b), b);
        Accepted(GetFeaturesCommand.TryRead(c, out var d), d);
        Accepted(SetFeaturesCommand.TryRead(c, out var e), e);
        Accepted(ReadWriteCommand.TryRead(c, out var f), f);
        Accepted(DatasetManagementCommand.TryRead(c, out var g), g);
        Accepted(NamespaceManagementCommand.TryRead(c, out var h), h);
        Accepted(NamespaceAttachmentCommand.TryRead(c, out var i), i);
        Accepted(FormatNvmCommand.TryRead(c, out var j), j);
        Accepted(SanitizeCommand.TryRead(c, out var k), k);
        Accepted(FirmwareImageDownloadCommand.TryRead(c, out var l), l);
        Accepted(FirmwareCommitCommand.TryRead(c, out var m), m);
        Accepted(DeviceSelfTestCommand.TryRead(c, out var n), n);
        Accepted(ConnectCommand.TryRead(c, out var o), o);
        Accepted(PropertyGetCommand.TryRead(c, out var p), p);
        Accepted(PropertySetCommand.TryRead(c, out var q), q);
        Accepted(DisconnectCommand.TryRead(c, out var r), r);
        Accepted(AuthenticationCommand.TryRead(c, out var t), t);
    }

    private static void Accepted(bool read, object? value)
    {
        if (read)
        {
            Touch(value);
        }
    }

    /// <summary>Reads every public property (and the elements of collections) of a parsed value, two levels deep.</summary>
    private static void Touch(object? value, int depth = 0)
    {
        if (value is null || depth > 2 || value is string || value.GetType().IsPrimitive || value is Enum)
        {
            return;
        }

        _ = value.ToString();
        if (value is IEnumerable items)
        {
            foreach (var item in items)
            {
                Touch(item, depth + 1);
            }

            return;
        }

        foreach (var property in PropertiesByType.GetOrAdd(value.GetType(), static t => t.GetProperties(BindingFlags.Public | BindingFlags.Instance)
            .Where(p => p.CanRead && p.GetIndexParameters().Length == 0).ToArray()))
        {
            object? v;
            try
            {
                v = property.GetValue(value);
            }
            catch (TargetInvocationException e) when (e.InnerException is not null)
            {
                throw new FuzzFindingException($"{value.GetType().Name}.{property.Name} threw {e.InnerException.GetType().Name}: {e.InnerException.Message}");
            }

            Touch(v, depth + 1);
        }
    }
}
