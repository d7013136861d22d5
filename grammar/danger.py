"""Dangerous-code detection: the reasons a user must see before inserting a candidate.

    dangers(code, lang) -> list[str]     [] when nothing dangerous is recognised
    warning_lines(code, lang)             what `codefusion check` prints ("warning: <reason>"), as `generate` does

Bash is checked per simple command (split on |, ;, &&, ||, newlines and $( ) / backticks,
quotes respected) plus a few whole-text patterns (fork bombs, download piped into a shell).
Python is checked for shell-outs that run a dangerous command and for recursive deletes
of / or ~. CF rules only format cells: never dangerous. Nothing is executed.
"""

from __future__ import annotations

import re
import shlex

# paths whose recursive deletion or chmod destroys a system or a home directory
_ROOTISH = re.compile(
    r"""^["']?(/|/\*|~|~/|~/\*|\$HOME|\$HOME/|\$HOME/\*|\$\{HOME\}|\$\{HOME\}/\*|/\.\*|\.\./?\.\./?|/(bin|boot|dev|etc|home|lib|lib64|opt|root|sbin|srv|sys|usr|var|Users)/?\*?)["']?$"""
)
_DEVICE = re.compile(
    r"^/dev/(sd[a-z]+\d*|hd[a-z]+\d*|vd[a-z]+\d*|xvd[a-z]+\d*|nvme\d+n\d+(p\d+)?|mmcblk\d+(p\d+)?|disk\d+|md\d+|dm-\d+|mapper/\S+)$"
)
# name() { name | name & }; name  (also `function name { ... }` and `name & name` inside)
_FORK_BOMB = re.compile(r"(?:\bfunction\s+)?(\w+|:)\s*(?:\(\s*\))?\s*\{\s*\1\s*[|&]\s*\1\s*&?\s*;?\s*\}\s*;?\s*\1")
_DOWNLOAD_TO_SHELL = re.compile(
    r"\b(curl|wget|fetch)\b[^|;&]*\|\s*(sudo\s+(-\S+\s+)*)?(ba|z|k|da|fi)?sh\b|"
    r"\b(ba|z|k|da)?sh\s+(-\S+\s+)*<\s*\(\s*(curl|wget)\b|"
    r"\b(ba|z|k|da)?sh\s+-c\s+[\"']?\$\(\s*(curl|wget)\b"
)
_SHELLS = {"sh", "bash", "zsh", "ksh", "dash", "fish", "csh", "tcsh"}
_REDIRECT_ETC = re.compile(r"(^|[^<>&0-9])\d?>>?\|?\s*[\"']?(/etc/\S+|/boot/\S+)")
_REDIRECT_DEVICE = re.compile(r"(^|[^<>&0-9])\d?>>?\|?\s*(/dev/(sd|hd|vd|xvd|nvme|mmcblk|disk)\S*)")
_PREFIX_COMMANDS = {
    "sudo",
    "doas",
    "nohup",
    "time",
    "exec",
    "command",
    "builtin",
    "env",
    "xargs",
    "nice",
    "ionice",
    "stdbuf",
    "timeout",
}
_PREFIX_ARG_OPTIONS = ("-u", "-g", "-n", "-I", "-P", "-d", "-L", "-s", "-E", "-a", "-p", "-C", "-c")
# commands that list files recursively: what `find ... | xargs sed -i` edits
_RECURSIVE_LISTERS = {"find", "fd", "fdfind", "rg", "ag", "ack"}
_HARMLESS_DEVICES = re.compile(r"^/dev/(null|zero|full|u?random|stdout|stderr|stdin|tty\w*|pts/\S*|fd/\S*|shm/\S*)$")


