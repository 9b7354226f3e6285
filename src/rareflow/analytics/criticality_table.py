"""The EU assessments recomputed from ``criticality_inputs.csv``: one row per material.

eu2017: SR from the published, pre-aggregated HHI_WGI_t (global supply and EU sourcing), IR,
EoL_RIR and SI_SR of the stage the study assessed. eu2023: the file holds country shares and t
for extraction and processing but no WGI scores, so SR needs a WGI table from the user
(``wgi``: country -> scaled WGI 0-10); with one, SR is computed per stage and the bottleneck
(higher SR) kept, as the 2023 study does. EI needs end-use shares by sector and sector value
added, which the file does not hold: it is reported from the published results where there is
one (``EI_basis`` = published); for the rare earths, which have none bundled, it is computed by
the EU formula from the network's end uses (``criticality_ei``, a network is given by default),
and is otherwise missing. Nothing is dropped: a material whose inputs are incomplete is listed
with the reason in ``missing``.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from rareflow.analytics import criticality as crit
from rareflow.analytics import criticality_ei as cei
from rareflow.analytics import criticality_inputs as ci

if TYPE_CHECKING:
    from rareflow.data.network import Network

NO_EI = "EI: no end-use shares by sector or sector value added in the inputs"
NO_WGI = "SR: the 2023 inputs give country shares and t but no WGI scores (pass --wgi FILE)"
# criticality_inputs.csv (Table 19 note): the 2017 study used global supply only for these
GLOBAL_SUPPLY_ONLY = {("EU_CRM_2017", "Scandium")}
_LABELS = {
    "hhi_gs": "HHI_WGI_t (global supply)",
    "hhi_eu": "HHI_WGI_t (EU sourcing)",
    "ir": "IR",
    "eol_rir": "EoL_RIR",
    "si_sr": "SI_SR",
}


def _value(pair: tuple[float, float] | None) -> float:
    return float("nan") if pair is None else pair[0]


def _sr_2017(rows: pd.DataFrame, code: str, material: str) -> dict[str, object]:
    """SR of the assessed stage from pre-aggregated HHI_WGI_t; bounds from the rounding."""
    found = {
        "hhi_gs": ci.parameter(rows, "HHI_WGI_t", "global_supply"),
        "hhi_eu": ci.parameter(rows, "HHI_WGI_t", "EU_sourcing"),
        "ir": ci.parameter(rows, "IR"),
        "eol_rir": ci.parameter(rows, "EoL_RIR"),
        "si_sr": ci.parameter(rows, "SI_SR"),
    }
    gs_only = (code, material) in GLOBAL_SUPPLY_ONLY
    out: dict[str, object] = {
        "supply_scope": "GS" if gs_only else "GS+EU",
        "HHI_WGI_t_GS": _value(found["hhi_gs"]),
        "HHI_WGI_t_EU": _value(found["hhi_eu"]),  # shown even where the study left it out
    }
    if gs_only:
        found["hhi_eu"] = None
    needed = [k for k in found if not (gs_only and k == "hhi_eu")]
    missing = [k for k in needed if found[k] is None]
    if missing:
        names = ", ".join(_LABELS[k] for k in missing)
        out["missing"] = [f"SR: no {names} in the inputs"]
        return out
    values: dict[str, float | None] = {k: None if v is None else v[0] for k, v in found.items()}
    widths = {k: v[1] for k, v in found.items() if v is not None}
    out["SR"] = crit.supply_risk(
        _req(values["hhi_gs"]),
        values["hhi_eu"],
        _req(values["ir"]),
        _req(values["eol_rir"]),
        _req(values["si_sr"]),
    )
    out["SR_low"], out["SR_high"] = crit.supply_risk_bounds(values, widths)
    return out


def _req(value: float | None) -> float:
    assert value is not None  # checked by the caller's missing list
    return value


def _stage_hhi(rows: pd.DataFrame, stage: str, scope: str, wgi: Mapping[str, float]) -> float:
    table = ci.country_table(rows, stage, scope)
    if table.empty:
        return float("nan")
    known = table["country"].isin(list(wgi))
    if not known.all():
        return float("nan")
    return crit.hhi_wgi_t(
        table["share"].to_list(),
        [wgi[c] for c in table["country"]],
        table["t"].fillna(1.0).to_list(),
    )


def _sr_2023(rows: pd.DataFrame, wgi: Mapping[str, float] | None) -> dict[str, object]:
    """Per-stage SR from country shares, WGI and t; the higher stage is the bottleneck."""
    eol, si = ci.parameter(rows, "EoL_RIR"), ci.parameter(rows, "SI_SR")
    absent = [name for name, v in (("EoL_RIR", eol), ("SI_SR", si)) if v is None]
    missing = [f"SR: no {', '.join(absent)} in the inputs"] if absent else []
    if wgi is None:
        missing.append(NO_WGI)
    out: dict[str, object] = {}
    if missing:
        out["missing"] = missing
        return out
    assert eol is not None and si is not None and wgi is not None
    stage_sr = {}
    for stage in ("Extraction", "Processing"):
        ir = ci.parameter(rows, f"IR_{stage.lower()}")
        gs = _stage_hhi(rows, stage, "global_supply", wgi)
        eu = _stage_hhi(rows, stage, "EU_sourcing", wgi)
        if ir is None or np.isnan(gs):
            continue
        hhi_eu = None if np.isnan(eu) else eu
        stage_sr[stage] = crit.supply_risk(gs, hhi_eu, ir[0], eol[0], si[0])
        out[f"SR_{stage.lower()}"] = stage_sr[stage]
    if not stage_sr:
        out["missing"] = ["SR: no stage with shares, WGI for every country and IR"]
        return out
    out["computed_stage"], out["SR"] = crit.bottleneck(stage_sr)
    return out


def _material_row(
    inputs: pd.DataFrame, code: str, material: str, wgi: Mapping[str, float] | None
) -> dict[str, object]:
    rows = inputs.loc[(inputs["assessment"] == code) & (inputs["material"] == material)]
    stages = rows.loc[rows["country"] == "", "stage"]
    row: dict[str, object] = {
        "material": material,
        "assessment": code,
        "stage": stages.iloc[0] if not stages.empty else "",
        "SI_SR": _value(ci.parameter(rows, "SI_SR")),
        "SI_EI": _value(ci.parameter(rows, "SI_EI")),
        "EoL_RIR": _value(ci.parameter(rows, "EoL_RIR")),
    }
    if code == "EU_CRM_2017":
        row["IR"] = _value(ci.parameter(rows, "IR"))
        row.update(_sr_2017(rows, code, material))
    else:
        row["IR_extraction"] = _value(ci.parameter(rows, "IR_extraction"))
        row["IR_processing"] = _value(ci.parameter(rows, "IR_processing"))
        row.update(_sr_2023(rows, wgi))
    return row


def _add_ei_and_verdict(
    frame: pd.DataFrame,
    published: pd.DataFrame,
    sr_threshold: float,
    ei_threshold: float,
    computed: Mapping[str, float] | None = None,
) -> pd.DataFrame:
    frame = frame.join(published, on="material")
    frame["EI"] = frame["published_EI"]
    frame["EI_basis"] = np.where(frame["EI"].notna(), "published", "missing")
    if computed:
        fill = frame["EI"].isna() & frame["material"].isin(list(computed))
        frame.loc[fill, "EI"] = frame.loc[fill, "material"].map(computed)
        frame.loc[fill, "EI_basis"] = cei.BASIS
    frame["meets_SR_threshold"] = [
        None if np.isnan(sr) else bool(sr >= sr_threshold) for sr in frame["SR"]
    ]
    frame["critical"] = [
        crit.is_critical(sr, ei, sr_threshold, ei_threshold)
        for sr, ei in zip(frame["SR"], frame["EI"], strict=True)
    ]
    frame["missing"] = [
        "; ".join([*(m if isinstance(m, list) else []), *([NO_EI] if basis == "missing" else [])])
        for m, basis in zip(frame["missing"], frame["EI_basis"], strict=True)
    ]
    return frame


COLUMNS = [
    "material",
    "assessment",
    "stage",
    "SR",
    "SR_low",
    "SR_high",
    "EI",
    "EI_basis",
    "critical",
    "meets_SR_threshold",
    "published_SR",
    "published_EI",
    "published_stage",
    "IR",
    "IR_extraction",
    "IR_processing",
    "EoL_RIR",
    "SI_SR",
    "SI_EI",
    "HHI_WGI_t_GS",
    "HHI_WGI_t_EU",
    "supply_scope",
    "SR_extraction",
    "SR_processing",
    "computed_stage",
    "missing",
]


def assess(
    assessment: str = "eu2017",
    material: str | None = None,
    *,
    wgi: Mapping[str, float] | None = None,
    inputs_path: str | Path | None = None,
    published_path: str | Path | None = None,
    network: Network | None = None,
) -> pd.DataFrame:
    """SR, EI and the verdict for every material with inputs (or one), published beside them.

    IR, EoL_RIR and SI values are fractions; SR and EI are on the studies' 0-10 scale. With a
    ``network``, the rare earths' EI comes from its end uses where none is published.
    """
    code = ci.check_assessment(assessment)
    inputs = ci.load_inputs(inputs_path)
    names = ci.materials(inputs, code)
    if material is not None:
        names = [ci.check_material(inputs, code, material)]
    published = ci.load_published(published_path)
    frame = pd.DataFrame([_material_row(inputs, code, m, wgi) for m in names])
    frame = frame.reindex(columns=[c for c in COLUMNS if not c.startswith("published_")])
    sr_threshold, ei_threshold = ci.thresholds(published)
    computed = _network_ei(network, frame) if network is not None else None
    frame = _add_ei_and_verdict(
        frame, ci.published_results(published, code), sr_threshold, ei_threshold, computed
    )
    return frame.reindex(columns=COLUMNS)


def _network_ei(network: Network, frame: pd.DataFrame) -> dict[str, float]:
    """material name -> EI from the network's end uses, for the elements it has."""
    if "name" not in network.tables["elements"]:
        return {}
    names = dict(zip(network.tables["elements"]["element"], network.tables["elements"]["name"],
                     strict=True))  # fmt: skip
    si = {
        symbol: float(row["SI_EI"])
        for symbol, name in names.items()
        for _, row in frame[frame["material"] == name].iterrows()
        if not np.isnan(row["SI_EI"])
    }
    ei = cei.network_ei(network, si)
    return {names[e]: float(v) for e, v in zip(ei["element"], ei["EI"], strict=True)}
