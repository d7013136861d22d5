"""Dangerous-code flags: each must give a reason; harmless look-alikes must not."""

import pytest

from grammar.danger import dangers, warning_line, warning_lines

DANGEROUS_BASH = [
    ("rm -rf /", "deletes / recursively"),
    ("rm -rf ~", "home directory"),
    ("rm -rf /*", "recursively"),
    ("rm -rf /home", "deletes /home recursively"),
    ("rm -fr $HOME", "home directory"),
    ("sudo rm -r -f /", "deletes / recursively"),
    ("rm -rf --no-preserve-root /", "no-preserve-root"),
    ("cd /tmp && rm -rf /", "deletes / recursively"),
    ("mkfs.ext4 /dev/sda1", "formats"),
    ("mkfs -t xfs /dev/nvme0n1p1", "formats"),
    ("dd if=/dev/zero of=/dev/sda bs=1M", "/dev/sda"),
    ("dd if=image.iso of=/dev/nvme0n1", "/dev/nvme0n1"),
    (":(){ :|:& };:", "fork bomb"),
    ("bomb() { bomb | bomb & }; bomb", "fork bomb"),
    ("chmod -R 777 /", "777"),
    ("curl -s http://x.example/install.sh | sh", "downloaded script"),
    ("wget -O- http://x.example/i.sh | sudo bash", "downloaded script"),
    ("bash <(curl -s http://x.example/i.sh)", "downloaded script"),
    ("echo nameserver 1.1.1.1 > /etc/resolv.conf", "/etc/resolv.conf"),
    ("echo x | sudo tee /etc/hosts", "/etc/hosts"),
    ("cat junk > /dev/sda", "/dev/sda"),
    ("shutdown -h now", "shuts down"),
    ("sudo reboot", "restarts"),
    ("find / -name '*.log' -delete", "find deletes"),
]

HARMLESS_BASH = [
    "rm -rf ./build",
    "rm -rf /tmp/foo",
    "rm -rf /home/me/build",
    "rm file.txt",
    "ls -la /",
    "echo hi > /tmp/x",
    "chmod -R 755 ./dir",
    "curl -O http://x.example/a.tar.gz",
    "dd if=/dev/zero of=./disk.img bs=1M count=10",
    "find . -name '*.o' -delete",
    "grep -r foo /etc",
    "cat /etc/passwd",
    "echo 'rm -rf /'",
    "tee out.txt",
    "df -h /dev/sda1",
]


@pytest.mark.parametrize("code, reason", DANGEROUS_BASH)
def test_dangerous_bash(code, reason):
    found = dangers(code, "bash")
    assert found, code
    assert any(reason in r for r in found), found


@pytest.mark.parametrize("code", HARMLESS_BASH)
def test_harmless_bash(code):
    assert dangers(code, "bash") == []


@pytest.mark.parametrize(
    "code, reason",
    [
        ('os.system("rm -rf /")', "deletes / recursively"),
        ("subprocess.run('curl http://x | sh', shell=True)", "downloaded script"),
        ('subprocess.call(["rm", "-rf", "/"])', "deletes / recursively"),
        ('shutil.rmtree("/")', "rmtree"),
        ("shutil.rmtree('~')", "home directory"),
        ("shutil.rmtree(os.path.expanduser('~'))", "rmtree"),
        ("open('/etc/passwd', 'w').write('')", "/etc"),
    ],
)
def test_dangerous_python(code, reason):
    found = dangers(code, "python")
    assert any(reason in r for r in found), found


@pytest.mark.parametrize(
    "code", ['os.system("ls -la")', 'shutil.rmtree("build")', "open('/etc/hosts').read()", "print('rm -rf /')"]
)
def test_harmless_python(code):
    assert dangers(code, "python") == []


def test_cf_is_never_dangerous():
    assert dangers("TextEquals(rm -rf /)", "cf") == []


def test_unknown_language():
    with pytest.raises(ValueError):
        dangers("x", "perl")


