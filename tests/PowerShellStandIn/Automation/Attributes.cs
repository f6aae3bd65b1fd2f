using System.Collections;
using System.Globalization;

namespace System.Management.Automation.Internal
{
    [AttributeUsage(AttributeTargets.All)]
    public abstract class CmdletMetadataAttribute : Attribute
    {
        internal CmdletMetadataAttribute()
        {
        }
    }

    [AttributeUsage(AttributeTargets.All)]
    public abstract class ParsingBaseAttribute : CmdletMetadataAttribute
    {
        internal ParsingBaseAttribute()
        {
        }
    }
}

namespace System.Management.Automation
{
    using System.Management.Automation.Internal;

    public enum ConfirmImpact
    {
        None = 0,
        Low = 1,
        Medium = 2,
        High = 3,
    }

    public enum RemotingCapability
    {
        None = 0,
        PowerShell = 1,
        SupportedByCommand = 2,
        OwnedByCommand = 3,
    }

    [AttributeUsage(AttributeTargets.Class)]
    public abstract class CmdletCommonMetadataAttribute : CmdletMetadataAttribute
    {
        protected CmdletCommonMetadataAttribute()
        {
        }

        public string? DefaultParameterSetName { get; set; }

        public bool SupportsShouldProcess { get; set; }

        public bool SupportsPaging { get; set; }

        public bool SupportsTransactions { get; set; }

        public ConfirmImpact ConfirmImpact { get; set; } = ConfirmImpact.Medium;

        public string? HelpUri { get; set; }

        public RemotingCapability RemotingCapability { get; set; } = RemotingCapability.PowerShell;
    }

    [AttributeUsage(AttributeTargets.Class)]
    public sealed class CmdletAttribute : CmdletCommonMetadataAttribute
    {
        public CmdletAttribute(string verbName, string nounName)
        {
            VerbName = verbName;
            NounName = nounName;
        }

        public string VerbName { get; }

        public string NounName { get; }
    }

    [AttributeUsage(AttributeTargets.Class, AllowMultiple = true)]
    public sealed class OutputTypeAttribute : CmdletMetadataAttribute
    {
        public OutputTypeAttribute(params Type[] type)
        {
            Type = type.Select(t => new PSTypeName(t)).ToArray();
        }

        public OutputTypeAttribute(params string[] type)
        {
            Type = type.Select(t => new PSTypeName(t)).ToArray();
        }

        public PSTypeName[] Type { get; }

        public string[] ParameterSetName { get; set; } = new[] { ParameterAttribute.AllParameterSets };

        public string? ProviderCmdlet { get; set; }
    }

    public class PSTypeName
    {
        public PSTypeName(Type type)
        {
            Type = type;
            Name = type.FullName ?? type.Name;
        }

        public PSTypeName(string name)
        {
            Name = name;
        }

        public string Name { get; }

        public Type? Type { get; }

        public override string ToString() => Name;
    }

    [AttributeUsage(AttributeTargets.Field | AttributeTargets.Property, AllowMultiple = true)]
    public sealed class ParameterAttribute : ParsingBaseAttribute
    {
        public const string AllParameterSets = "__AllParameterSets";

        public ParameterAttribute()
        {
        }

        public string ParameterSetName { get; set; } = AllParameterSets;

        public bool Mandatory { get; set; }

        public int Position { get; set; } = int.MinValue;

        public bool ValueFromPipeline { get; set; }

        public bool ValueFromPipelineByPropertyName { get; set; }

        public bool ValueFromRemainingArguments { get; set; }

        public string? HelpMessage { get; set; }

        public string? HelpMessageBaseName { get; set; }

        public string? HelpMessageResourceId { get; set; }

        public bool DontShow { get; set; }
    }

    [AttributeUsage(AttributeTargets.Field | AttributeTargets.Property)]
    public sealed class AliasAttribute : ParsingBaseAttribute
    {
        public AliasAttribute(params string[] aliasNames)
        {
            AliasNames = aliasNames;
        }

