"""codefusion.tldr: a Bash exemplar bank from a tldr-pages checkout (fixture pages written here)."""

import json
import subprocess
import sys

import pytest

from codefusion import tldr

PAGE = """# arc

> Pack and unpack archives (a made-up page in tldr's format).
> More information: <https://example.org/arc>.

- [c]reate a g[z]ipped archive from a directory:

`arc czf {{path/to/target.tar.gz}} {{[-C|--directory]}} {{path/to/directory}}`

- List the contents with a specific key size ([k]) on IPv[4]:

`arc {{[t|l|list]}} -k {{2048}} {{path/to/archive}}`

- [Interactive] Pick files to add:

`arc add --pick`

- Print a format string with literal braces:

`arc info --format "\\{\\{.Name\\}\\}" {{{1..3}}}`

A stray paragraph that is not an example.
`arc orphan-command`
"""


def _checkout(tmp_path, pages: dict):
    for rel, text in pages.items():
        f = tmp_path / "pages" / rel
        f.parent.mkdir(parents=True, exist_ok=True)
        f.write_text(text, encoding="utf-8")
    return tmp_path


def test_description_drops_colon_and_mnemonic_brackets_only():
    assert (
        tldr.description("- [c]reate a g[z]ipped archive and write it to a [f]ile:")
        == "create a gzipped archive and write it to a file"
    )
    assert tldr.description("- Use a key size ([g]) over IPv[6]:") == "Use a key size (g) over IPv6"
    assert tldr.description("- [Interactive] Pick files:") == "[Interactive] Pick files"
    assert tldr.description("- Say ([-E]) it:") == "Say ([-E]) it"


def test_command_renders_placeholders_as_the_client_spec_says():
    assert (
        tldr.command("`tar cf {{path/to/target.tar}} {{path/to/file1 path/to/file2 ...}}`")
        == "tar cf path/to/target.tar path/to/file1 path/to/file2 ..."
    )
    assert tldr.command("`tar xf {{a.tar}} {{[-C|--directory]}} {{dir}}`") == "tar xf a.tar --directory dir"
    assert tldr.command("`docker {{[images|image ls]}}`") == "docker image ls"
    assert tldr.command("`tar xvf {{path/to/source.tar[.gz|.bz2|.xz]}}`") == "tar xvf path/to/source.tar[.gz|.bz2|.xz]"
    assert tldr.command('`docker ps --format "\\{\\{.ID\\}\\}"`') == 'docker ps --format "{{.ID}}"'
    assert tldr.command("`echo {{{1..3}}}`") == "echo {1..3}"


def test_parse_page_pairs_each_description_with_its_command():
    pairs = list(tldr.parse_page(PAGE))
    assert pairs == [
        ("create a gzipped archive from a directory", "arc czf path/to/target.tar.gz --directory path/to/directory"),
        ("List the contents with a specific key size (k) on IPv4", "arc list -k 2048 path/to/archive"),
        ("[Interactive] Pick files to add", "arc add --pick"),
        ("Print a format string with literal braces", 'arc info --format "{{.Name}}" {1..3}'),
    ]


def test_records_read_english_platforms_once_each(tmp_path):
    root = _checkout(
        tmp_path,
        {
            "common/arc.md": PAGE,
            "linux/arc.md": PAGE,
            "osx/lsx.md": "# lsx\n\n- List all:\n\n`lsx -a`\n",
            "windows/dir.md": "# dir\n\n- List:\n\n`dir`\n",
        },
    )
    rows = list(tldr.records(root))
    assert len(rows) == 5  # the linux copy repeats the common page; windows is not read
    assert {r["platform"] for r in rows} == {"common", "osx"}
    assert all(r["lang"] == "bash" and r["source"] == "tldr" for r in rows)
    assert rows[-1] == {
        "nl": "List all",
        "code": "lsx -a",
        "lang": "bash",
        "source": "tldr",
        "page": "lsx",
        "platform": "osx",
    }


def test_not_a_checkout_is_a_clear_error(tmp_path):
    with pytest.raises(tldr.TldrError, match="not a tldr-pages checkout"):
        list(tldr.records(tmp_path))
    (tmp_path / "pages" / "fr").mkdir(parents=True)
    with pytest.raises(tldr.TldrError, match="no pages under"):
        list(tldr.records(tmp_path))


def test_cli_writes_a_bank_the_engine_reads(tmp_path):
    root = _checkout(tmp_path / "tldr", {"common/arc.md": PAGE})
    out = tmp_path / "bank" / "tldr.jsonl"
    r = subprocess.run(
        [sys.executable, "-m", "codefusion", "bank", "--tldr", str(root), "--out", str(out)],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert r.returncode == 0, r.stderr
    assert r.stderr == ""
    assert "4 Bash exemplars from tldr-pages" in r.stdout and "CC BY 4.0" in r.stdout
    from engine.data import read_jsonl
    from engine.retrieval import Retriever

    rows = [rec for _, rec in read_jsonl(out)]
    assert len(rows) == 4 and rows[0]["code"].startswith("arc czf")
    hits = Retriever(rows).search("make a gzipped archive of a directory", "bash", 1)
    assert hits[0].code.startswith("arc czf")

    bad = subprocess.run(
        [sys.executable, "-m", "codefusion", "bank", "--tldr", str(tmp_path / "nope"), "--out", str(out)],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert bad.returncode == 2
    assert bad.stderr.strip().count("\n") == 0 and "not a tldr-pages checkout" in bad.stderr
    assert json.loads(out.read_text().splitlines()[0])["nl"] == "create a gzipped archive from a directory"


def test_shipped_rows_keep_page_and_platform_and_refuse_other_files(tmp_path):
    good = tmp_path / "tldr.jsonl"
    rows = [
        {"nl": "List all", "code": "lsx -a", "page": "lsx", "platform": "osx"},
        {"nl": "List all", "code": "lsx -a", "page": "lsx", "platform": "linux"},  # the same pair again
        {"nl": "Pack", "code": "arc c", "page": "arc"},
    ]
    good.write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")
    got = tldr.shipped_rows([good])
    assert got == [
        {"nl": "List all", "code": "lsx -a", "lang": "bash", "source": "tldr", "page": "lsx", "platform": "osx"},
        {"nl": "Pack", "code": "arc c", "lang": "bash", "source": "tldr", "page": "arc", "platform": "common"},
    ]
    bad = tmp_path / "train.jsonl"
    bad.write_text(json.dumps({"nl": "list files", "code": "ls", "lang": "bash"}) + "\n", encoding="utf-8")
    with pytest.raises(tldr.TldrError, match=r"train.jsonl:1: not a converted tldr row"):
        tldr.shipped_rows([bad])