def _parse(code: str) -> tuple[list[list[str]], list[list[str]]]:
    """(pipelines, substitutions): each pipeline a list of stage texts (split on | outside quotes);
    the body of each $( ) or backtick substitution is a pipeline of its own, and the stage it stood in
    holds the placeholder "\x00<n>" (n indexes `substitutions`, those bodies' first stages' texts)."""
    pipelines: list[list[str]] = []
    subs: list[list[str]] = []
    stack: list[tuple[list[str], list[str], str]] = []  # the enclosing (stages, buffer, opener)
    stages: list[str] = []
    buf: list[str] = []
    quote = ""
    i, n = 0, len(code)

    def end_stage():
        text = "".join(buf).strip()
        if text:
            stages.append(text)
        buf.clear()

    def end_pipeline():
        end_stage()
        if stages:
            pipelines.append(list(stages))
        stages.clear()

    while i < n:
        ch, two = code[i], code[i : i + 2]
        if quote:
            buf.append(ch)
            if ch == "\\" and quote == '"' and i + 1 < n:
                buf.append(code[i + 1])
                i += 1
            elif ch == quote:
                quote = ""
            i += 1
            continue
        if ch == "\\":
            buf.append(two)
            i += 2
            continue
        if ch in "'\"":
            quote = ch
            buf.append(ch)
        elif ch == "#" and (not buf or buf[-1][-1:] in " \t"):
            while i + 1 < n and code[i + 1] != "\n":
                i += 1
        elif two == "$(" or (ch == "`" and not (stack and stack[-1][2] == "`")):
            stack.append((list(stages), list(buf), ch if ch == "`" else "$("))
            stages.clear()
            buf.clear()
            i += 1 if ch == "`" else 2
            continue
        elif stack and ((ch == ")" and stack[-1][2] == "$(") or (ch == "`" and stack[-1][2] == "`")):
            end_stage()
            body = list(stages)
            pipelines.append(body)
            outer_stages, outer_buf, _ = stack.pop()
            stages[:] = outer_stages
            buf[:] = outer_buf
            buf.append(f"\x00{len(subs)}")
            subs.append(body)
        elif two in ("||", "&&"):
            end_pipeline()
            i += 2
            continue
        elif ch == "|":
            end_stage()
            if two == "|&":
                i += 1
        elif ch == "&" and (buf and buf[-1][-1:] in "<>" or code[i + 1 : i + 2] == ">"):
            buf.append(ch)  # a redirection (2>&1, &>), not a background job
        elif ch in ";&\n()":
            end_pipeline()
        else:
            buf.append(ch)
        i += 1
    end_pipeline()
    return pipelines, subs


def _tokens(stage: str) -> tuple[list[str], bool]:
    """A stage's words with leading sudo/env/xargs/VAR=... prefixes dropped, and whether xargs was
    among them (the command then runs on the files its input lists). Best effort; never raises."""
    try:
        tokens = shlex.split(stage, comments=False)
    except ValueError:
        tokens = stage.split()
    via_xargs = False
    while tokens and (tokens[0] in _PREFIX_COMMANDS or re.match(r"^\w+=", tokens[0])):
        via_xargs |= tokens[0] == "xargs"
        timeout = tokens[0] == "timeout"
        tokens = tokens[1:]
        while tokens and tokens[0].startswith("-"):  # sudo -u root ..., xargs -0 ...
            tokens = tokens[2:] if tokens[0] in _PREFIX_ARG_OPTIONS else tokens[1:]
        if timeout and tokens:  # timeout DURATION COMMAND
            tokens = tokens[1:]
    return tokens, via_xargs


def _split_commands(code: str) -> list[list[str]]:
    """Simple commands as token lists (best effort; never raises)."""
    return [t for p in _parse(code)[0] for t in (_tokens(s)[0] for s in p) if t]


def _flags(tokens: list[str]) -> set[str]:
    out: set[str] = set()
    for t in tokens[1:]:
        if t.startswith("--"):
            out.add(t)
        elif t.startswith("-") and len(t) > 1:
            out.update("-" + ch for ch in t[1:])
    return out


def _operands(tokens: list[str]) -> list[str]:
    return [t for t in tokens[1:] if not t.startswith("-")]


def _in_place(tokens: list[str]) -> str | None:
    """For sed and perl: None when the command does not edit files in place, else its backup suffix
    ("" when it keeps no backup: sed -i, sed -Ei, perl -pi; ".bak" for sed -i.bak)."""
    cmd = tokens[0].rsplit("/", 1)[-1]
    if cmd not in ("sed", "gsed", "perl"):
        return None
    for j, t in enumerate(tokens[1:], 1):
        if t == "--":
            break
        if t.startswith("--in-place"):
            return t.partition("=")[2]
        if t.startswith("-") and not t.startswith("--") and "i" in t[1:]:
            if cmd == "perl" and "e" in t[1 : t.index("i")]:
                continue  # -ei...: the i is part of perl's code
            suffix = t[t.index("i") + 1 :]
            if suffix == "" and j + 1 < len(tokens) and tokens[j + 1] == "" and cmd != "perl":
                return ""  # BSD sed -i '' (no backup)
            return suffix
    return None