        public IList<string> AliasNames { get; }
    }

    /// <summary>Base of the validation attributes; the stand-in binder calls <see cref="ValidateValue"/>.</summary>
    [AttributeUsage(AttributeTargets.Field | AttributeTargets.Property)]
    public abstract class ValidateArgumentsAttribute : CmdletMetadataAttribute
    {
        protected ValidateArgumentsAttribute()
        {
        }

        internal abstract void ValidateValue(object? arguments);
    }

    [AttributeUsage(AttributeTargets.Field | AttributeTargets.Property)]
    public abstract class ValidateEnumeratedArgumentsAttribute : ValidateArgumentsAttribute
    {
        protected ValidateEnumeratedArgumentsAttribute()
        {
        }

        protected abstract void ValidateElement(object element);

        internal override void ValidateValue(object? arguments)
        {
            if (arguments is null)
            {
                throw new ValidationMetadataException("The argument is null.");
            }

            if (arguments is IEnumerable e && arguments is not string)
            {
                foreach (object? o in e)
                {
                    ValidateElement(o ?? throw new ValidationMetadataException("The argument contains a null element."));
                }
            }
            else
            {
                ValidateElement(arguments);
            }
        }
    }

    [AttributeUsage(AttributeTargets.Field | AttributeTargets.Property)]
    public sealed class ValidateSetAttribute : ValidateEnumeratedArgumentsAttribute
    {
        public ValidateSetAttribute(params string[] validValues)
        {
            ValidValues = validValues;
        }

        public IList<string> ValidValues { get; }

        public bool IgnoreCase { get; set; } = true;

        protected override void ValidateElement(object element)
        {
            string s = Convert.ToString(element, CultureInfo.InvariantCulture) ?? string.Empty;
            var cmp = IgnoreCase ? StringComparer.OrdinalIgnoreCase : StringComparer.Ordinal;
            if (!ValidValues.Contains(s, cmp))
            {
                throw new ValidationMetadataException(
                    $"The argument \"{s}\" does not belong to the set \"{string.Join(",", ValidValues)}\" specified by the ValidateSet attribute. Supply an argument that is in the set and then try the command again.");
            }
        }
    }

    [AttributeUsage(AttributeTargets.Field | AttributeTargets.Property)]
    public sealed class ValidateRangeAttribute : ValidateEnumeratedArgumentsAttribute
    {
        private readonly Type _type;

        public ValidateRangeAttribute(object minRange, object maxRange)
        {
            ArgumentNullException.ThrowIfNull(minRange);
            ArgumentNullException.ThrowIfNull(maxRange);

            // As PowerShell: both bounds of one type (so [ValidateRange(1, 0xFFFFFFFE)] fails: int and uint), and
            // min <= max. PowerShell raises this when it builds the command's metadata.
            if (minRange.GetType() != maxRange.GetType())
            {
                throw new ValidationMetadataException(
                    $"The MinRange type ({minRange.GetType().Name}) and the MaxRange type ({maxRange.GetType().Name}) of ValidateRange must be the same.");
            }

            if (minRange is not IComparable c || c.CompareTo(maxRange) > 0)
            {
                throw new ValidationMetadataException("ValidateRange's MaxRange must be greater than or equal to MinRange.");
            }

            _type = minRange.GetType();
            MinRange = minRange;
            MaxRange = maxRange;
        }

        public object MinRange { get; }

        public object MaxRange { get; }

