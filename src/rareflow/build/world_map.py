"""The dashboard's world map, as plotly's geo charts read it (``topojsonURL``), built from
Natural Earth's 1:110m countries in the world-atlas npm package (2.0.2, ISC licence; Natural
Earth is in the public domain)::

    npm pack world-atlas@2.0.2 && tar xzf world-atlas-2.0.2.tgz
    python -m rareflow.build.world_map package/countries-110m.json \\
        src/rareflow/web/static/maps/world_110m.json

The topology is kept as it is (arcs, land); each country's ``id`` becomes its ISO3 code where
the baseline's ``country_regions`` names it, else ``~`` and its ISO numeric code (or name):
such a country belongs to the rest of the world (``ROW``).
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import Any

from rareflow.data.io import read_table

COUNTRY_REGIONS = Path(__file__).parents[1] / "data" / "baseline" / "country_regions.csv"
ALIASES = {"United States of America": "USA", "Myanmar": "MMR"}  # Natural Earth's short names


def plotly_topology(topology: dict[str, Any], iso3_by_name: dict[str, str]) -> dict[str, Any]:
    """``topology`` with ISO3 ids on the countries the baseline names."""
    for country in topology["objects"]["countries"]["geometries"]:
        name = country["properties"]["name"]
        code = iso3_by_name.get(name) or ALIASES.get(name)
        country["id"] = code or f"~{country.get('id') or name}"
    return topology


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m rareflow.build.world_map")
    parser.add_argument("source", type=Path, help="world-atlas countries-110m.json")
    parser.add_argument("out", type=Path, help="where plotly reads it: .../world_110m.json")
    args = parser.parse_args(argv)
    table = read_table(COUNTRY_REGIONS)
    names = dict(zip(table["country"], table["iso3"], strict=True))
    topology = plotly_topology(json.loads(args.source.read_text()), names)
    args.out.write_text(json.dumps(topology, separators=(",", ":")))
    listed = sum(
        not str(c["id"]).startswith("~") for c in topology["objects"]["countries"]["geometries"]
    )
    print(f"wrote {args.out}: {listed} countries the baseline names, the rest in ROW")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
