"""The 2010-2015 hindcast: the model's prices through the 2010-2011 episode, stated before the
prices of those years are seen, and scored against them when they come (``--observed``).

The run is ``crisis2010``'s ``both`` scenario (the relative quota cut from 2010 and the Japan
customs hold of October-November 2010) on the 2024 network scaled to 2010, against its
no-policy baseline, month by month to ``until`` (default 2015-12). The model's figure is a
price *multiple*: the scenario's price over the baseline run's in the same month and market.

Observed prices become multiples the same way, each printed series (product name, market and
unit as printed) over its own base: the median of its quotes before 2010, where the model's
no-policy run parts from the scenario (the quota is an annual allocation); else of those
before ``EPISODE`` (2010-07, when the second-half 2010 quota, 72% below 2009's, was
announced); else its first quote (each fallback said in the notes). A model product's observed
multiple in a month is the median over its series (La and Ce oxides both stand for
``lace_oxide``; Nd oxide for NdPr oxide: multiples, not levels, so a proxy moves with the
product). Units never mix within a series, so a currency needs no conversion; CNY quotes carry
the yuan's drift against the dollar (about 9% from 2010 to 2013).

Scores, per (product, market) with observations:

- the peak: its month (``peak_month_error_months``, modelled minus observed) and its multiple
  (``peak_multiple_ratio``, modelled over observed);
- the decay: the multiple at the last observed month up to ``DECAY_AT`` (2013-12) as a share of
  the peak (``share_of_peak``), modelled at that same month;
- the path: root mean squared error of the log multiple over the observed months, beside the
  naive forecast a buyer in mid-2010 could make, no change (multiple 1).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from rareflow.data.reference.tables import DATE, month_of
from rareflow.data.schema import MARKETS
from rareflow.errors import UserInputError
from rareflow.history.crisis2010 import (
    FILE_NAME,
    LIMITS,
    PATH_PRODUCTS,
    START,
    UNWIND_END,
    episode_runs,
    paths_of,
    summarize,
)
from rareflow.history.observed import calibration_dir
from rareflow.history.quota_fill import fill_note, quota_fill

if TYPE_CHECKING:
    import pandas as pd

HINDCAST_END = "2015-12"
LATEST_END = "2020-12"  # the 2010 network carries no projects or policies beyond the episode
EPISODE = "2010-07"
DECAY_AT = UNWIND_END
# Printed names (lower case, by their start; the longest match wins) -> model product.
NAMES = {
    "ndpr oxide": "ndpr_oxide", "prnd oxide": "ndpr_oxide", "pr-nd oxide": "ndpr_oxide",
    "nd-pr oxide": "ndpr_oxide", "didymium oxide": "ndpr_oxide", "nd oxide": "ndpr_oxide",
    "neodymium oxide": "ndpr_oxide", "la oxide": "lace_oxide", "lanthanum oxide": "lace_oxide",
    "ce oxide": "lace_oxide", "cerium oxide": "lace_oxide", "dy oxide": "dy_oxide",
    "dysprosium oxide": "dy_oxide", "tb oxide": "tb_oxide", "terbium oxide": "tb_oxide",
    "eu oxide": "eu_oxide", "europium oxide": "eu_oxide", "y oxide": "y_oxide",
    "yttrium oxide": "y_oxide", "gd oxide": "gd_oxide", "gadolinium oxide": "gd_oxide",
    "sm oxide": "sm_oxide", "samarium oxide": "sm_oxide", "ndpr metal": "ndpr_metal",
    "prnd metal": "ndpr_metal", "nd metal": "ndpr_metal", "neodymium metal": "ndpr_metal",
    "dy metal": "dy_metal", "dysprosium metal": "dy_metal", "tb metal": "tb_metal",
    "terbium metal": "tb_metal", "ndfeb": "ndfeb_sintered",
}  # fmt: skip
LAYOUT = (
    "a CSV with columns date (YYYY-MM or YYYY-MM-DD; or month), product (e.g. 'Dy oxide', "
    "'Nd oxide FOB China' or dy_oxide), market (china or ex_china) and value (or "
    "usd_per_kg), with unit optional: the layout of prices_2025_monthly.csv"
)


@dataclass
class Hindcast:
    """``paths``: month, product, market, modelled_multiple (and observed_multiple with
    observations); ``summary``: per (product, market) the modelled peak, the multiple at each
    checkpoint and the share of the peak left at ``DECAY_AT``; ``scores``: per (product,
    market) with observations, and 'all' (empty without observations); ``quota_fill``: per
    year, the share of China's export quota its exports filled, modelled and observed
    (``quota_fill``: facts in sample, unlike the prices)."""

    until: str
    paths: pd.DataFrame
    summary: pd.DataFrame
    scores: pd.DataFrame
    quota_fill: pd.DataFrame
    notes: list[str] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        from rareflow.history.records import records

        return {
            "until": self.until,
            "summary": records(self.summary),
            "scores": records(self.scores),
            "quota_fill": records(self.quota_fill),
            "paths": records(self.paths),
            "notes": self.notes,
        }

    def figure(self) -> Any:
        """Plotly: one chart per product, the modelled multiple in each market as lines and
        the observed multiples as diamonds."""
        from rareflow.history.hindcast_figure import figure

        return figure(self)


def until_expected(until: str) -> str | None:
    """What ``until`` should be, where it is not; None where it is fine."""
    from rareflow.policies.instruments import MONTH_PATTERN

    if MONTH_PATTERN.match(str(until)) and "2011-01" <= until <= LATEST_END:
        return None
    return f"YYYY-MM from 2011-01 to {LATEST_END} (the run starts in 2010-01)"


def check_until(until: str) -> str:
    expected = until_expected(until)
    if expected is not None:
        raise UserInputError("not a month the hindcast runs to", column="--until", value=until,
                             expected=expected)  # fmt: skip
    return until


def product_of(printed: str) -> str | None:
    """Model product of a printed name ('Dy oxide FOB China', 'dy_oxide'), else None."""
    text = " ".join(str(printed).strip().lower().split())
    if text in PATH_PRODUCTS:
        return text
    hits = [name for name in NAMES if text.startswith(name)]
    return NAMES[max(hits, key=len)] if hits else None


def read_prices(path: Path) -> pd.DataFrame:
    """Observed quotes: columns series, printed, product (None where the model lacks it:
    ``observed_multiples`` names and leaves those out), market, month, value (a file in
    ``LAYOUT``)."""
    import pandas as pd

    if not Path(path).is_file():
        raise UserInputError("no such file", file=str(path), hint=LAYOUT)
    try:
        raw = pd.read_csv(path, dtype=str, keep_default_na=False)
    except (pd.errors.ParserError, UnicodeDecodeError, pd.errors.EmptyDataError) as exc:
        raise UserInputError(f"not a CSV table: {exc}", file=str(path), hint=LAYOUT) from None
    date = "date" if "date" in raw.columns else "month"
    value = "value" if "value" in raw.columns else "usd_per_kg"
    for column in (date, "product", "market", value):
        if column not in raw.columns:
            raise UserInputError("a column is missing", file=str(path), column=column,
                                 hint=LAYOUT)  # fmt: skip
    unit = raw["unit"] if "unit" in raw.columns else pd.Series("USD/kg", index=raw.index)
    numbers = pd.to_numeric(raw[value].str.strip(), errors="coerce")
    for i, (row, number) in enumerate(zip(raw.to_dict(orient="records"), numbers, strict=True)):
        line = i + 2  # the header is line 1
        if not DATE.match(row[date].strip()):
            raise UserInputError("not a date", file=str(path), row=line, column=date,
                                 value=row[date], expected="YYYY-MM or YYYY-MM-DD")  # fmt: skip
        if row["market"].strip() not in MARKETS:
            raise UserInputError("not a market", file=str(path), row=line, column="market",
                                 value=row["market"], expected="china or ex_china")  # fmt: skip
        if not number > 0:  # NaN fails too
            raise UserInputError("not a price", file=str(path), row=line, column=value,
                                 value=row[value], expected="a number above 0")  # fmt: skip
    product = raw["product"].map(product_of)
    frame = pd.DataFrame({
        "series": raw["product"].str.strip() + " | " + raw["market"].str.strip() + " | " + unit,
        "printed": raw["product"].str.strip(),
        "product": product,
        "market": raw["market"].str.strip(),
        "month": raw[date].str.strip().map(month_of),
        "value": numbers,
    })  # fmt: skip
    return frame


def observed_multiples(quotes: pd.DataFrame) -> tuple[pd.DataFrame, list[str]]:
    """(product, market, month, observed_multiple) and notes: each series over its base,
    then the median over a product's series in a month."""
    import pandas as pd

    notes: list[str] = []
    unmapped = sorted(set(quotes.loc[quotes["product"].isna(), "printed"]))
    if unmapped:
        notes.append("not in the model, left out: " + ", ".join(unmapped))
    frames = []
    for name, part in quotes.dropna(subset=["product"]).groupby("series", sort=False):
        monthly = part.groupby("month")["value"].median().sort_index()
        base, said = _base(monthly)
        if said:
            notes.append(f"{name}: {said}")
        frames.append(pd.DataFrame({
            "product": part["product"].iloc[0], "market": part["market"].iloc[0],
            "month": monthly.index, "observed_multiple": monthly.to_numpy() / base,
        }))  # fmt: skip
    if not frames:
        empty = pd.DataFrame(columns=["product", "market", "month", "observed_multiple"])
        return empty, notes
    joined = pd.concat(frames, ignore_index=True)
    out = joined.groupby(["product", "market", "month"], as_index=False).agg(
        observed_multiple=("observed_multiple", "median")
    )
    return out, notes


