"""Rebuild the Bash bank the wheel ships (codefusion_bank/) from the converted tldr-pages files.

    python scripts/build_shipped_bank.py
        [--data ../shared/data/bash/tldr-train.jsonl ../shared/data/bash/tldr-dev.jsonl] [--out codefusion_bank]

Writes the rows, the fitted TF-IDF (vocabularies and IDF), the sentence vectors of the default NL
encoder (float16) and manifest.json (rows, entries, encoder, sha256 of each file); ATTRIBUTION.md and
LICENSE-tldr.txt in that folder are kept as they are. Embedding the ~27k distinct descriptions takes
minutes on a CPU; nothing else needs rebuilding unless the tldr files, the retrieval options or the
default encoder change (the loader refuses a bank whose files or options do not match).
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent


def main(argv=None) -> int:
    sys.path.insert(0, str(REPO))
    from codefusion.tldr import TldrError, build_shipped
    from engine.data import default_data_dir

    data = default_data_dir()
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument(
        "--data",
        nargs="+",
        type=Path,
        default=[data / "bash" / "tldr-train.jsonl", data / "bash" / "tldr-dev.jsonl"] if data else None,
        help="converted tldr JSONL files (default: tldr-train and tldr-dev in ../shared/data/bash)",
    )
    p.add_argument(
        "--out", type=Path, default=REPO / "codefusion_bank", help="the bank folder (default: codefusion_bank)"
    )
    a = p.parse_args(argv)
    if not a.data:
        p.error("no --data given and no ../shared/data directory found")
    missing = [str(f) for f in a.data if not f.is_file()]
    if missing:
        p.error(f"not found: {', '.join(missing)}")
    start = time.perf_counter()
    try:
        m = build_shipped(a.data, a.out)
    except (TldrError, ValueError, OSError) as e:
        print(f"error: {e}", file=sys.stderr)
        return 1
    print(
        f"{a.out}: {m['rows']} rows, {m['entries']} entries, vectors {m['entries']}x{m['dim']} {m['vectors_dtype']} "
        f"({m['encoder']}), {time.perf_counter() - start:.0f} s"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
