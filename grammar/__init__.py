"""grammar: syntax checks, the CF rule language, danger flags and the candidate pipeline: what the editor needs
to judge code, with no model (no engine/ imports; the evaluation metrics are codefusion.evaluation).

Modules:
    syntax           one entry point `check(code, lang) -> Verdict` over the per-language checkers, LANGS
    verdict          what a check returns: Verdict, SyntaxIssue (apart from syntax, so the checkers import no circle)
    treesitter_util  tree-sitter parsers and ERROR/MISSING collection
    python_syntax    Python via tree-sitter-python
    bash_syntax      Bash via tree-sitter-bash and bashlex together
    cf/              the conditional-formatting rule DSL: nodes, function table, parser, executor, check_cf
    danger           dangerous-code detection (the reasons a user must see before inserting a candidate)
    normalize        per-language normalisation (whitespace, ASCII typography) used by the pipeline and metrics
    pipeline         raw engine candidates -> ranked, deduplicated, checked candidates with their warnings
"""
