"""Reading the EU criticality inputs and published results (bundled in ``data/reference``).

``criticality_inputs.csv`` is long: one row per assessment, material, stage, scope, country and
parameter. 2017 rows give HHI_WGI_t pre-aggregated per scope (0-10); 2023 rows give country
shares (percent, "<0.1%" for tiny producers) and the trade variable t but no WGI scores.
Each value keeps the half-width of its rounding (half a unit of its last printed digit), so a
computed result can be bracketed by what the rounded inputs allow.
"""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path

import pandas as pd

from rareflow.data.reference import calibration_dir
from rareflow.errors import UserInputError

INPUTS_FILE = "criticality_inputs.csv"
PUBLISHED_FILE = "criticality_published_non_ree.csv"
ASSESSMENTS = {"eu2017": "EU_CRM_2017", "eu2023": "EU_CRM_2023"}
PERCENT_PARAMETERS = ("IR", "IR_extraction", "IR_processing", "EoL_RIR", "share")


def _path(path: str | Path | None, name: str) -> Path:
    resolved = Path(path) if path is not None else calibration_dir() / name
    if not resolved.exists():
        raise UserInputError("file not found", file=str(resolved))
    return resolved


def parse_value(text: str) -> tuple[float, float]:
    """A printed number and the half-width of its rounding; "<0.1%" is 0.05 +- 0.05."""
    raw = str(text).strip().rstrip("%")
    if raw.startswith("<"):
        bound = float(raw[1:])
        return bound / 2, bound / 2
    value = float(raw)
    decimals = len(raw.split(".")[1]) if "." in raw else 0
    return value, 0.5 * 10.0**-decimals


def _spelling(names: pd.Series) -> str:
    """Sentence case where the file has it ("Natural graphite"), else the commonest ("LREE")."""
    sentence = [n for n in names.unique() if n[1:] == n[1:].lower()]
    return sentence[0] if sentence else str(names.value_counts().index[0])


def _canonical_names(materials: pd.Series) -> pd.Series:
    # the file spells one material two ways ("Natural graphite", "Natural Graphite")
    key = materials.str.lower()
    return key.map(materials.groupby(key).agg(_spelling))


@lru_cache(maxsize=4)
def _read_inputs(path: Path) -> pd.DataFrame:
    frame = pd.read_csv(path, dtype=str, keep_default_na=False)
    parsed = frame["value"].map(parse_value)
    frame["number"] = [v for v, _ in parsed]
    frame["half_width"] = [h for _, h in parsed]
    percent = frame["parameter"].isin(PERCENT_PARAMETERS)
    frame.loc[percent, ["number", "half_width"]] /= 100.0  # percent -> fraction
    frame["material"] = _canonical_names(frame["material"])
    frame["scope"] = frame["scope"].replace({"n/a": ""})
    return frame


def load_inputs(path: str | Path | None = None) -> pd.DataFrame:
    """All input rows with ``number`` (fractions for percentages) and ``half_width``."""
    return _read_inputs(_path(path, INPUTS_FILE)).copy()


def load_published(path: str | Path | None = None) -> pd.DataFrame:
    frame = pd.read_csv(_path(path, PUBLISHED_FILE), dtype={"value": float})
    frame["material"] = _canonical_names(frame["material"])
    return frame


def check_assessment(name: str) -> str:
    """The file's assessment code for a CLI name (eu2017, eu2023)."""
    if name not in ASSESSMENTS:
        raise UserInputError("unknown assessment", value=name, expected=", ".join(ASSESSMENTS))
    return ASSESSMENTS[name]


def materials(inputs: pd.DataFrame, code: str) -> list[str]:
    return sorted(inputs.loc[inputs["assessment"] == code, "material"].unique())


def check_material(inputs: pd.DataFrame, code: str, material: str) -> str:
    known = materials(inputs, code)
    match = [m for m in known if m.lower() == material.strip().lower()]
    if not match:
        raise UserInputError("unknown material", value=material, expected=", ".join(known))
    return match[0]


def thresholds(published: pd.DataFrame) -> tuple[float, float]:
    """(SR, EI) thresholds from the 2017 methodology rows (kept by the 2020 and 2023 studies)."""
    rows = published.loc[published["assessment"] == "EU_CRM_2017_methodology"]
    values = rows.set_index("metric")["value"]
    return float(values["threshold_SR"]), float(values["threshold_EI"])


def published_results(published: pd.DataFrame, code: str) -> pd.DataFrame:
    """Published SR and EI per material for one assessment (first row where repeated)."""
    rows = published.loc[(published["assessment"] == code) & published["metric"].isin(["SR", "EI"])]
    wide = rows.drop_duplicates(["material", "metric"]).pivot(
        index="material", columns="metric", values="value"
    )
    rows = published.loc[published["assessment"] == code]
    stage = rows["source_note"].str.extract(r"stage(?: assessed)?=(\w+)", expand=False)
    wide["published_stage"] = stage.groupby(rows["material"]).first()  # first note naming it
    return wide.rename(columns={"SR": "published_SR", "EI": "published_EI"}).rename_axis(None)


def parameter(rows: pd.DataFrame, name: str, scope: str = "") -> tuple[float, float] | None:
    """(value, half-width) of one aggregate parameter, or None when the file lacks it."""
    hit = rows.loc[(rows["parameter"] == name) & (rows["scope"] == scope) & (rows["country"] == "")]
    if hit.empty:
        return None
    return float(hit["number"].iloc[0]), float(hit["half_width"].iloc[0])


def country_table(rows: pd.DataFrame, stage: str, scope: str) -> pd.DataFrame:
    """Country, share (fraction) and t for one stage and scope (2023 rows)."""
    sub = rows.loc[(rows["stage"] == stage) & (rows["scope"] == scope) & (rows["country"] != "")]
    wide = sub.pivot_table(index="country", columns="parameter", values="number", aggfunc="first")
    for column in ("share", "t"):
        if column not in wide:
            wide[column] = float("nan")
    return wide[["share", "t"]].rename_axis(None, axis=1).reset_index()


def load_wgi(path: str | Path) -> dict[str, float]:
    """A user's scaled WGI table: a name column (country or region) and ``wgi`` (0-10)."""
    file = _path(path, "")
    frame = pd.read_csv(file, dtype=str, keep_default_na=False)
    names = [c for c in ("country", "region") if c in frame.columns]
    if not names or "wgi" not in frame.columns:
        raise UserInputError(
            "the WGI file needs a 'country' or 'region' column and a 'wgi' column",
            file=str(file),
            value=list(frame.columns),
        )
    scores = pd.to_numeric(frame["wgi"], errors="coerce")
    bad = frame.index[scores.isna() | (scores < 0) | (scores > 10)]
    if len(bad):
        row = int(bad[0])
        raise UserInputError(
            "scaled WGI must be a number in [0, 10]",
            file=str(file),
            row=row + 2,  # header is line 1
            column="wgi",
            value=frame.at[row, "wgi"],
        )
    return dict(zip(frame[names[0]].str.strip(), scores.astype(float), strict=True))
