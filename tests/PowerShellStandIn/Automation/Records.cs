using System.Collections;
using System.Globalization;

namespace System.Management.Automation.Language
{
    /// <summary>The command being completed. The stand-in host has no parser, so it carries only the command name.</summary>
    public class CommandAst
    {
        private readonly string _commandName;

        internal CommandAst(string commandName)
        {
            _commandName = commandName;
        }

        public string GetCommandName() => _commandName;

        public override string ToString() => _commandName;
    }
}

namespace System.Management.Automation
{
    using System.Management.Automation.Language;

    /// <summary>Error categories with PowerShell's numeric values (a test compares them with the reference).</summary>
    public enum ErrorCategory
    {
        NotSpecified = 0,
        OpenError = 1,
        CloseError = 2,
        DeviceError = 3,
        DeadlockDetected = 4,
        InvalidArgument = 5,
        InvalidData = 6,
        InvalidOperation = 7,
        InvalidResult = 8,
        InvalidType = 9,
        MetadataError = 10,
        NotImplemented = 11,
        NotInstalled = 12,
        ObjectNotFound = 13,
        OperationStopped = 14,
        OperationTimeout = 15,
        SyntaxError = 16,
        ParserError = 17,
        PermissionDenied = 18,
        ResourceBusy = 19,
        ResourceExists = 20,
        ResourceUnavailable = 21,
        ReadError = 22,
        WriteError = 23,
        FromStdErr = 24,
        SecurityError = 25,
        ProtocolError = 26,
        ConnectionError = 27,
        AuthenticationError = 28,
        LimitsExceeded = 29,
        QuotaExceeded = 30,
        NotEnabled = 31,
    }

    public enum ActionPreference
    {
        SilentlyContinue = 0,
        Stop = 1,
        Continue = 2,
        Inquire = 3,
        Ignore = 4,
        Suspend = 5,
    }

    public enum ProgressRecordType
    {
        Processing = 0,
        Completed = 1,
    }

    public enum CompletionResultType
    {
        Text = 0,
        History = 1,
        Command = 2,
        ProviderItem = 3,
        ProviderContainer = 4,
        Property = 5,
        Method = 6,
        ParameterName = 7,
        ParameterValue = 8,
        Variable = 9,
        Namespace = 10,
        Type = 11,
        Keyword = 12,
        DynamicKeyword = 13,
    }

    public interface IContainsErrorRecord
    {
        ErrorRecord ErrorRecord { get; }
    }

    /// <summary>An error as PowerShell reports it: the exception, a stable id, a category and the object it concerns.</summary>
    public class ErrorRecord
    {
        public ErrorRecord(Exception exception, string errorId, ErrorCategory errorCategory, object? targetObject)
        {
            ArgumentNullException.ThrowIfNull(exception);
            Exception = exception;
            FullyQualifiedErrorId = errorId ?? string.Empty;
            TargetObject = targetObject;
            CategoryInfo = new ErrorCategoryInfo(this, errorCategory);
        }

        public ErrorRecord(ErrorRecord errorRecord, Exception replaceParentContainsErrorRecordException)
        {
            ArgumentNullException.ThrowIfNull(errorRecord);
            Exception = replaceParentContainsErrorRecordException ?? errorRecord.Exception;
            FullyQualifiedErrorId = errorRecord.FullyQualifiedErrorId;
            TargetObject = errorRecord.TargetObject;
            CategoryInfo = new ErrorCategoryInfo(this, errorRecord.CategoryInfo.Category);
            ErrorDetails = errorRecord.ErrorDetails;
        }

        public Exception Exception { get; }

        public string FullyQualifiedErrorId { get; private set; }

        public object? TargetObject { get; }

        public ErrorCategoryInfo CategoryInfo { get; }

        public ErrorDetails? ErrorDetails { get; set; }

        public InvocationInfo? InvocationInfo { get; internal set; }

        public string? ScriptStackTrace => null;

        public System.Collections.ObjectModel.ReadOnlyCollection<int> PipelineIterationInfo { get; } = new(new List<int>());

        // PowerShell appends ",<command type name>" when a cmdlet writes the record; so does the stand-in host.
        internal void SetCommandName(string commandTypeName)
        {
            if (!FullyQualifiedErrorId.Contains(',', StringComparison.Ordinal))
            {
                FullyQualifiedErrorId = FullyQualifiedErrorId + "," + commandTypeName;
            }
        }

        public override string ToString() => ErrorDetails?.Message is { Length: > 0 } m ? m : Exception.Message;
    }

    public class ErrorCategoryInfo
    {
        private readonly ErrorRecord _record;

        internal ErrorCategoryInfo(ErrorRecord record, ErrorCategory category)
        {
            _record = record;
            Category = category;
        }

        public ErrorCategory Category { get; }

        public string Activity { get; set; } = string.Empty;

        public string Reason
        {
            get => _reason ?? _record.Exception.GetType().Name;
            set => _reason = value;
        }

        public string TargetName
        {
            get => _targetName ?? Convert.ToString(_record.TargetObject, CultureInfo.InvariantCulture) ?? string.Empty;
            set => _targetName = value;
        }

        public string TargetType
        {
            get => _targetType ?? _record.TargetObject?.GetType().Name ?? string.Empty;
            set => _targetType = value;
        }

        private string? _reason;
        private string? _targetName;
        private string? _targetType;

        public string GetMessage() => ToString();

        public string GetMessage(CultureInfo uiCultureInfo) => ToString();

        public override string ToString() => $"{Category} ({TargetName}:{TargetType}) [{Activity}], {Reason}";
    }

    public class ErrorDetails
    {
        public ErrorDetails(string message)
        {
            Message = message;
        }

