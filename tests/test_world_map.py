"""The dashboard's bundled world map: Natural Earth countries with rareflow's ISO3 ids."""

from __future__ import annotations

import json
from pathlib import Path

from rareflow.build.world_map import COUNTRY_REGIONS, plotly_topology
from rareflow.data.io import read_table

MAPS = Path(__file__).resolve().parents[1] / "src" / "rareflow" / "web" / "static" / "maps"


def test_the_bundled_map_names_the_baseline_countries_by_iso3() -> None:
    shapes = json.loads((MAPS / "world_110m.json").read_text())["objects"]["countries"]
    ids = [str(c["id"]) for c in shapes["geometries"]]
    assert len(ids) == len(set(ids)) > 150
    listed = set(read_table(COUNTRY_REGIONS)["iso3"])
    iso3 = {i for i in ids if not i.startswith("~")}
    assert iso3 <= listed and {"USA", "MMR", "DEU", "FRA", "CHN", "JPN"} <= iso3
    assert len(iso3) >= 60  # the rest of the listed countries are too small for 1:110m
    assert (MAPS / "LICENSE-world-atlas.txt").exists() and (MAPS / "README.md").exists()


def test_ids_come_from_the_names_and_the_rest_stay_apart() -> None:
    topology = {"objects": {"countries": {"geometries": [
        {"id": "276", "properties": {"name": "Germany"}},
        {"id": "840", "properties": {"name": "United States of America"}},
        {"id": "024", "properties": {"name": "Angola"}},
        {"properties": {"name": "Kosovo"}},
    ]}}}  # fmt: skip
    out = plotly_topology(topology, {"Germany": "DEU", "Angola": "AGO"})
    ids = [c["id"] for c in out["objects"]["countries"]["geometries"]]
    assert ids == ["DEU", "USA", "AGO", "~Kosovo"]
