"""The application layer: what a user runs, composed from engine/ (the model) and grammar/ (checks).

    codefusion.settings    the one definition of the user-facing settings (names, defaults, ranges)
    codefusion.suggest     suggest(): model + retrieval + grammar pipeline, the one composition of a suggestion
    codefusion.cli         the `codefusion` command
    codefusion.evaluation  `codefusion eval`: metrics, the harness, the model card

Imports go one way: lsp/ -> codefusion/ -> engine/, grammar/ (contracts in pyproject.toml, checked by
lint-imports).
"""
