from engine.cpd import keyword_identifier_spans, masked_text, token_mask


def _words(code, lang):
    return [code[s:e] for s, e in keyword_identifier_spans(code, lang)]


def test_python_identifiers_and_keywords_only():
    code = "for x in range(10):\n    print(x + 1, 'str')"
    got = _words(code, "python")
    assert got == ["for", "x", "in", "range", "print", "x"]
    assert "10" not in got and "'str'" not in got and "+" not in got


def test_bash_command_names_variables_and_keywords():
    code = "if [ -f $F ]; then grep -i err log.txt | wc -l; fi"
    got = _words(code, "bash")
    assert "if" in got and "then" in got and "fi" in got
    assert "grep" in got and "wc" in got and "F" in got
    assert "log.txt" not in got and "-i" not in got and "err" not in got


def test_cf_function_names():
    assert _words("AND(GreaterThanEqual(25),LessThan(50))", "cf") == ["AND", "GreaterThanEqual", "LessThan"]
    assert _words("TextContains(In Progress)", "cf") == ["TextContains"]


def test_non_ascii_offsets_are_characters():
    code = "echo 日本 && ls"
    assert _words(code, "bash") == ["echo", "ls"]


def test_token_mask_and_masked_text():
    spans = [(0, 4), (10, 12)]
    assert token_mask([(0, 2), (2, 4), (4, 10), (10, 11), (12, 13)], spans) == [True, True, False, True, False]
    assert masked_text("grep -i x | wc", [(0, 4), (12, 14)], "[MASK]") == "[MASK] -i x | [MASK]"
