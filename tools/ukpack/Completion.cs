namespace Ukpack;

/// <summary>`ukpack completion bash|zsh`: a script that asks ukpack itself what may come next
/// (System.CommandLine's [suggest:POSITION] directive), so commands, options and their
/// values complete as the command tree defines them; file names otherwise.</summary>
public static class Completion
{
    public static string Script(string shell) => shell switch
    {
        "bash" => Bash,
        "zsh" => "autoload -U +X bashcompinit && bashcompinit\n" + Bash,
        _ => throw new UkpackException($"completion: {shell}: expected bash or zsh", 2),
    };

    const string Bash = """
        # ukpack completion for bash: eval "$(ukpack completion bash)" (e.g. in ~/.bashrc)
        _ukpack_complete() {
            local IFS=$'\n'
            COMPREPLY=($(command "${COMP_WORDS[0]}" "[suggest:${COMP_POINT}]" "${COMP_LINE}" 2>/dev/null))
        }
        complete -o default -o bashdefault -F _ukpack_complete ukpack

        """;
}