        protected override void ValidateElement(object element)
        {
            // PowerShell converts the argument to the range's type first; an argument that does not fit is an error.
            object value;
            try
            {
                value = element.GetType() == _type ? element : Convert.ChangeType(element, _type, CultureInfo.InvariantCulture);
            }
            catch (Exception e) when (e is InvalidCastException or OverflowException or FormatException)
            {
                throw new ValidationMetadataException($"The \"{element}\" argument cannot be validated because its type \"{element.GetType().Name}\" does not match the type \"{_type.Name}\" of the minimum and maximum range values.");
            }

            var v = (IComparable)value;
            if (v.CompareTo(MinRange) < 0)
            {
                throw new ValidationMetadataException(
                    $"The {element} argument is less than the minimum allowed range of {MinRange}. Supply an argument that is greater than or equal to {MinRange} and then try the command again.");
            }

            if (v.CompareTo(MaxRange) > 0)
            {
                throw new ValidationMetadataException(
                    $"The {element} argument is greater than the maximum allowed range of {MaxRange}. Supply an argument that is less than or equal to {MaxRange} and then try the command again.");
            }
        }
    }

    [AttributeUsage(AttributeTargets.Field | AttributeTargets.Property)]
    public abstract class NullValidationAttributeBase : ValidateArgumentsAttribute
    {
        protected NullValidationAttributeBase()
        {
        }
    }

    [AttributeUsage(AttributeTargets.Field | AttributeTargets.Property)]
    public sealed class ValidateNotNullAttribute : NullValidationAttributeBase
    {
        public ValidateNotNullAttribute()
        {
        }

        internal override void ValidateValue(object? arguments)
        {
            if (arguments is null)
            {
                throw new ValidationMetadataException("The argument is null. Provide a valid value for the argument, and then try running the command again.");
            }
        }
    }

    [AttributeUsage(AttributeTargets.Field | AttributeTargets.Property)]
    public sealed class ValidateNotNullOrEmptyAttribute : NullValidationAttributeBase
    {
        public ValidateNotNullOrEmptyAttribute()
        {
        }

        internal override void ValidateValue(object? arguments)
        {
            bool empty = arguments switch
            {
                null => true,
                string s => s.Length == 0,
                ICollection c => c.Count == 0,
                _ => false,
            };
            if (empty)
            {
                throw new ValidationMetadataException("The argument is null or empty. Provide an argument that is not null or empty, and then try the command again.");
            }
        }
    }

    [AttributeUsage(AttributeTargets.Field | AttributeTargets.Property)]
    public class ArgumentCompleterAttribute : Attribute
    {
        public ArgumentCompleterAttribute(Type type)
        {
            Type = type;
        }

        public Type Type { get; }
    }

    public class ValidationMetadataException : MetadataException
    {
        public ValidationMetadataException(string message)
            : base(message)
        {
        }

        public ValidationMetadataException(string message, Exception? innerException)
            : base(message, innerException)
        {
        }
    }

    public class MetadataException : RuntimeException
    {
        public MetadataException(string message)
            : base(message)
        {
        }

        public MetadataException(string message, Exception? innerException)
            : base(message, innerException)
        {
        }
    }

    /// <summary>A switch: present or not.</summary>
    public readonly struct SwitchParameter
    {
        private readonly bool _isPresent;

        public SwitchParameter(bool isPresent)
        {
            _isPresent = isPresent;
        }

        public bool IsPresent => _isPresent;

        public static SwitchParameter Present => new(true);

        public static implicit operator bool(SwitchParameter switchParameter) => switchParameter._isPresent;

        public static implicit operator SwitchParameter(bool value) => new(value);

        public static bool operator ==(SwitchParameter first, SwitchParameter second) => first._isPresent == second._isPresent;

        public static bool operator !=(SwitchParameter first, SwitchParameter second) => !(first == second);

        public static bool operator ==(SwitchParameter first, bool second) => first._isPresent == second;

        public static bool operator !=(SwitchParameter first, bool second) => !(first == second);

        public static bool operator ==(bool first, SwitchParameter second) => first == second._isPresent;

        public static bool operator !=(bool first, SwitchParameter second) => !(first == second);

        public bool ToBool() => _isPresent;

        public override bool Equals(object? obj) => obj switch
        {
            SwitchParameter s => s._isPresent == _isPresent,
            bool b => b == _isPresent,
            _ => false,
        };

        public override int GetHashCode() => _isPresent.GetHashCode();

        public override string ToString() => _isPresent.ToString();
    }
}
