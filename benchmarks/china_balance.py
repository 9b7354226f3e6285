"""China's own balance in 2025: what moves its domestic prices in the model (issue 18).

    PYTHONPATH=src python benchmarks/china_balance.py [--format json]

Side by side, on the `history` run to 2025-09 (the stored calibration, one draw):

1. ``timeline``: the bundled timeline, with MP Materials' April 2025 halt of concentrate
   shipments to China (``us-mp-halt-2025``);
2. ``no MP halt``: the same without it (the history run before 2026-12-04);
3. ``mines at quota``: the timeline on a copy of the dataset whose Chinese mine capacities are
   the 2024 mining quota (270,000 t REO, of which 20,280 t ionic clay), which USGS output
   equals, instead of output / 0.8; and the value lost summed over ``reimpose-oct-2025`` on
   both datasets.

Per case: US light concentrate shipped to China from April to September 2025 (t), and China's
and the ex-China price of light concentrate and NdPr oxide in June and September 2025
relative to March (1 = no change); observed for China's NdPr oxide: +29% from March to
September 2025 (``prices_2025_monthly.csv``). Not a timed test: it measures the model.
"""

from __future__ import annotations

import argparse
import json
import shutil
import tempfile
from pathlib import Path
from typing import Any

import pandas as pd

import rareflow
from rareflow.data.network import BASELINE_DIR
from rareflow.history.scenario import history_scenario

MP_HALT = "us-mp-halt-2025"
QUOTA_2024_T = {"mine_light": 270_000.0 - 20_280.0, "mine_ionic": 20_280.0}  # chinese_quotas.csv
MONTHS = ("2025-03-01", "2025-06-01", "2025-09-01")


def quota_dataset(into: Path) -> Path:
    """A copy of the bundled dataset with China's mine capacities at the 2024 quota."""
    out = into / "data"
    shutil.copytree(BASELINE_DIR, out)
    capacities = pd.read_csv(out / "capacities.csv")
    for process, tonnes in QUOTA_2024_T.items():
        at = (capacities["region"] == "CHN") & (capacities["process"] == process)
        capacities.loc[at, "tonnes_per_year"] = tonnes
    capacities.to_csv(out / "capacities.csv", index=False)
    return out


def case(data: Path | None, without: tuple[str, ...] = ()) -> dict[str, Any]:
    scenario = history_scenario("2025-09", without=without)
    ds = rareflow.run(scenario, data=data).dataset.isel(draw=0)
    ships = ds["shipments"].sel(product="concentrate_light", exporter="USA", importer="CHN")
    out: dict[str, Any] = {
        "us_to_china_concentrate_t": float(ships.sel(month=slice("2025-04-01", None)).sum())
    }
    for product in ("concentrate_light", "ndpr_oxide"):
        for market in ("china", "ex_china"):
            price = ds["price"].sel(product=product, market=market)
            march = float(price.sel(month=MONTHS[0]))
            for month in MONTHS[1:]:
                out[f"{product}_{market}_{month[:7]}"] = float(price.sel(month=month)) / march
    return out


def value_lost_bn_usd(data: Path | None) -> float:
    return float(rareflow.run("reimpose-oct-2025", data=data).dataset["value_lost"].sum()) / 1e9


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--format", choices=("table", "json"), default="table")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        quota = quota_dataset(Path(tmp))
        cases = {
            "timeline": case(None),
            "no MP halt": case(None, without=(MP_HALT,)),
            "mines at quota": case(quota),
        }
        cases["timeline"]["reimpose_value_lost_bn_usd"] = value_lost_bn_usd(None)
        cases["mines at quota"]["reimpose_value_lost_bn_usd"] = value_lost_bn_usd(quota)
    if args.format == "json":
        print(json.dumps(cases, indent=2))
        return
    print(pd.DataFrame(cases).round(3).to_string())


if __name__ == "__main__":
    main()