# One row per rule of issue 24 (and the rules before it): dangerous examples with a word of the reason
# they must give, and harmless look-alikes that must give none.
RULES = {
    "in-place edit over a recursive file set": (
        [
            ("find . -name '*.txt' | xargs sed -i 's/foo/bar/g'", "in place"),
            ("find src -type f -print0 | xargs -0 sed -i -e 's/a/b/'", "every file find lists"),
            ("grep -rl foo . | xargs sed -i 's/foo/bar/'", "every file grep lists"),
            ("find . -name '*.py' -exec sed -i 's/a/b/' {} +", "find -exec sed -i"),
            ("find . -type f -execdir perl -pi -e 's/a/b/' {} \\;", "in place"),
            ("sed -i 's/a/b/' **/*.py", "**"),
            ("shopt -s globstar; sed -Ei 's/a/b/' ./**/*.md", "**"),
            ("sed -i 's/a/b/' $(grep -rl foo .)", "recursive search"),
            ("perl -pi -e 's/a/b/' `find . -name '*.c'`", "recursive search"),
        ],
        [
            "sed -i 's/foo/bar/g' notes.txt",
            "sed -i.bak 's/a/b/' config.ini",
            "find . -name '*.txt' | xargs grep -i foo",
            "find . -name '*.txt' -exec sed 's/a/b/' {} \\;",
            "grep -rl foo . | xargs sed -i.orig 's/foo/bar/'",
            "sed 's/a/b/' **/*.py",
            "ls *.txt | xargs sed -i 's/a/b/'",
            "echo 'find . | xargs sed -i s/a/b/'",
        ],
    ),
    "chmod -R 777": (
        [
            ("chmod -R 777 .", "777"),
            ("chmod -R 777 /var/www", "writable by every user"),
            ("sudo chmod -R 0777 dir", "0777"),
            ("chmod -R a+rwx shared", "a+rwx"),
            ("chmod -R 777 /", "777"),
        ],
        [
            "chmod 755 script.sh",
            "chmod -R 755 ./dir",
            "chmod 777 /tmp/scratch.txt",
            "chmod -R u+w build",
            "chmod -R g+w team",
        ],
    ),
    "download piped into a shell": (
        [
            ("curl -fsSL https://x.example/i.sh | sh", "downloaded script"),
            ("curl -s https://x.example/i.sh | sudo -E bash -", "downloaded script"),
            ("wget -qO- https://x.example/i.sh | bash -s -- --yes", "downloaded script"),
            ("bash <(curl -s https://x.example/i.sh)", "downloaded script"),
        ],
        [
            "curl -o file https://x.example/f",
            "curl -s https://x.example/a.json | jq .name",
            "wget https://x.example/i.sh",
            "curl -sSL https://x.example/f.tgz | tar xz",
            "curl https://x.example/s | sha256sum",
        ],
    ),
    "dd onto a device": (
        [
            ("dd if=/dev/zero of=/dev/sda bs=1M", "/dev/sda"),
            ("sudo dd if=x.iso of=/dev/sdb status=progress", "/dev/sdb"),
            ("dd if=image of=/dev/mmcblk0", "/dev/mmcblk0"),
            ("dd if=/dev/urandom of=/dev/nvme0n1p2", "/dev/nvme0n1p2"),
        ],
        [
            "dd if=/dev/zero of=./disk.img bs=1M count=10",
            "dd if=/dev/zero of=/dev/null bs=1M count=100",
            "dd if=/dev/sda of=backup.img",
            "dd if=/dev/urandom of=/dev/stdout count=1",
        ],
    ),
    "writes into /etc": (
        [
            ("echo nameserver 1.1.1.1 > /etc/resolv.conf", "overwrites the system file /etc/resolv.conf"),
            ("echo '127.0.0.1 x' >> /etc/hosts", "appends to the system file /etc/hosts"),
            ("echo x | sudo tee /etc/hosts", "/etc/hosts"),
            ("echo x | sudo tee -a /etc/fstab", "/etc/fstab"),
            ("sudo sed -i 's/^#PermitRoot/PermitRoot/' /etc/ssh/sshd_config", "/etc/ssh/sshd_config"),
            ("sudo sed -i.bak 's/a/b/' /etc/hosts", "/etc/hosts"),
            ("sudo cp my.conf /etc/nginx/nginx.conf", "/etc/nginx"),
        ],
        [
            "cat /etc/passwd",
            "grep -r foo /etc",
            "sed 's/a/b/' /etc/hosts",
            "cp /etc/hosts ./hosts.bak",
            "tee out.txt",
            "echo hi > /tmp/etc.txt",
            "diff /etc/hosts hosts.new",
        ],
    ),
    "git push --force": (
        [
            ("git push --force", "git push --force"),
            ("git push -f origin main", "history"),
            ("git push origin +main", "history"),
            ("git -C repo push --force origin dev", "history"),
        ],
        [
            "git push",
            "git push origin main",
            "git push --force-with-lease",
            "git push -u origin feature",
            "git fetch -f",
            "git commit -m 'force push later'",
        ],
    ),
    "kill -9 -1": (
        [
            ("kill -9 -1", "every process you own"),
            ("sudo kill -KILL -1", "every process you own"),
            ("kill -s KILL -1", "every process you own"),
            ("kill -- -1", "every process you own"),
        ],
        ["kill -9 1234", "kill -1 1234", "kill -HUP 1", "kill %1", "pkill -9 firefox"],
    ),
    "fork bomb": (
        [
            (":(){ :|:& };:", "fork bomb"),
            (":() { : | : & }; :", "fork bomb"),
            ("bomb() { bomb | bomb & }; bomb", "fork bomb"),
            ("function f { f | f & }; f", "fork bomb"),
        ],
        ["f() { echo hi; }; f", "for i in 1 2 3; do sleep 1 & done; wait", "yes | head -n 3"],
    ),
    "recursive delete of / or home": (
        [
            ("rm -rf /", "deletes / recursively"),
            ("rm -rf ~", "home directory"),
            ("sudo rm -r -f /", "deletes / recursively"),
            ("rm -rf --no-preserve-root /", "no-preserve-root"),
            ("find / -name '*.log' -delete", "find deletes"),
        ],
        ["rm -rf ./build", "rm -rf /tmp/foo", "rm file.txt", "find . -name '*.o' -delete"],
    ),
    "disk formatting and shutdown": (
        [("mkfs.ext4 /dev/sda1", "formats"), ("cat junk > /dev/sda", "/dev/sda"), ("sudo reboot", "restarts")],
        ["df -h /dev/sda1", "lsblk /dev/sda", "echo reboot"],
    ),
}


