"""Bash syntax checks (tree-sitter-bash + bashlex): valid, invalid, bashlex-unsupported."""

import pytest

from grammar.syntax import check

VALID = [
    "ls -la",
    "find . -name '*.py' -type f | xargs grep -l TODO",
    'for f in *.txt; do echo "$f"; done',
    "if [ -f x ]; then echo yes; else echo no; fi",
    "while read line; do echo $line; done < file.txt",
    "tar -czf out.tar.gz dir/ && echo done || echo failed",
    "echo $(date +%Y) `whoami`",
    "cat file | sort | uniq -c | sort -rn | head -n 10",
    "f() { echo hi; }; f",
    "export PATH=$PATH:/opt/bin",
    "cmd > out.log 2>&1 &",
    "grep -E '^[a-z]+$' words.txt",
    'echo "日本語のテキスト" | wc -m',
    "ssh user@host 'ls /tmp'",
    "find / -xdev -size +100M -exec ls -lh {} \\;",
    # bashlex does not implement these: notes, not errors
    "case $x in a) echo a;; *) echo other;; esac",
    "echo $(( 1 + 2 ))",
    "[[ -n $x ]] && echo set",
    "arr=(1 2 3); echo ${arr[0]}",
    "for ((i=0; i<3; i++)); do echo $i; done",
    "cat <<EOF\nhello\nworld\nEOF",
    "diff <(sort a) <(sort b)",
    "",
]

INVALID = [
    "if true; then echo",
    "for i in 1 2 3; do echo $i",
    "echo 'unterminated",
    'echo "unterminated',
    "ls |",
    "while true do echo; done",
    "case $x in a) echo;;",
    "echo $(date",
    "f() {",
    "if then fi",
    "done",
    "(ls",
    "ls )",
    "echo `date",
    "a && && b",
    "fi",
    "{ echo hi",
    "echo ${x",
    "else echo",
    "for in; do done",
    "ls ;; ls",
    "cat <(sort a",
]


@pytest.mark.parametrize("code", VALID)
def test_valid_bash(code):
    verdict = check(code, "bash")
    assert verdict.valid, verdict.errors
    assert not verdict.errors


@pytest.mark.parametrize("code", INVALID)
def test_invalid_bash(code):
    verdict = check(code, "bash")
    assert not verdict.valid
    assert verdict.errors
    assert all(e.line >= 1 and e.col >= 1 and e.message for e in verdict.errors)


@pytest.mark.parametrize(
    "code, construct",
    [
        ("case $x in a) echo;; esac", "case"),
        ("echo $(( 1 + 2 ))", "arithmetic"),
    ],
)
def test_bashlex_not_implemented_is_a_note(code, construct):
    verdict = check(code, "bash")
    assert verdict.valid
    assert len(verdict.notes) == 1
    assert "bashlex" in verdict.notes[0] and "tree-sitter says valid" in verdict.notes[0]
    assert construct in verdict.notes[0]


def test_bashlex_parse_error_on_construct_it_lacks_is_a_note():
    verdict = check("[[ -f x ]] && echo y", "bash")
    assert verdict.valid and "[[" in verdict.notes[0]


def test_heredoc_is_valid_without_notes():
    verdict = check("cat <<EOF\nline\nEOF", "bash")
    assert verdict.valid and verdict.notes == []


def test_missing_fi_reported_with_position():
    verdict = check("if true; then\n  echo hi\n", "bash")
    assert not verdict.valid
    assert any("fi" in e.message for e in verdict.errors), verdict.errors


def test_error_line_on_multiline_script():
    verdict = check("echo ok\necho ok\nls )", "bash")
    assert not verdict.valid
    assert verdict.errors[0].line == 3


def test_unclosed_parameter_expansion_does_not_exhaust_memory():
    """bashlex 0.18 loops forever (allocating) on `${` with no `}` after it; a model produced this.
    Run in a child process under a 2 GiB address-space limit so a regression fails, not the machine."""
    import subprocess
    import sys

    code = (
        "import resource, json; resource.setrlimit(resource.RLIMIT_AS, (2 << 30, 2 << 30))\n"
        "from grammar.syntax import check\n"
        "v = check(json.loads({!r}), 'bash'); print(v.valid)\n"
    ).format('"echo $ln\'# -d=\\" -+     test \\"${find /; -\'s \\\\;}"')
    r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert r.returncode == 0, r.stderr[-500:]
    assert r.stdout.strip() == "False"
