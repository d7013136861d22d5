"""Dangerous-code detection: the reasons a user must see before inserting a candidate.

    dangers(code, lang) -> list[str]     [] when nothing dangerous is recognised

Bash is checked per simple command (split on |, ;, &&, ||, newlines and $( ) / backticks,
quotes respected) plus a few whole-text patterns (fork bombs, download piped into a shell).
Python is checked for shell-outs that run a dangerous command and for recursive deletes
of / or ~. CF rules only format cells: never dangerous. Nothing is executed.
"""
from __future__ import annotations

import re
import shlex

# paths whose recursive deletion or chmod destroys a system or a home directory
_ROOTISH = re.compile(r"""^["']?(/|/\*|~|~/|~/\*|\$HOME|\$HOME/|\$HOME/\*|\$\{HOME\}|\$\{HOME\}/\*|/\.\*|\.\./?\.\./?|/(bin|boot|dev|etc|home|lib|lib64|opt|root|sbin|srv|sys|usr|var|Users)/?\*?)["']?$""")
_DEVICE = re.compile(r"^/dev/(sd[a-z]+\d*|hd[a-z]+\d*|vd[a-z]+\d*|xvd[a-z]+\d*|nvme\d+n\d+(p\d+)?|mmcblk\d+(p\d+)?|disk\d+|md\d+|dm-\d+|mapper/\S+)$")
_FORK_BOMB = re.compile(r"(\w+|:)\s*\(\s*\)\s*\{\s*\1\s*\|\s*\1\s*&\s*\}\s*;\s*\1")
_DOWNLOAD_TO_SHELL = re.compile(
    r"\b(curl|wget|fetch)\b[^|;&]*\|\s*(sudo\s+(-\S+\s+)*)?(ba|z|k|da|fi)?sh\b|"
    r"\b(ba|z|k|da)?sh\s+(-\S+\s+)*<\s*\(\s*(curl|wget)\b|"
    r"\b(ba|z|k|da)?sh\s+-c\s+[\"']?\$\(\s*(curl|wget)\b"
)
_REDIRECT_ETC = re.compile(r"(^|[^<>&0-9])\d?>>?\|?\s*[\"']?(/etc/\S+|/boot/\S+)")
_REDIRECT_DEVICE = re.compile(r"(^|[^<>&0-9])\d?>>?\|?\s*(/dev/(sd|hd|vd|xvd|nvme|mmcblk|disk)\S*)")
_PREFIX_COMMANDS = {"sudo", "doas", "nohup", "time", "exec", "command", "builtin", "env", "xargs"}
_SEPARATORS = re.compile(r"\|\||&&|[|;&\n]|\$\(|`|\)")


def _split_commands(code: str) -> list[list[str]]:
    """Simple commands as token lists (best effort; never raises)."""
    commands: list[list[str]] = []
    for chunk in _SEPARATORS.split(code):
        try:
            tokens = shlex.split(chunk, comments=True)
        except ValueError:
            tokens = chunk.split()
        while tokens and (tokens[0] in _PREFIX_COMMANDS or re.match(r"^\w+=", tokens[0])):
            tokens = tokens[1:]
            while tokens and tokens[0].startswith("-"):  # sudo -u root ..., xargs -0 ...
                tokens = tokens[1:] if not tokens[0] in ("-u", "-g", "-n", "-I") else tokens[2:]
        if tokens:
            commands.append(tokens)
    return commands


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


def _bash_command_dangers(tokens: list[str]) -> list[str]:
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
            if op.startswith("of=") and _DEVICE.match(op[3:]):
                reasons.append(f"dd writes onto the device {op[3:]} (overwrites the disk)")
    elif cmd == "shred" and any(_DEVICE.match(o) for o in operands):
        reasons.append("shred overwrites a whole disk")
    elif cmd in ("chmod", "chown", "chgrp") and flags & {"-R", "--recursive"}:
        if any(_ROOTISH.match(o) for o in operands):
            target = next(o for o in operands if _ROOTISH.match(o))
            what = "world-writable (777)" if cmd == "chmod" and "777" in operands else "changed"
            reasons.append(f"{cmd} -R on {target}: makes the whole tree {what}")
    elif cmd in ("shutdown", "reboot", "halt", "poweroff") or (cmd == "init" and operands[:1] in (["0"], ["6"])):
        reasons.append(f"{cmd} shuts down or restarts the machine")
    elif cmd == "systemctl" and operands[:1] and operands[0] in ("poweroff", "reboot", "halt", "kexec"):
        reasons.append(f"systemctl {operands[0]} shuts down or restarts the machine")
    elif cmd == "tee" and any(o.startswith("/etc/") for o in operands):
        target = next(o for o in operands if o.startswith("/etc/"))
        reasons.append(f"overwrites the system file {target}" if not flags & {"-a", "--append"} else f"modifies the system file {target}")
    elif cmd == "mv" and operands and any(_ROOTISH.match(o) for o in operands[:-1]):
        reasons.append("moves a system or home directory away")
    elif cmd == "kill" and "-1" in tokens[1:] and "-9" in tokens[1:]:
        reasons.append("kill -9 -1 kills every process you own")
    return reasons