def _recursive_lister(tokens: list[str]) -> bool:
    """find, grep -r / -R, rg, git ls-files, ls -R: commands that list a whole directory tree."""
    if not tokens:
        return False
    cmd = tokens[0].rsplit("/", 1)[-1]
    if cmd in _RECURSIVE_LISTERS:
        return True
    if cmd in ("grep", "egrep", "fgrep"):
        return bool(_flags(tokens) & {"-r", "-R", "--recursive", "--dereference-recursive"})
    if cmd == "ls":
        return bool(_flags(tokens) & {"-R", "--recursive"})
    return cmd == "git" and "ls-files" in tokens[1:]


def _world_writable(mode: str) -> bool:
    """An octal mode with the others' write bit (777, 0666, ...) or a symbolic one that gives it (a+w, o+rwx)."""
    if re.fullmatch(r"[0-7]{3,4}", mode):
        return int(mode[-1]) & 2 != 0
    return any(re.fullmatch(r"[ugoa]*[oa][ugoa]*[+=][rwxXst]*w[rwxXst]*", part) for part in mode.split(","))


def _kill_targets(tokens: list[str]) -> list[str]:
    """The process ids of a kill command (its signal option skipped)."""
    rest = tokens[1:]
    if rest[:1] in (["-s"], ["-n"]):
        rest = rest[2:]
    elif rest and rest[0].startswith("-") and rest[0] != "--" and not rest[0].startswith("-l"):
        rest = rest[1:]
    if rest[:1] == ["--"]:
        rest = rest[1:]
    return rest


