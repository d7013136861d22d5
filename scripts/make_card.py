"""Kept for old notes: `codefusion card` writes a checkpoint's card (codefusion/evaluation/card.py).

    python scripts/make_card.py --checkpoint models/default --eval models/eval --prefix ft --baseline-prefix ar
"""
import sys

from codefusion.cli import main

if __name__ == "__main__":
    sys.exit(main(["card", *sys.argv[1:]]))
