"""`python -m lsp`: run the CodeFusion language server (same options as `codefusion-lsp`)."""

import sys

from lsp.server import main

sys.exit(main())
