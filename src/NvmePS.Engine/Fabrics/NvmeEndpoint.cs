using System.Net;

namespace NvmePS.Engine.Fabrics;

/// <summary>
/// Transport addresses as users type them (TRADDR with an optional TRSVCID): "127.0.0.1:4420", "[::1]:4420", or an
/// address alone, which takes the default port. Shared by Connect-NvmfController, Get-NvmfDiscoveryLog,
/// Start-NvmfTarget and `nvmeps target`.
/// </summary>
public static class NvmeEndpoint
{
    /// <summary>The IANA NVMe/TCP port for I/O controllers (NVMe/TCP Transport 1.0 §3.1).</summary>
    public const int IoPort = 4420;

    /// <summary>The IANA port for NVMe/TCP discovery controllers (NVMe/TCP Transport 1.0 §3.1).</summary>
    public const int DiscoveryPort = 8009;

    /// <summary>The port a host connects to when none is given: 8009 for the discovery NQN, else 4420.</summary>
    public static int DefaultPortFor(string subsystemNqn) =>
        string.Equals(subsystemNqn, FabricsCommand.DiscoveryNqn, StringComparison.Ordinal) ? DiscoveryPort : IoPort;

    /// <summary>Parses "address:port", "[v6]:port", or an address alone (which gets <paramref name="defaultPort"/>).</summary>
    /// <exception cref="FormatException">Not an IP address, or a port out of range.</exception>
    public static IPEndPoint Parse(string text, int defaultPort)
    {
        if (!TryParse(text, defaultPort, out IPEndPoint? endPoint))
        {
            throw new FormatException($"'{text}' is not an IP address or address:port.");
        }

        return endPoint!;
    }

    /// <summary>As <see cref="Parse"/>, and a host name ("localhost", "array1:4420") is resolved through DNS, IPv4 first.</summary>
    /// <exception cref="FormatException">Neither an address nor a name that resolves, or a port out of range.</exception>
    public static async Task<IPEndPoint> ResolveAsync(string text, int defaultPort, CancellationToken cancellationToken)
    {
        if (TryParse(text, defaultPort, out IPEndPoint? endPoint))
        {
            return endPoint!;
        }

        string host = text?.Trim() ?? string.Empty;
        int port = defaultPort;
        int colon = host.IndexOf(':', StringComparison.Ordinal);
        if (colon >= 0 && colon == host.LastIndexOf(':'))
        {
            if (!int.TryParse(host.AsSpan(colon + 1), System.Globalization.NumberStyles.None, System.Globalization.CultureInfo.InvariantCulture, out port)
                || port is < IPEndPoint.MinPort or > IPEndPoint.MaxPort)
            {
                throw new FormatException($"'{text}' has no valid port after the ':'.");
            }

            host = host[..colon];
        }

        if (host.Length == 0 || Uri.CheckHostName(host) != UriHostNameType.Dns)
        {
            throw new FormatException($"'{text}' is not an IP address, address:port or host name.");
        }

        IPAddress[] addresses;
        try
        {
            addresses = await Dns.GetHostAddressesAsync(host, cancellationToken).ConfigureAwait(false);
        }
        catch (System.Net.Sockets.SocketException e)
        {
            throw new FormatException($"'{host}' is not an IP address, and the name does not resolve: {e.Message}", e);
        }

        IPAddress? chosen = addresses.FirstOrDefault(a => a.AddressFamily == System.Net.Sockets.AddressFamily.InterNetwork) ?? addresses.FirstOrDefault();
        return chosen is not null ? new IPEndPoint(chosen, port) : throw new FormatException($"'{host}' resolves to no address.");
    }

    /// <summary>"address:port", with an IPv6 address in brackets ("[::1]:4420"), as <see cref="Parse"/> reads it back.</summary>
    public static string Format(string address, int port) =>
        IPAddress.TryParse(address, out IPAddress? a) && a.AddressFamily == System.Net.Sockets.AddressFamily.InterNetworkV6
            ? $"[{a}]:{port}"
            : $"{address}:{port}";

    public static bool TryParse(string? text, int defaultPort, out IPEndPoint? endPoint)
    {
        endPoint = null;
        if (string.IsNullOrWhiteSpace(text) || defaultPort is < IPEndPoint.MinPort or > IPEndPoint.MaxPort)
        {
            return false;
        }

        text = text.Trim();

        // A bare IPv6 address ("::1") also parses as an endpoint with its last group as the port; only "[v6]:port"
        // and "v4:port" carry a port.
        if ((text.Contains("]:", StringComparison.Ordinal) || text.Count(c => c == ':') == 1) && IPEndPoint.TryParse(text, out IPEndPoint? ep))
        {
            endPoint = ep;
            return true;
        }

        if (IPAddress.TryParse(text.Trim('[', ']'), out IPAddress? address))
        {
            endPoint = new IPEndPoint(address, defaultPort);
            return true;
        }

        return false;
    }
}
