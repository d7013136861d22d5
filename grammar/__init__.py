"""grammar: syntax checks, the CF rule language, the candidate pipeline and the evaluation metrics.

Modules:
    syntax           one entry point `check(code, lang) -> Verdict` over the per-language checkers
    treesitter_util  tree-sitter parsers and ERROR/MISSING collection
    python_syntax    Python via tree-sitter-python
    bash_syntax      Bash via tree-sitter-bash and bashlex together
    cf/              the conditional-formatting rule DSL: function table, parser, executor, label report
    danger           dangerous-command detection (reasons a user must see)
    normalize        per-language normalisation (whitespace) used by the pipeline and metrics
    pipeline         raw engine candidates -> ranked, deduplicated, checked candidates
    template         Bash template match (NL2Bash/Tellina style)
    bleu             CoNaLa tokeniser and the Moses-style corpus BLEU used by CoNaLa
    codebertscore    CodeBERTScore from a local CodeBERT directory
    metrics          per-candidate hits, top-k, validity, diversity, speed
    evaluate         the `codefusion eval` loop and its report files
    cli              argparse glue for `codefusion check` and `codefusion eval`
"""
