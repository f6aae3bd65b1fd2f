// Explicit usings and #nullable: Pester compiles this file with Add-Type, which has neither by default.
#nullable enable
using System;
using System.Collections.Generic;
using System.Diagnostics;
using System.IO;
using System.Linq;
using System.Threading;
using System.Threading.Tasks;

namespace NvmePS.Engine.Tests.DBus;

/// <summary>
/// Debian's dbus-daemon on a private unix socket in a temp directory, with a policy that allows everything, or one that
/// denies ObjectManager.GetManagedObjects to mctpd's name (to produce a real AccessDenied from the bus).
/// </summary>
public sealed class PrivateBus : IDisposable
{
    private readonly Process _daemon;
    private readonly string _dir;

    private PrivateBus(Process daemon, string dir, string address)
    {
        _daemon = daemon;
        _dir = dir;
        Address = address;
    }

    /// <summary>The address dbus-daemon printed (unix:path=...,guid=...).</summary>
    public string Address { get; }

    public string SocketPath => Path.Combine(_dir, "bus.sock");

    public static PrivateBus Start(bool denyGetManagedObjects = false)
    {
        const string exe = "/usr/bin/dbus-daemon";
        if (!File.Exists(exe))
        {
            throw new InvalidOperationException("dbus-daemon is not installed (apt-get install dbus-daemon); .ci/run installs it.");
        }

        string dir = Directory.CreateTempSubdirectory("nvmeps-dbus-").FullName;
        string deny = denyGetManagedObjects
            ? """<deny send_destination="au.com.codeconstruct.MCTP1" send_interface="org.freedesktop.DBus.ObjectManager" send_member="GetManagedObjects"/>"""
            : string.Empty;
        string config = Path.Combine(dir, "bus.conf");
        File.WriteAllText(config, $"""
            <!DOCTYPE busconfig PUBLIC "-//freedesktop//DTD D-Bus Bus Configuration 1.0//EN" "http://www.freedesktop.org/standards/dbus/1.0/busconfig.dtd">
            <busconfig>
              <type>custom</type>
              <listen>unix:path={Path.Combine(dir, "bus.sock")}</listen>
              <auth>EXTERNAL</auth>
              <policy context="default">
                <allow user="*"/>
                <allow own="*"/>
                <allow send_type="method_call"/>
                <allow send_destination="*"/>
                <allow receive_sender="*"/>
                {deny}
              </policy>
            </busconfig>
            """);
        var psi = new ProcessStartInfo(exe)
        {
            ArgumentList = { "--config-file=" + config, "--print-address", "--nofork", "--nopidfile", "--nosyslog" },
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        var p = Process.Start(psi)!;
        p.ErrorDataReceived += (_, _) => { };
        p.BeginErrorReadLine();
        var line = p.StandardOutput.ReadLineAsync();
        if (!line.Wait(TimeSpan.FromSeconds(20)) || string.IsNullOrWhiteSpace(line.Result))
        {
            p.Kill();
            throw new InvalidOperationException("dbus-daemon did not print its address.");
        }

        return new PrivateBus(p, dir, line.Result!.Trim());
    }

    public void Dispose()
    {
        try
        {
            _daemon.Kill();
            _daemon.WaitForExit(5000);
        }
        catch (InvalidOperationException)
        {
            // Already gone.
        }

        _daemon.Dispose();
        try
        {
            Directory.Delete(_dir, recursive: true);
        }
        catch (IOException)
        {
            // Best effort.
        }
    }
}
