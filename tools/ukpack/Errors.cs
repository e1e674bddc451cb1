namespace Ukpack;

/// <summary>An expected failure: reported as one "ukpack: error: MESSAGE" line, never a trace.</summary>
public sealed class UkpackException(string message, int exitCode = 1) : Exception(message)
{
    public int ExitCode { get; } = exitCode;
}