def _bash_command_dangers(tokens: list[str], subs: list[list[str]] | None = None) -> list[str]:
    cmd = tokens[0].rsplit("/", 1)[-1]
    flags = _flags(tokens)
    operands = _operands(tokens)
    reasons: list[str] = []
    if cmd == "rm":
        recursive = flags & {"-r", "-R", "--recursive"}
        for op in operands:
            if _ROOTISH.match(op):
                where = "your home directory" if "~" in op or "HOME" in op else op
                reasons.append(f"deletes {where} recursively" if recursive else f"deletes files in {where}")
        if "--no-preserve-root" in flags:
            reasons.append("rm --no-preserve-root can delete the whole file system")
    elif cmd.startswith("mkfs") or cmd in ("mke2fs", "mkswap", "wipefs"):
        reasons.append(f"{cmd} formats a disk or partition (erases its data)")
    elif cmd in ("fdisk", "parted", "sfdisk", "gdisk") and any(_DEVICE.match(o) for o in operands):
        reasons.append(f"{cmd} rewrites a disk's partition table")
    elif cmd == "dd":
        for op in operands:
            if op.startswith("of=/dev/") and not _HARMLESS_DEVICES.match(op[3:]):
                reasons.append(f"dd writes onto the device {op[3:]} (overwrites the disk)")
    elif cmd == "shred" and any(_DEVICE.match(o) for o in operands):
        reasons.append("shred overwrites a whole disk")
    elif cmd in ("chmod", "chown", "chgrp") and flags & {"-R", "--recursive"}:
        rootish = [o for o in operands if _ROOTISH.match(o)]
        mode = operands[0] if cmd == "chmod" and operands else ""
        if cmd == "chmod" and _world_writable(mode):
            where = " ".join(operands[1:]) or "the directory"
            reasons.append(f"chmod -R {mode} makes every file under {where} writable by every user")
        elif rootish:
            reasons.append(f"{cmd} -R on {rootish[0]}: changes the whole tree")
    elif cmd in ("shutdown", "reboot", "halt", "poweroff") or (cmd == "init" and operands[:1] in (["0"], ["6"])):
        reasons.append(f"{cmd} shuts down or restarts the machine")
    elif cmd == "systemctl" and operands[:1] and operands[0] in ("poweroff", "reboot", "halt", "kexec"):
        reasons.append(f"systemctl {operands[0]} shuts down or restarts the machine")
    elif cmd == "tee" and any(o.startswith("/etc/") for o in operands):
        target = next(o for o in operands if o.startswith("/etc/"))
        reasons.append(
            f"overwrites the system file {target}"
            if not flags & {"-a", "--append"}
            else f"modifies the system file {target}"
        )
    elif (
        cmd in ("cp", "mv", "install", "ln", "rsync", "truncate")
        and len(operands) >= (1 if cmd == "truncate" else 2)
        and (operands[-1] == "/etc" or operands[-1].startswith("/etc/"))
    ):
        reasons.append(f"{cmd} writes into {operands[-1]} (system configuration)")
    elif cmd == "mv" and operands and any(_ROOTISH.match(o) for o in operands[:-1]):
        reasons.append("moves a system or home directory away")
    elif cmd == "kill" and "-1" in _kill_targets(tokens):
        reasons.append(f"{' '.join(tokens[: tokens.index('-1', 1) + 1])} signals every process you own (kills them)")
    elif cmd == "git":
        rest = tokens[1:]
        while rest and rest[0].startswith("-"):  # git -C DIR -c KEY=VALUE push ...
            rest = rest[2:] if rest[0] in ("-C", "-c") else rest[1:]
        if rest[:1] == ["push"] and ({"--force", "-f"} & _flags(rest) or any(t.startswith("+") for t in rest[1:])):
            reasons.append("git push --force replaces the remote branch's history (commits others pushed are lost)")
    elif cmd == "find":
        for j, t in enumerate(tokens):  # find ... -exec sed -i ... {} \;
            if t in ("-exec", "-execdir") and j + 1 < len(tokens) and _in_place(tokens[j + 1 :]) == "":
                reasons.append(f"find {t} {tokens[j + 1]} -i edits every file find matches in place, without a backup")
    suffix = _in_place(tokens)
    if suffix is not None:
        tool = tokens[0].rsplit("/", 1)[-1]
        files = [o for o in operands[1:] if not o.startswith("\x00")] if tool != "perl" else operands
        if any(o == "/etc" or o.startswith("/etc/") for o in files):
            reasons.append(f"{tool} -i edits the system file {next(o for o in files if o.startswith('/etc'))} in place")
        if suffix == "" and any("**" in o for o in files):
            reasons.append(f"{tool} -i edits every file ** matches (the whole tree) in place, without a backup")
        for o in operands:
            m = re.fullmatch(r"\x00(\d+)", o)
            if (
                suffix == ""
                and m
                and subs
                and any(_recursive_lister(_tokens(stage)[0]) for stage in subs[int(m.group(1))])
            ):
                reasons.append(f"{tool} -i edits every file a recursive search lists in place, without a backup")
    return reasons


def _pipeline_dangers(stages: list[tuple[list[str], bool]]) -> list[str]:
    """Dangers of a whole pipeline: `find ... | xargs sed -i`, `curl ... | sh`."""
    reasons: list[str] = []
    for j, (tokens, via_xargs) in enumerate(stages):
        if not tokens:
            continue
        before = [t for t, _ in stages[:j] if t]
        cmd = tokens[0].rsplit("/", 1)[-1]
        if via_xargs and _in_place(tokens) == "" and any(_recursive_lister(t) for t in before):
            lister = next(t for t in before if _recursive_lister(t))[0].rsplit("/", 1)[-1]
            reasons.append(f"xargs {cmd} -i edits every file {lister} lists in place, without a backup")
        if cmd in _SHELLS and any(t[0].rsplit("/", 1)[-1] in ("curl", "wget", "fetch") for t in before):
            reasons.append("runs a downloaded script in a shell without checking it")
    return reasons


def bash_dangers(code: str) -> list[str]:
    reasons: list[str] = []
    if _FORK_BOMB.search(code):
        reasons.append("fork bomb: starts processes until the machine hangs")
    if _DOWNLOAD_TO_SHELL.search(code):
        reasons.append("runs a downloaded script in a shell without checking it")
    m = _REDIRECT_ETC.search(code)
    if m:
        verb = "appends to" if ">>" in m.group(0) else "overwrites"
        reasons.append(f"{verb} the system file {m.group(2)}")
    m = _REDIRECT_DEVICE.search(code)
    if m:
        reasons.append(f"writes raw data onto the device {m.group(2)} (destroys the disk)")
    if re.search(r"\bfind\b[^|;&]*\s(/|~|\$HOME)\s[^|;&]*(-delete\b|-exec\s+rm\b)", code):
        reasons.append("find deletes matching files anywhere under / or your home directory")
    pipelines, subs = _parse(code)
    for pipeline in pipelines:
        stages = [_tokens(stage) for stage in pipeline]
        reasons.extend(_pipeline_dangers(stages))
        for tokens, _ in stages:
            if tokens:
                reasons.extend(_bash_command_dangers(tokens, subs))
    return list(dict.fromkeys(reasons))


