"""How long the `rareflow` command takes to start: `--help` and `--version`, side by side.

    .venv/bin/python benchmarks/bench_cli_startup.py [--repeat 10]

The CLI imports numpy, pandas and xarray only inside the commands that need them, so start-up
should stay well under a second. Printed beside it: a bare `python -c pass` for scale.
"""

from __future__ import annotations

import argparse
import shutil
import statistics
import subprocess
import sys
import time
from pathlib import Path


def timed(command: list[str], repeat: int) -> list[float]:
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        subprocess.run(command, check=True, capture_output=True)
        times.append(time.perf_counter() - start)
    return times


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--repeat", type=int, default=10)
    args = parser.parse_args()
    exe = shutil.which("rareflow") or str(Path(sys.executable).parent / "rareflow")
    cases = {
        "python -c pass": [sys.executable, "-c", "pass"],
        "rareflow --version": [exe, "--version"],
        "rareflow --help": [exe, "--help"],
        "rareflow data --help": [exe, "data", "--help"],
    }
    base = None
    print(f"{'command':<24} {'min s':>8} {'median s':>9} {'max s':>8} {'x python':>9}")
    for label, command in cases.items():
        times = timed(command, args.repeat)
        median = statistics.median(times)
        base = base or median
        print(
            f"{label:<24} {min(times):>8.3f} {median:>9.3f} {max(times):>8.3f} {median / base:>9.1f}"
        )


if __name__ == "__main__":
    main()