def bash_dangers(code: str) -> list[str]:
    reasons: list[str] = []
    if _FORK_BOMB.search(code):
        reasons.append("fork bomb: starts processes until the machine hangs")
    if _DOWNLOAD_TO_SHELL.search(code):
        reasons.append("runs a downloaded script in a shell without checking it")
    m = _REDIRECT_ETC.search(code)
    if m:
        reasons.append(f"overwrites the system file {m.group(2)}")
    m = _REDIRECT_DEVICE.search(code)
    if m:
        reasons.append(f"writes raw data onto the device {m.group(2)} (destroys the disk)")
    if re.search(r"\bfind\b[^|;&]*\s(/|~|\$HOME)\s[^|;&]*(-delete\b|-exec\s+rm\b)", code):
        reasons.append("find deletes matching files anywhere under / or your home directory")
    for tokens in _split_commands(code):
        reasons.extend(_bash_command_dangers(tokens))
    return list(dict.fromkeys(reasons))


_PY_SHELL = re.compile(
    r"""\b(?:os\.system|os\.popen|subprocess\.(?:run|call|check_call|check_output|Popen|getoutput|getstatusoutput)|commands\.getoutput)\s*\(\s*(?:[rbuf]?)(?P<q>["'])(?P<cmd>.*?)(?P=q)""",
    re.S,
)
_PY_SHELL_LIST = re.compile(r"""\bsubprocess\.\w+\s*\(\s*\[(?P<items>[^\]]*)\]""")
_PY_RMTREE = re.compile(r"""\bshutil\.rmtree\s*\(\s*(?:[rbu]?)(["'])(?P<path>[^"']*)\1""")
_PY_RMTREE_EXPR = re.compile(r"""\bshutil\.rmtree\s*\(\s*(os\.path\.expanduser\(\s*["']~["']\s*\)|Path\.home\(\)|os\.environ\[\s*["']HOME["']\s*\]|os\.sep|os\.path\.abspath\(\s*["']/["']\s*\))""")


def python_dangers(code: str) -> list[str]:
    reasons: list[str] = []
    for m in _PY_SHELL.finditer(code):
        reasons.extend(f"runs a shell command that {r}" for r in bash_dangers(m.group("cmd")))
    for m in _PY_SHELL_LIST.finditer(code):
        items = re.findall(r"""["']([^"']*)["']""", m.group("items"))
        if items:
            reasons.extend(f"runs a shell command that {r}" for r in bash_dangers(" ".join(shlex.quote(i) for i in items)))
    for m in _PY_RMTREE.finditer(code):
        path = m.group("path")
        if _ROOTISH.match(path):
            reasons.append(f"deletes {'your home directory' if '~' in path else path} recursively (shutil.rmtree)")
    if _PY_RMTREE_EXPR.search(code):
        reasons.append("deletes / or your home directory recursively (shutil.rmtree)")
    if re.search(r"""\bos\.(remove|unlink)\s*\(\s*["']/dev/(sd|nvme|hd)""", code) or re.search(
            r"""\bopen\s*\(\s*["']/dev/(sd[a-z]|nvme\d|hd[a-z])[^"']*["']\s*,\s*["'][wa]""", code):
        reasons.append("writes onto a raw disk device")
    if re.search(r"""\bopen\s*\(\s*["']/etc/[^"']+["']\s*,\s*["'][wa]""", code):
        reasons.append("overwrites a system file in /etc")
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
