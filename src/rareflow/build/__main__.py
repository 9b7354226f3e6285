"""``python -m rareflow.build --facts DIR --out DIR [--calibration DIR]``: rebuild the bundled
baseline tables (the customs series by destination default to ``DIR/../calibration``)."""

from __future__ import annotations

import argparse
from pathlib import Path

from rareflow.build.economy import write_economy
from rareflow.build.pipeline import build_tables, write_tables


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m rareflow.build", description=__doc__)
    parser.add_argument("--facts", type=Path, required=True, help="directory of fact CSVs")
    parser.add_argument("--out", type=Path, required=True, help="output directory for tables")
    parser.add_argument("--calibration", type=Path, default=None,
                        help="directory of the customs series (default: calibration/ beside the "
                        "facts, else the bundled copies)")  # fmt: skip
    args = parser.parse_args(argv)
    tables = build_tables(args.facts, args.calibration)
    paths = write_tables(tables, args.out)
    paths += write_economy(args.out / "economy")
    rows = sum(len(t) for t in tables.values())
    print(f"wrote {len(paths)} tables ({rows} rows) to {args.out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