def _base(monthly: pd.Series) -> tuple[float, str]:
    """A series' base price and, where it is not the pre-2010 median, what it is instead."""
    for before, said in ((START, ""), (EPISODE, f"no quote before {START}; its base is the "
                                                f"median of those before {EPISODE}")):  # fmt: skip
        quotes = monthly[monthly.index < before]
        if len(quotes):
            return float(quotes.median()), said
    return float(monthly.iloc[0]), (f"no quote before {EPISODE}; its base is its first, "
                                    f"{monthly.index[0]}")  # fmt: skip


def score(paths: pd.DataFrame) -> pd.DataFrame:
    """Per (product, market) with observed multiples, and 'all' (the pooled path errors)."""
    import pandas as pd

    rows, logs = [], []
    for (product, market), part in paths.groupby(["product", "market"], sort=False):
        seen = part.dropna(subset=["observed_multiple"])
        if seen.empty:
            continue
        model = part.set_index("month")["modelled_multiple"]
        obs = seen.set_index("month")["observed_multiple"]
        obs_peak, mod_peak = str(obs.idxmax()), str(model.idxmax())
        decay = obs[obs.index <= DECAY_AT]
        at = str(decay.index[-1]) if len(decay) else str(obs.index[-1])
        err = np.log(model[obs.index].to_numpy(float)) - np.log(obs.to_numpy(float))
        naive = -np.log(obs.to_numpy(float))
        logs.append((err, naive))
        rows.append({
            "product": product, "market": market, "months": len(obs),
            "first_month": str(obs.index[0]), "last_month": str(obs.index[-1]),
            "observed_peak_month": obs_peak, "modelled_peak_month": mod_peak,
            "peak_month_error_months": _months_between(obs_peak, mod_peak),
            "observed_peak_multiple": float(obs[obs_peak]),
            "modelled_peak_multiple": float(model[mod_peak]),
            "peak_multiple_ratio": float(model[mod_peak] / obs[obs_peak]),
            "decay_month": at,
            "observed_share_of_peak": float(obs[at] / obs[obs_peak]),
            "modelled_share_of_peak": float(model[at] / model[mod_peak]),
            "rmse_log": _rms(err), "naive_rmse_log": _rms(naive),
            "beats_naive": bool(_rms(err) < _rms(naive)),
        })  # fmt: skip
    if rows:
        err = np.concatenate([e for e, _ in logs])
        naive = np.concatenate([n for _, n in logs])
        rows.append({"product": "all", "market": "all", "months": len(err),
                     "rmse_log": _rms(err), "naive_rmse_log": _rms(naive),
                     "beats_naive": bool(_rms(err) < _rms(naive))})  # fmt: skip
    out = pd.DataFrame(rows)
    return out.astype({"peak_month_error_months": "Int64"})


