"""How much of China's export quota its exports filled in the 2010 episode, modelled beside
observed: a check on facts the hindcast may see (the held-out data are the 2010-2015 prices).

Observed, per year, every figure ``crisis_2010_inputs.csv`` gives: the reported utilisation
(``export_quota_utilisation``, percent of quota) and each full-year export total
(``export_actual``) over each annual quota figure (``export_quota_annual_total``); the sources
disagree, so the frame keeps the lowest and the highest. Modelled: China's exports to other
regions of the quota's products in the ``both`` scenario over the quota in force that year
(the relative cut of ``crisis2010.scenarios``), so a share, comparable whatever the scale.

A fill below one means exports fell short of the quota: buyers outside China wanted less
Chinese material than it allowed, and its price had room to fall.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from rareflow.policies import instruments as ins

if TYPE_CHECKING:
    import pandas as pd

    from rareflow.engine.simulate import RawResult
    from rareflow.model.compiled import CompiledNetwork
    from rareflow.scenarios.model import Scenario

FILL_YEARS = (2010, 2011, 2012, 2013)
COLUMNS = ("year", "modelled_exports_t", "modelled_quota_t", "modelled_fill",
           "observed_fill_low", "observed_fill_high", "observed_figures")  # fmt: skip


def observed_fill(path: Path) -> pd.DataFrame:
    """year, observed_fill_low, observed_fill_high, observed_figures (each figure, in words)."""
    import pandas as pd

    rows = pd.read_csv(path, dtype=str, keep_default_na=False)
    out = []
    for year in FILL_YEARS:
        at = rows[rows["year_or_date"] == str(year)]
        figures = [
            (float(r["value"]) / 100.0, f"{float(r['value']):g}% reported ({_site(r)})")
            for _, r in at[at["series"] == "export_quota_utilisation"].iterrows()
        ]
        quotas = at.loc[at["series"] == "export_quota_annual_total", "value"].astype(float)
        for _, r in at[at["series"] == "export_actual"].iterrows():
            for quota in sorted(set(quotas)):
                words = f"{float(r['value']):,.0f} t exported / {quota:,.0f} t quota ({_site(r)})"
                figures.append((float(r["value"]) / quota, words))
        if figures:
            shares = [f for f, _ in figures]
            out.append({"year": year, "observed_fill_low": min(shares),
                        "observed_fill_high": max(shares),
                        "observed_figures": "; ".join(w for _, w in figures)})  # fmt: skip
    return pd.DataFrame(out, columns=list(COLUMNS[:1] + COLUMNS[4:]))


def _site(row: pd.Series) -> str:
    """The source's host, for a short citation."""
    host = str(row["source_url"]).split("//", 1)[-1].split("/", 1)[0]
    return host.removeprefix("www.")


def modelled_fill(net: CompiledNetwork, scenario: Scenario, run: RawResult) -> pd.DataFrame:
    """year, modelled_exports_t, modelled_quota_t, modelled_fill: China's exports of the
    quota's products to other regions over the quota in force, per year the run covers."""
    import pandas as pd

    china = net.regions.index("CHN")
    shipments = run.arrays["shipments"][0]  # (T, P, exporter, importer) t/month
    out = []
    for year in FILL_YEARS:
        months = [t for t, m in enumerate(run.months) if m.startswith(str(year))]
        quota = _quota_in(scenario, year)
        if len(months) < 12 or quota is None:
            continue
        rows = [net.products.index(p) for p in quota.items.products if p in net.products]
        flows = shipments[months][:, rows, china, :]  # (month, product, importer)
        exported = float(flows.sum() - flows[:, :, china].sum())
        out.append({"year": year, "modelled_exports_t": exported,
                    "modelled_quota_t": quota.tonnes_per_year,
                    "modelled_fill": exported / quota.tonnes_per_year})  # fmt: skip
    return pd.DataFrame(out, columns=list(COLUMNS[:4]))


def _quota_in(scenario: Scenario, year: int) -> ins.ExportQuota | None:
    """China's export quota in force for the whole of ``year``."""
    for policy in scenario.policies:
        if isinstance(policy, ins.ExportQuota) and policy.actor == "CHN":
            first, last = str(policy.start), str(policy.end or "9999-12")
            if first <= f"{year}-01" and last >= f"{year}-12":
                return policy
    return None


def quota_fill(
    net: CompiledNetwork, scenario: Scenario, run: RawResult, path: Path
) -> pd.DataFrame:
    """``modelled_fill`` beside ``observed_fill`` for the years the run covers."""
    modelled = modelled_fill(net, scenario, run)
    return modelled.merge(observed_fill(path), on="year", how="left")[list(COLUMNS)]


def fill_note(fill: pd.DataFrame) -> str | None:
    """One line: the modelled fill beside the observed range per year, or None without both."""
    seen = fill.dropna(subset=["observed_fill_low"])
    if seen.empty:
        return None
    years = ", ".join(
        f"{r.year} {r.modelled_fill:.0%} ({r.observed_fill_low:.0%}-{r.observed_fill_high:.0%})"
        for r in seen.itertuples()
    )
    return (
        f"share of China's export quota its exports filled, modelled (observed): {years} "
        "(--csv-table quota_fill). Where the model's quota binds and the real one did not, "
        "buyers outside China wanted less Chinese material than the model's demand response "
        "and substitution give, and its prices there do not fall back"
    )
