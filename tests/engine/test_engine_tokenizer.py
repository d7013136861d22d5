import pytest

from engine.tokenizer import EOS_ID, PAD_ID, CodeTokenizer

CORPUS = ["ls -la", "find . -name '*.py'", "def f(x):\n\treturn x  # ünïcödé", "TextContains(適)", 'echo "a  b"'] * 20


@pytest.fixture(scope="module")
def tok():
    return CodeTokenizer.train(CORPUS, 300)


@pytest.mark.parametrize(
    "text",
    [
        "ls -la",
        "  two  spaces  ",
        "tab\there",
        "multi\nline\n\nblank",
        "ünïcödé ✓ 日本語 🙂",
        "trailing newline\n",
        "\r\nwindows",
        "TextEquals(In Progress)",
    ],
)
def test_round_trip_exact(tok, text):
    assert tok.decode(tok.encode(text)) == text


def test_padding_and_decode_stops_at_end_token(tok):
    ids = tok.encode_padded("ls -la", 16)
    assert len(ids) == 16
    n = CodeTokenizer.content_length(ids)
    assert ids[n] == EOS_ID and all(i == PAD_ID for i in ids[n + 1 :])
    assert tok.decode(ids) == "ls -la"
    assert tok.decode(tok.encode("ab") + [EOS_ID] + tok.encode("cd")) == "ab"


def test_save_and_load(tok, tmp_path):
    tok.save(tmp_path / "t.json")
    t2 = CodeTokenizer.from_file(tmp_path / "t.json")
    assert t2.encode("find . -name x") == tok.encode("find . -name x")