_PY_SHELL = re.compile(
    r"""\b(?:os\.system|os\.popen|subprocess\.(?:run|call|check_call|check_output|Popen|getoutput|getstatusoutput)|commands\.getoutput)\s*\(\s*(?:[rbuf]?)(?P<q>["'])(?P<cmd>.*?)(?P=q)""",
    re.S,
)
_PY_SHELL_LIST = re.compile(r"""\bsubprocess\.\w+\s*\(\s*\[(?P<items>[^\]]*)\]""")
_PY_RMTREE = re.compile(r"""\bshutil\.rmtree\s*\(\s*(?:[rbu]?)(["'])(?P<path>[^"']*)\1""")
_PY_RMTREE_EXPR = re.compile(
    r"""\bshutil\.rmtree\s*\(\s*(os\.path\.expanduser\(\s*["']~["']\s*\)|Path\.home\(\)|os\.environ\[\s*["']HOME["']\s*\]|os\.sep|os\.path\.abspath\(\s*["']/["']\s*\))"""
)

_PY_FORK_LOOP = re.compile(r"\bwhile\s+(?:True|1)\s*:(?:[^\n]*\n\s+)?[^\n]*\bos\.fork\s*\(\s*\)")


def python_dangers(code: str) -> list[str]:
    reasons: list[str] = []
    for m in _PY_SHELL.finditer(code):
        reasons.extend(f"runs a shell command that {r}" for r in bash_dangers(m.group("cmd")))
    for m in _PY_SHELL_LIST.finditer(code):
        items = re.findall(r"""["']([^"']*)["']""", m.group("items"))
        if items:
            reasons.extend(
                f"runs a shell command that {r}" for r in bash_dangers(" ".join(shlex.quote(i) for i in items))
            )
    for m in _PY_RMTREE.finditer(code):
        path = m.group("path")
        if _ROOTISH.match(path):
            reasons.append(f"deletes {'your home directory' if '~' in path else path} recursively (shutil.rmtree)")
    if _PY_RMTREE_EXPR.search(code):
        reasons.append("deletes / or your home directory recursively (shutil.rmtree)")
    if re.search(r"""\bos\.(remove|unlink)\s*\(\s*["']/dev/(sd|nvme|hd)""", code) or re.search(
        r"""\bopen\s*\(\s*["']/dev/(sd[a-z]|nvme\d|hd[a-z])[^"']*["']\s*,\s*["'][wa]""", code
    ):
        reasons.append("writes onto a raw disk device")
    if re.search(r"""\bopen\s*\(\s*["']/etc/[^"']+["']\s*,\s*["'][wa]""", code):
        reasons.append("overwrites a system file in /etc")
    if _PY_FORK_LOOP.search(code):
        reasons.append("fork bomb: starts processes until the machine hangs")
    return list(dict.fromkeys(reasons))


def dangers(code: str, lang: str) -> list[str]:
    """Reasons why `code` is dangerous to run; [] when none is recognised."""
    if lang == "bash":
        return bash_dangers(code)
    if lang == "python":
        return python_dangers(code)
    if lang == "cf":
        return []
    raise ValueError(f"unknown language {lang!r}")


def warning_line(reason: str) -> str:
    """How `codefusion check` and `codefusion generate` print one danger reason."""
    return f"warning: {reason}"


def warning_lines(code: str, lang: str) -> list[str]:
    """`codefusion check`'s danger lines for `code`: its reasons as `generate` finds them for a
    candidate (on the code with ASCII typography, grammar.normalize), one warning_line each."""
    from grammar.normalize import ascii_typography

    return [warning_line(r) for r in dangers(ascii_typography(code, lang), lang)]
