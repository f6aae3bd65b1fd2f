using System.Collections;
using System.Globalization;
using System.Management.Automation;
using System.Numerics;
using System.Reflection;

namespace NvmePS.Testing;

/// <summary>
/// The part of PowerShell's LanguagePrimitives.ConvertTo that parameter binding needs for the types NvmePS uses:
/// identity and reference assignability, SwitchParameter/bool, enums by (case-insensitive) name or defined value,
/// numbers with overflow checks (strings as PowerShell number literals: 0x hex, kb/mb/gb/tb/pb suffixes),
/// strings, scalars to arrays and element-wise array conversion, Parse(string) and single-argument constructors.
/// </summary>
internal static class ArgumentConverter
{
    public static bool TryConvert(object? value, Type target, out object? result, out string? error)
    {
        error = null;
        result = null;
        try
        {
            result = Convert(value, target);
            return true;
        }
        catch (Exception e) when (e is InvalidCastException or FormatException or OverflowException or ArgumentException)
        {
            error = e.Message;
            return false;
        }
    }

    /// <summary>True when the value needs no conversion (PowerShell's first ByValue pass).</summary>
    public static bool IsAssignableWithoutCoercion(object? value, Type target)
    {
        if (value is null)
        {
            return !target.IsValueType || Nullable.GetUnderlyingType(target) is not null;
        }

        // A single object of the element type binds to an array parameter without coercion, as for Stop-Process's
        // [Process[]] -InputObject.
        return target.IsInstanceOfType(value) || (target.IsArray && target.GetElementType()!.IsInstanceOfType(value));
    }

    public static object? Convert(object? value, Type target)
    {
        Type? nullable = Nullable.GetUnderlyingType(target);
        if (value is null)
        {
            if (target == typeof(SwitchParameter))
            {
                return new SwitchParameter(false);
            }

            if (target == typeof(bool))
            {
                return false;
            }

            if (target.IsValueType && nullable is null)
            {
                throw new InvalidCastException($"Cannot convert null to type \"{target.FullName}\".");
            }

            return null;
        }

        if (nullable is not null)
        {
            target = nullable;
        }

        if (target.IsInstanceOfType(value))
        {
            return value;
        }

        if (target == typeof(object))
        {
            return value;
        }

        if (target == typeof(SwitchParameter))
        {
            return new SwitchParameter(ToBool(value));
        }

        if (target == typeof(bool))
        {
            return ToBool(value);
        }

        if (target == typeof(string))
        {
            return value switch
            {
                IFormattable f => f.ToString(null, CultureInfo.InvariantCulture),
                _ => value.ToString(),
            };
        }

        if (target.IsArray)
        {
            Type element = target.GetElementType()!;
            if (value is string || value is not IEnumerable enumerable)
            {
                Array single = Array.CreateInstance(element, 1);
                single.SetValue(Convert(value, element), 0);
                return single;
            }

            var items = new List<object?>();
            foreach (object? item in enumerable)
            {
                items.Add(Convert(item, element));
            }

            Array array = Array.CreateInstance(element, items.Count);
            for (int i = 0; i < items.Count; i++)
            {
                array.SetValue(items[i], i);
            }

            return array;
        }

        // A one-element collection converts to a scalar, as PowerShell unwraps single-item arrays.
        if (value is IList { Count: 1 } list && value is not string)
        {
            return Convert(list[0], target);
        }

        if (target.IsEnum)
        {
            return ToEnum(value, target);
        }

        if (IsNumeric(target))
        {
            return ToNumber(value, target);
        }

        if (target == typeof(char) && value is string { Length: 1 } c)
        {
            return c[0];
        }

        if (value is string text)
        {
            MethodInfo? parse = target.GetMethod("Parse", BindingFlags.Public | BindingFlags.Static, new[] { typeof(string), typeof(IFormatProvider) })
                ?? target.GetMethod("Parse", BindingFlags.Public | BindingFlags.Static, new[] { typeof(string) });
            if (parse is not null)
            {
                try
                {
                    return parse.GetParameters().Length == 2
                        ? parse.Invoke(null, new object[] { text, CultureInfo.InvariantCulture })
                        : parse.Invoke(null, new object[] { text });
                }
                catch (TargetInvocationException e) when (e.InnerException is not null)
                {
                    throw new InvalidCastException($"Cannot convert value \"{text}\" to type \"{target.FullName}\". Error: \"{e.InnerException.Message}\"", e.InnerException);
                }
            }
        }

