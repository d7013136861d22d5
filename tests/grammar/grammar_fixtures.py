"""Small hand-written data for the grammar tests (never the shared data)."""

import json

TRAIN = [
    {"nl": "list all files in the current directory", "code": "ls -la", "lang": "bash"},
    {"nl": "list all files in the current directory", "code": "ls -a", "lang": "bash"},  # same NL: one neighbour
    {"nl": "find all python files", "code": "find . -name '*.py'", "lang": "bash"},
    {"nl": "count lines in file.txt", "code": "wc -l file.txt", "lang": "bash"},
    {"nl": "print the working directory", "code": "pwd", "lang": "bash"},
    {"nl": "search for error in the log", "code": "grep -i error log.txt", "lang": "bash"},
    {"nl": "reverse a list x", "code": "x[::-1]", "lang": "python"},
    {"nl": "sort list a in descending order", "code": "sorted(a, reverse=True)", "lang": "python"},
    {"nl": "convert string s to lower case", "code": "s.lower()", "lang": "python"},
    {"nl": "format cells greater than 50", "code": "GreaterThan(50)", "lang": "cf"},
    {"nl": "color cells that contain Error", "code": "TextContains(Error)", "lang": "cf"},
    {"nl": "highlight the top 10 percent", "code": "top(10%)", "lang": "cf"},
]

CF_DATA = [["Index", "Value"], [0, "10"], [1, "60"], [2, "Error 4"], [3, "75"]]

DEV = [
    {"nl": "find every python file", "code": "find /src -name '*.pyc'", "lang": "bash"},
    {"nl": "count the lines in a.txt", "code": "wc -l a.txt", "lang": "bash"},
    {"nl": "show the current directory", "code": "pwd", "lang": "bash"},
    {"nl": "sort list b descending", "code": "sorted(b, reverse=True)", "lang": "python"},
    {"nl": "reverse list y", "code": "y[::-1]", "lang": "python"},
    {"nl": "format cells bigger than 55", "code": "GreaterThan(55)", "lang": "cf", "data": CF_DATA, "labels": [0] * 5},
    {
        "nl": "color cells containing error",
        "code": "TextContains(error)",
        "lang": "cf",
        "data": CF_DATA,
        "labels": [0, 0, 0, 1, 0],
    },
]


def write_jsonl(path, records):
    path.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in records), encoding="utf-8")
    return path
