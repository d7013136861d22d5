"""`python -m grammar check|eval ...`: the same as `python -m grammar.cli`."""
import sys

from grammar.cli import main

sys.exit(main())