def _months_between(first: str, second: str) -> int:
    from rareflow.model.compiled import month_index

    return month_index(second) - month_index(first)


def _rms(x: np.ndarray) -> float:
    return float(np.sqrt(np.mean(np.square(x)))) if len(x) else math.nan


def hindcast(
    until: str = HINDCAST_END,
    observed_path: Path | None = None,
    data_dir: str | Path | None = None,
) -> Hindcast:
    """The model's 2010-``until`` price multiples, scored against ``observed_path``."""
    check_until(until)
    observed, notes = None, list[str]()
    if observed_path is not None:  # read before the run: a bad file fails at once
        observed, notes = observed_multiples(read_prices(Path(observed_path)))
    net, scenario, runs = episode_runs(until, data_dir, ("price", "shipments"))
    paths = paths_of(net, runs)
    fill = quota_fill(net, scenario, runs["both"], calibration_dir() / FILE_NAME)
    if observed is not None:
        paths = paths.merge(observed, on=["product", "market", "month"], how="left")
        late = observed[observed["month"] > until]
        if len(late):
            notes.append(f"{len(late)} observed months after {until} are not scored "
                         "(--until extends the run)")  # fmt: skip
    scores = score(paths) if observed is not None else _no_scores()
    notes += [
        "multiples: the scenario's price over the no-policy 2010 baseline run's (modelled); "
        f"each printed series over the median of its quotes before {START} (observed; the "
        "notes name any series with another base)",
        *filter(None, [fill_note(fill)]),
        *LIMITS,
    ]
    return Hindcast(until, paths, summarize(paths), scores, fill, notes)


def _no_scores() -> pd.DataFrame:
    import pandas as pd

    return pd.DataFrame(columns=["product", "market", "months", "rmse_log", "naive_rmse_log"])