        public string Message { get; }

        public string? RecommendedAction { get; set; }

        public override string ToString() => Message;
    }

    public class RuntimeException : SystemException, IContainsErrorRecord
    {
        private ErrorRecord? _errorRecord;

        public RuntimeException()
        {
        }

        public RuntimeException(string message)
            : base(message)
        {
        }

        public RuntimeException(string message, Exception? innerException)
            : base(message, innerException)
        {
        }

        public RuntimeException(string message, Exception? innerException, ErrorRecord? errorRecord)
            : base(message, innerException)
        {
            _errorRecord = errorRecord;
        }

        public virtual ErrorRecord ErrorRecord =>
            _errorRecord ??= new ErrorRecord(this, GetType().Name, ErrorCategory.NotSpecified, null);

        public bool WasThrownFromThrowStatement { get; set; }
    }

    public class PipelineStoppedException : RuntimeException
    {
        public PipelineStoppedException()
            : base("The pipeline has been stopped.")
        {
        }

        public PipelineStoppedException(string message)
            : base(message)
        {
        }

        public PipelineStoppedException(string message, Exception? innerException)
            : base(message, innerException)
        {
        }
    }

    public class ActionPreferenceStopException : RuntimeException
    {
        private readonly ErrorRecord? _record;

        public ActionPreferenceStopException()
        {
        }

        public ActionPreferenceStopException(string message)
            : base(message)
        {
        }

        public ActionPreferenceStopException(string message, Exception? innerException)
            : base(message, innerException)
        {
        }

        internal ActionPreferenceStopException(ErrorRecord record)
            : base("The running command stopped because the preference variable \"ErrorActionPreference\" or common parameter is set to Stop: " + record, record.Exception)
        {
            _record = record;
        }

        public override ErrorRecord ErrorRecord => _record ?? base.ErrorRecord;
    }

    public class ParameterBindingException : RuntimeException
    {
        private readonly string? _message;

        public ParameterBindingException()
        {
        }

        public ParameterBindingException(string message)
            : base(message)
        {
            _message = message;
        }

        public ParameterBindingException(string message, Exception? innerException)
            : base(message, innerException)
        {
            _message = message;
        }

        internal ParameterBindingException(string errorId, string? parameterName, string message, Exception? innerException = null)
            : base(message, innerException)
        {
            _message = message;
            ErrorId = errorId;
            ParameterName = parameterName ?? string.Empty;
        }

        public string ErrorId { get; } = string.Empty;

        public string ParameterName { get; } = string.Empty;

        public override string Message => _message ?? base.Message;

        public override ErrorRecord ErrorRecord =>
            _bindingRecord ??= new ErrorRecord(this, ErrorId, ErrorCategory.InvalidArgument, null);

        private ErrorRecord? _bindingRecord;
    }

    /// <summary>A progress report (PowerShell's ProgressRecord).</summary>
    public class ProgressRecord
    {
        public ProgressRecord(int activityId, string activity, string statusDescription)
        {
            if (activityId < 0)
            {
                throw new ArgumentOutOfRangeException(nameof(activityId));
            }

            ArgumentException.ThrowIfNullOrEmpty(activity);
            ArgumentException.ThrowIfNullOrEmpty(statusDescription);
            ActivityId = activityId;
            Activity = activity;
            StatusDescription = statusDescription;
        }

        public int ActivityId { get; }

        public int ParentActivityId { get; set; } = -1;

        public string Activity { get; set; }

        public string StatusDescription { get; set; }

        public string? CurrentOperation { get; set; }

        private int _percent = -1;

        public int PercentComplete
        {
            get => _percent;
            set
            {
                // PowerShell rejects values above 100.
                if (value > 100)
                {
                    throw new ArgumentOutOfRangeException(nameof(value), "PercentComplete cannot be more than 100.");
                }

                _percent = value;
            }
        }

        public int SecondsRemaining { get; set; } = -1;

        public ProgressRecordType RecordType { get; set; }

        public override string ToString() =>
            $"parent = {ParentActivityId} id = {ActivityId} act = {Activity} stat = {StatusDescription} cur = {CurrentOperation} pct = {PercentComplete} sec = {SecondsRemaining} type = {RecordType}";
    }

    public class InformationRecord
    {
        public InformationRecord(object? messageData, string source)
        {
            MessageData = messageData;
            Source = source;
        }

        public object? MessageData { get; }

        public string Source { get; }

        public List<string> Tags { get; } = new();

        public DateTime TimeGenerated { get; } = DateTime.Now;

        public override string ToString() => Convert.ToString(MessageData, CultureInfo.InvariantCulture) ?? string.Empty;
    }

    public class CompletionResult
    {
        public CompletionResult(string completionText, string listItemText, CompletionResultType resultType, string toolTip)
        {
            ArgumentException.ThrowIfNullOrEmpty(completionText);
            ArgumentException.ThrowIfNullOrEmpty(listItemText);
            ArgumentException.ThrowIfNullOrEmpty(toolTip);
            CompletionText = completionText;
            ListItemText = listItemText;
            ResultType = resultType;
            ToolTip = toolTip;
        }

        public CompletionResult(string completionText)
            : this(completionText, completionText, CompletionResultType.Text, completionText)
        {
        }

        public string CompletionText { get; }

        public string ListItemText { get; }

        public CompletionResultType ResultType { get; }

        public string ToolTip { get; }

        public override string ToString() => CompletionText;
    }

    public interface IArgumentCompleter
    {
        IEnumerable<CompletionResult> CompleteArgument(string commandName, string parameterName, string wordToComplete, CommandAst commandAst, IDictionary fakeBoundParameters);
    }
}