        ConstructorInfo? ctor = target.GetConstructor(new[] { value.GetType() });
        if (ctor is not null)
        {
            try
            {
                return ctor.Invoke(new[] { value });
            }
            catch (TargetInvocationException e) when (e.InnerException is not null)
            {
                throw new InvalidCastException($"Cannot convert value \"{value}\" to type \"{target.FullName}\". Error: \"{e.InnerException.Message}\"", e.InnerException);
            }
        }

        throw new InvalidCastException(
            $"Cannot convert the \"{value}\" value of type \"{value.GetType().FullName}\" to type \"{target.FullName}\".");
    }

    private static bool ToBool(object value) => value switch
    {
        bool b => b,
        SwitchParameter s => s.IsPresent,
        string s => s.Length > 0,
        _ when IsNumeric(value.GetType()) => System.Convert.ToDecimal(value, CultureInfo.InvariantCulture) != 0,
        _ => true,
    };

    private static bool IsNumeric(Type t) =>
        t == typeof(byte) || t == typeof(sbyte) || t == typeof(short) || t == typeof(ushort) || t == typeof(int) ||
        t == typeof(uint) || t == typeof(long) || t == typeof(ulong) || t == typeof(float) || t == typeof(double) ||
        t == typeof(decimal);

    private static object ToEnum(object value, Type target)
    {
        if (value is string s)
        {
            // PowerShell accepts names case-insensitively, comma-separated for [Flags] enums, and numbers.
            string[] parts = s.Split(',', StringSplitOptions.TrimEntries | StringSplitOptions.RemoveEmptyEntries);
            if (parts.Length == 0)
            {
                throw new InvalidCastException($"Cannot convert an empty string to type \"{target.FullName}\".");
            }

            if (parts.Length > 1 && target.GetCustomAttribute<FlagsAttribute>() is null)
            {
                throw new InvalidCastException($"Cannot convert value \"{s}\" to type \"{target.FullName}\": the enumeration is not a flags enumeration.");
            }

            ulong bits = 0;
            foreach (string part in parts)
            {
                string? name = Enum.GetNames(target).FirstOrDefault(n => string.Equals(n, part, StringComparison.OrdinalIgnoreCase));
                if (name is not null)
                {
                    bits |= System.Convert.ToUInt64(Enum.Parse(target, name), CultureInfo.InvariantCulture);
                }
                else if (TryParseNumber(part, out BigInteger n))
                {
                    return ToEnum(ToNumber(n, Enum.GetUnderlyingType(target)), target);
                }
                else
                {
                    throw new InvalidCastException(
                        $"Cannot convert value \"{part}\" to type \"{target.FullName}\". Specify one of the following enumerator names and try again: {string.Join(", ", Enum.GetNames(target))}");
                }
            }

            return Enum.ToObject(target, bits);
        }

        if (IsNumeric(value.GetType()))
        {
            object underlying = ToNumber(value, Enum.GetUnderlyingType(target));
            if (target.GetCustomAttribute<FlagsAttribute>() is null && !Enum.IsDefined(target, underlying))
            {
                throw new InvalidCastException($"Cannot convert value \"{value}\" to type \"{target.FullName}\": it is not a defined value.");
            }

            return Enum.ToObject(target, underlying);
        }

        throw new InvalidCastException($"Cannot convert the \"{value}\" value of type \"{value.GetType().FullName}\" to type \"{target.FullName}\".");
    }

