import sys

from codefusion.cli import main

sys.exit(main())