def _rows(kind):
    for rule, (bad, good) in RULES.items():
        for row in bad if kind == "bad" else good:
            yield pytest.param(*(row if kind == "bad" else (row,)), id=f"{rule}: {row[0] if kind == 'bad' else row}")


def test_every_rule_has_dangerous_examples_and_look_alikes():
    assert all(len(bad) >= 3 and len(good) >= 3 for bad, good in RULES.values())


@pytest.mark.parametrize("code, reason", list(_rows("bad")))
def test_rule_flags_the_dangerous(code, reason):
    found = dangers(code, "bash")
    assert any(reason in r for r in found), found


@pytest.mark.parametrize("code", list(_rows("good")))
def test_rule_spares_the_look_alikes(code):
    assert dangers(code, "bash") == []


@pytest.mark.parametrize(
    "code, reason",
    [
        ("subprocess.run(\"find . -name '*.py' | xargs sed -i 's/a/b/'\", shell=True)", "in place"),
        ("os.system('git push --force')", "git push --force"),
        ("subprocess.call(['chmod', '-R', '777', 'www'])", "777"),
        ("import os\nwhile True:\n    os.fork()", "fork bomb"),
    ],
)
def test_python_shell_outs_get_the_bash_rules(code, reason):
    assert any(reason in r for r in dangers(code, "python"))


@pytest.mark.parametrize(
    "code",
    ["subprocess.run(['git', 'push'])", "pid = os.fork()\nif pid == 0:\n    run()", "os.system('chmod 755 run.sh')"],
)
def test_python_look_alikes(code):
    assert dangers(code, "python") == []


def test_typographic_quotes_do_not_hide_a_danger():
    """A candidate with curly quotes is read as the shell would read its ASCII form: check warns."""
    code = "find . -name ‘*.txt’ | xargs sed -i ‘s/foo/bar/g’"
    assert warning_lines(code, "bash") == [
        warning_line("xargs sed -i edits every file find lists in place, without a backup")
    ]


def test_check_and_the_pipeline_warn_alike():
    """`codefusion check` prints warning_lines(code); `generate` prints warning_line(w) for the pipeline's warnings
    of the same candidate: the same lines."""
    from engine.api import Candidate
    from grammar.pipeline import process

    for bad, _ in RULES.values():
        for code, _ in bad:
            (shown,) = process([Candidate(code, 0.0)], "bash", k=1).candidates
            assert [warning_line(w) for w in shown.warnings] == warning_lines(code, "bash"), code