    private static object ToNumber(object value, Type target)
    {
        BigInteger integral;
        switch (value)
        {
            case string s:
                if (target == typeof(double) || target == typeof(float) || target == typeof(decimal))
                {
                    return System.Convert.ChangeType(decimal.Parse(s, NumberStyles.Float, CultureInfo.InvariantCulture), target, CultureInfo.InvariantCulture);
                }

                if (!TryParseNumber(s, out integral))
                {
                    throw new InvalidCastException($"Cannot convert value \"{s}\" to type \"{target.FullName}\". Error: \"Input string was not in a correct format.\"");
                }

                break;
            case BigInteger b:
                integral = b;
                break;
            case Enum e:
                integral = new BigInteger(System.Convert.ToDecimal(System.Convert.ChangeType(e, Enum.GetUnderlyingType(e.GetType()), CultureInfo.InvariantCulture), CultureInfo.InvariantCulture));
                break;
            case bool b:
                integral = b ? 1 : 0;
                break;
            case float or double or decimal:
                if (target == typeof(double) || target == typeof(float) || target == typeof(decimal))
                {
                    return System.Convert.ChangeType(value, target, CultureInfo.InvariantCulture);
                }

                // PowerShell rounds to even when converting fractions to integers.
                integral = new BigInteger(Math.Round(System.Convert.ToDecimal(value, CultureInfo.InvariantCulture), MidpointRounding.ToEven));
                break;
            default:
                if (!IsNumeric(value.GetType()))
                {
                    throw new InvalidCastException($"Cannot convert the \"{value}\" value of type \"{value.GetType().FullName}\" to type \"{target.FullName}\".");
                }

                integral = new BigInteger(System.Convert.ToDecimal(value, CultureInfo.InvariantCulture));
                break;
        }

        if (target == typeof(double) || target == typeof(float) || target == typeof(decimal))
        {
            return System.Convert.ChangeType((decimal)integral, target, CultureInfo.InvariantCulture);
        }

        (BigInteger min, BigInteger max) = RangeOf(target);
        if (integral < min || integral > max)
        {
            throw new OverflowException($"Cannot convert value \"{value}\" to type \"{target.FullName}\". Error: \"Value was either too large or too small for {target.Name}.\"");
        }

        return System.Convert.ChangeType((decimal)integral, target, CultureInfo.InvariantCulture);
    }

    private static (BigInteger Min, BigInteger Max) RangeOf(Type t) => t switch
    {
        _ when t == typeof(byte) => (byte.MinValue, byte.MaxValue),
        _ when t == typeof(sbyte) => (sbyte.MinValue, sbyte.MaxValue),
        _ when t == typeof(short) => (short.MinValue, short.MaxValue),
        _ when t == typeof(ushort) => (ushort.MinValue, ushort.MaxValue),
        _ when t == typeof(int) => (int.MinValue, int.MaxValue),
        _ when t == typeof(uint) => (uint.MinValue, uint.MaxValue),
        _ when t == typeof(long) => (long.MinValue, long.MaxValue),
        _ => (ulong.MinValue, ulong.MaxValue),
    };

    /// <summary>A PowerShell integer literal: optional sign, decimal or 0x hex or 0b binary, optional kb..pb multiplier.</summary>
    internal static bool TryParseNumber(string text, out BigInteger value)
    {
        value = BigInteger.Zero;
        string s = text.Trim();
        if (s.Length == 0)
        {
            return false;
        }

        bool negative = false;
        if (s[0] is '-' or '+')
        {
            negative = s[0] == '-';
            s = s[1..];
        }

        BigInteger multiplier = BigInteger.One;
        string[] suffixes = { "kb", "mb", "gb", "tb", "pb" };
        for (int i = 0; i < suffixes.Length; i++)
        {
            if (s.EndsWith(suffixes[i], StringComparison.OrdinalIgnoreCase))
            {
                multiplier = BigInteger.Pow(1024, i + 1);
                s = s[..^2];
                break;
            }
        }

        bool ok;
        if (s.StartsWith("0x", StringComparison.OrdinalIgnoreCase))
        {
            // Leading 0 keeps the hex digits unsigned.
            ok = BigInteger.TryParse("0" + s[2..], NumberStyles.AllowHexSpecifier, CultureInfo.InvariantCulture, out value) && s.Length > 2;
        }
        else if (s.StartsWith("0b", StringComparison.OrdinalIgnoreCase))
        {
            ok = s.Length > 2 && s[2..].All(ch => ch is '0' or '1');
            if (ok)
            {
                foreach (char ch in s[2..])
                {
                    value = (value << 1) + (ch - '0');
                }
            }
        }
        else
        {
            ok = s.All(char.IsAsciiDigit) && BigInteger.TryParse(s, NumberStyles.None, CultureInfo.InvariantCulture, out value);
        }

        if (!ok)
        {
            return false;
        }

        value *= multiplier;
        if (negative)
        {
            value = -value;
        }

        return true;
    }
}
