"""Bash template match (NL2Bash/Tellina style) on hand-written pairs."""

import pytest

from codefusion.evaluation.template import bash_template, template_match


@pytest.mark.parametrize(
    "code, template",
    [
        ("ls -la /tmp", "ls -la ARG"),
        ("find . -type f -name '*.txt'", "find -name -type ARG ARG ARG"),
        ("find . -name '*.txt' -type f | xargs rm -f", "find -name -type ARG ARG ARG | xargs -f ARG"),
        ("ls -la /tmp && echo done", "ls -la ARG && echo ARG"),
        ("echo $(date) > out.txt 2>&1", "echo ARG > ARG >& ARG"),
        ("X=1 make -j4", "make -j4"),
        ("for f in *; do echo $f; done", "for ARG in ARG ; do echo ARG ; done"),
        ("cat a; cat b", "cat ARG ; cat ARG"),
        # bashlex cannot parse these: whitespace fallback
        ("echo $(( 1 + 2 )) | wc -c", "echo ARG ARG ARG ARG ARG | wc -c"),
        ("[[ -f x ]] && ls -l", "[[ -f ARG ARG && ls -l"),
    ],
)
def test_template(code, template):
    assert bash_template(code) == template


@pytest.mark.parametrize(
    "a, b",
    [
        ("find . -name '*.txt' -type f", "find /home -type f -name '*.log'"),  # args differ, flags reordered
        ("ls -l -a dir", "ls -a -l other"),
        ("grep -r foo src | wc -l", "grep -r bar lib | wc -l"),
        ("tar -czf a.tgz dir", "tar -czf b.tgz other"),
        ("rm   -rf   build", "rm -rf dist"),
        ('echo "hello world"', "echo 'bye'"),
    ],
)
def test_matching_pairs(a, b):
    assert template_match(a, b)


@pytest.mark.parametrize(
    "a, b",
    [
        ("ls -l dir", "ls -la dir"),  # -l vs -la are different flags
        ("find . -name x", "find . -iname x"),
        ("grep foo file | wc -l", "grep foo file"),  # pipe structure differs
        ("cp a b", "mv a b"),  # utility differs
        ("ls dir", "ls dir other"),  # argument count differs
        ("a && b", "a || b"),  # operator differs
        ("cat f > out", "cat f >> out"),  # redirection differs
    ],
)
def test_non_matching_pairs(a, b):
    assert not template_match(a, b)
