"""SIGKILL the headless trainer at random moments, check every file it left, resume, compare weights.

    python -m benchmarks.kill_resume --kills 20

prints one line per kill and, last, "survived K of N kills" (the routine is tests/kill_resume.py,
which tests/test_reliability.py runs a few kills of).
"""

from __future__ import annotations

import argparse
import tempfile
from pathlib import Path

from tests.kill_resume import kill_campaign


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--kills", type=int, default=20)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        survived, tried, details = kill_campaign(Path(tmp), args.kills, args.seed)
    print("\n".join(details))
    print(f"survived {survived} of {tried} kills")


if __name__ == "__main__":
    main()
