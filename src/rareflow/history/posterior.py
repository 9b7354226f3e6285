"""``rareflow calibrate``: the ABC-SMC posterior of the behavioural parameters, its checks and
its bundled sample.

``fit_posterior`` fits the declared parameters (``history/priors.csv``, uniform priors; the
ones the engine does not know are left out) to the four target families of ``targets.py`` with
``abc.abc_smc``, every generation one batch of history runs. The result reports per parameter
the prior, the posterior median and 90% interval, and flags:

- ``at_bound``: 'lower' or 'upper' when over ``PILED`` of the posterior lies in the edge
  ``EDGE`` of the prior range next to that bound (a uniform prior puts 2.5% there);
- ``prior_only``: the posterior's 90% interval is over ``PRIOR_ONLY`` of the prior's: the data
  did not inform the parameter;

warnings when a family has fewer than ``targets.MIN_OBSERVATIONS`` observations or all of them
fewer than two per parameter, and a posterior predictive check: per family, the share of the
observations inside the 90% band of the model over the posterior particles (parameter
uncertainty only, no observation noise).

The sample (particles and weights) is bundled as ``rareflow/data/posterior.csv`` with its
provenance in ``posterior.json`` (window, targets, method, date, git commit, rareflow version,
data hash); scenarios without an ``uncertainty:`` section draw their parameters from it in
Monte Carlo (``load_posterior``).
"""

from __future__ import annotations

import csv
import hashlib
import json
import os
import subprocess
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from functools import lru_cache
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from rareflow.errors import UserInputError
from rareflow.history.abc import ABCResult, Generation, abc_smc, weighted_quantile
from rareflow.history.calibrate import SPECS, Spec
from rareflow.history.targets import FAMILIES, MIN_OBSERVATIONS, inside_band

if TYPE_CHECKING:
    from rareflow.history.simulator import HistorySimulator
    from rareflow.history.targets import Targets

DATA_DIR = Path(__file__).resolve().parent.parent / "data"
POSTERIOR_FILE = DATA_DIR / "posterior.csv"
POSTERIOR_ENV = "RAREFLOW_POSTERIOR"
METHOD = "ABC-SMC (adaptive population Monte Carlo, Lenormand et al. 2013), numpy"
EDGE, PILED = 0.025, 0.25
PRIOR_ONLY = 0.9
QUANTILES = (0.05, 0.5, 0.95)
DATA_FILES = (
    "china_magnet_exports_monthly.csv",
    "china_magnet_exports_by_destination.csv",
    "prices_2025_monthly.csv",
    "licence_approvals_2025.csv",
    "shortage_events_2025.csv",
)


@dataclass
class Posterior:
    specs: list[Spec]
    particles: np.ndarray  # (n, k)
    weights: np.ndarray  # (n,)
    counts: dict[str, int]  # observations per family
    provenance: dict[str, Any]
    ppc: list[dict[str, Any]] = field(default_factory=list)
    generations: list[Generation] = field(default_factory=list)

    @property
    def names(self) -> list[str]:
        return [s.name for s in self.specs]

    def table(self) -> pd.DataFrame:
        rows = []
        for j, s in enumerate(self.specs):
            x = self.particles[:, j]
            p5, p50, p95 = weighted_quantile(x, self.weights, QUANTILES)
            span = s.upper - s.lower
            low = float(self.weights[x <= s.lower + EDGE * span].sum())
            high = float(self.weights[x >= s.upper - EDGE * span].sum())
            ratio = (p95 - p5) / (0.9 * span)
            rows.append({
                "parameter": s.name, "unit": s.unit, "prior_lower": s.lower,
                "prior_upper": s.upper, "median": float(p50), "p5": float(p5), "p95": float(p95),
                "width_ratio": float(ratio),
                "at_bound": "lower" if low > PILED else "upper" if high > PILED else "",
                "prior_only": bool(ratio > PRIOR_ONLY),
            })  # fmt: skip
        return pd.DataFrame(rows)

    def warnings(self) -> list[str]:
        out = []
        few = {f: n for f, n in self.counts.items() if n < MIN_OBSERVATIONS}
        if few:
            listed = ", ".join(f"{f} ({n})" for f, n in few.items())
            out.append(f"too few observations in {listed}: under {MIN_OBSERVATIONS}, these "
                       "families barely inform the fit")  # fmt: skip
        total, k = sum(self.counts.values()), len(self.specs)
        if total < 2 * k:
            out.append(f"too few observations: {total} for {k} parameters (fewer than two each)")
        table = self.table()
        prior = table[table["prior_only"]]["parameter"].tolist()
        if prior:
            out.append("posterior is still the prior (90% interval over "
                       f"{PRIOR_ONLY:.0%} of the prior's) for: {', '.join(prior)}")  # fmt: skip
        piled = table[table["at_bound"] != ""]
        for _, row in piled.iterrows():
            out.append(f"{row['parameter']} is piled at its {row['at_bound']} bound: the prior "
                       "range may be too narrow, or the model lacks a mechanism")  # fmt: skip
        return out

    def ppc_table(self) -> pd.DataFrame:
        return pd.DataFrame(self.ppc)

    def as_dict(self) -> dict[str, Any]:
        return {
            "provenance": self.provenance,
            "parameters": self.table().to_dict(orient="records"),
            "posterior_predictive": self.ppc,
            "generations": [g.__dict__ for g in self.generations],
            "warnings": self.warnings(),
        }


# -- fitting -------------------------------------------------------------------------------------
def specs_for(sim: HistorySimulator, names: Sequence[str] | None = None) -> list[Spec]:
    return [s for s in SPECS if sim.knows(s.name) and (names is None or s.name in names)]


def batch_of(specs: Sequence[Spec], theta: np.ndarray) -> dict[str, np.ndarray]:
    return {s.name: np.ascontiguousarray(theta[:, j]) for j, s in enumerate(specs)}


def fit_posterior(
    *,
    start: str = "2024-01",
    end: str = "2025-09",
    names: Sequence[str] | None = None,
    keep: int = 200,
    alpha: float = 0.5,
    max_generations: int = 8,
    min_acceptance: float = 0.05,
    seed: int = 0,
    family_weights: Mapping[str, float] | None = None,
    simulator: HistorySimulator | None = None,
    targets: Targets | None = None,
    progress: Callable[[int, Generation], None] | None = None,
) -> Posterior:
    """Fit the posterior on the observations in [start, end]."""
    from rareflow.data.network import load_network
    from rareflow.history.simulator import HistorySimulator
    from rareflow.history.targets import Targets

    sim = simulator or HistorySimulator(end, network=load_network(calibrated=False))
    tg = targets or Targets(sim, start, end)
    counts = tg.counts()
    if not sum(counts.values()):
        raise UserInputError(
            "no observations in the window",
            column="--window",
            value=f"{start}:{end}",
            expected="a window holding observed months",
        )
    specs = specs_for(sim, names)
    if not specs:
        raise UserInputError("no parameter to fit", column="--parameters", value=names)
    fw = {**tg.family_weights(), **(family_weights or {})}

    def simulate(theta: np.ndarray) -> np.ndarray:
        return tg.discrepancy(tg.predict(batch_of(specs, theta)))

    res = abc_smc(simulate, [s.lower for s in specs], [s.upper for s in specs], keep=keep,
                  alpha=alpha, max_generations=max_generations, min_acceptance=min_acceptance,
                  family_weights=[fw[f] for f in FAMILIES], seed=seed,
                  progress=progress)  # fmt: skip
    settings = {"keep": keep, "alpha": alpha, "max_generations": max_generations,
                "min_acceptance": min_acceptance, "seed": seed, "family_weights": fw}  # fmt: skip
    post = Posterior(specs, res.particles, res.weights, counts,
                     provenance(start, end, counts, settings, res), generations=res.generations)  # fmt: skip
    post.ppc = predictive_check(tg, post)
    return post


def predictive_check(tg: Targets, post: Posterior) -> list[dict[str, Any]]:
    """Per family: observations, and how many lie inside the 90% posterior predictive band."""
    pred = tg.predict(batch_of(post.specs, post.particles))
    rows = []
    for name in FAMILIES:
        fam, m = tg.families[name], pred[name]
        if not len(fam.observed):
            rows.append({"family": name, "observations": 0, "inside_90": 0, "share_inside": None})
            continue
        ok = np.all(np.isfinite(m), axis=1)
        lo, hi = (np.array([weighted_quantile(m[ok, j], post.weights[ok], [q])[0]
                            for j in range(m.shape[1])]) for q in (0.05, 0.95))  # fmt: skip
        inside = inside_band(fam, lo, hi)
        rows.append({"family": name, "observations": len(fam.observed),
                     "inside_90": int(inside.sum()),
                     "share_inside": float(inside.mean())})  # fmt: skip
    return rows


def provenance(
    start: str, end: str, counts: dict[str, int], settings: dict[str, Any], res: ABCResult
) -> dict[str, Any]:
    from rareflow.version import __version__

    return {
        "window": f"{start}:{end}",
        "targets": counts,
        "method": METHOD,
        "settings": settings,
        "simulations": res.simulations,
        "generations": len(res.generations),
        "final_epsilon": res.generations[-1].epsilon,
        # the per-family normalisers of the distance, so that a point rule can score by it
        "scales": dict(zip(FAMILIES, map(float, res.scales), strict=True)),
        "date": datetime.now(UTC).isoformat(timespec="seconds"),
        "git_commit": git_commit(),
        "rareflow_version": __version__,
        "data_sha256": data_hash(),
    }


def git_commit() -> str | None:
    try:
        out = subprocess.run(["git", "rev-parse", "HEAD"], cwd=Path(__file__).parent,
                             capture_output=True, text=True, timeout=10, check=True)  # fmt: skip
    except (OSError, subprocess.SubprocessError):
        return None
    dirty = subprocess.run(["git", "status", "--porcelain", "--untracked-files=no", "--", ":/src"], cwd=Path(__file__).parent,
                           capture_output=True, text=True, timeout=10).stdout.strip()  # fmt: skip
    return out.stdout.strip() + ("+dirty" if dirty else "")


def data_hash() -> str:
    """sha256 over the calibration tables read (in the calibration directory)."""
    from rareflow.data.reference import calibration_dir

    digest = hashlib.sha256()
    for name in DATA_FILES:
        path = calibration_dir() / name
        if path.exists():
            digest.update(name.encode() + b"\0" + path.read_bytes())
    return digest.hexdigest()


# -- writing and reading the sample --------------------------------------------------------------
def meta_path(path: Path) -> Path:
    return path.with_suffix(".json")


def write_posterior(post: Posterior, path: Path = POSTERIOR_FILE) -> Path:
    """The particles (weight, then one column per parameter) and, beside them, the provenance
    and the table (``.json``); both written atomically."""
    from rareflow.data.files import atomic_path

    with atomic_path(path) as tmp, tmp.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(["weight", *post.names])
        for w, row in zip(post.weights, post.particles, strict=True):
            writer.writerow([f"{w:.6g}", *(f"{v:.6g}" for v in row)])
    with atomic_path(meta_path(path)) as tmp:
        tmp.write_text(json.dumps(post.as_dict(), indent=2, default=str) + "\n", encoding="utf-8")
    return path


def read_stored(path: Path = POSTERIOR_FILE) -> Posterior:
    """The stored sample with its provenance as a ``Posterior`` (specs from ``history/priors.csv``
    by the columns' names), to derive a point from without refitting."""
    meta = meta_path(path)
    sample = load_posterior(path)
    if sample is None or not meta.exists():
        raise UserInputError("no stored posterior", file=str(path),
                             hint="`rareflow calibrate` fits and stores one")  # fmt: skip
    stored = json.loads(meta.read_text(encoding="utf-8"))
    by_name = {s.name: s for s in SPECS}
    unknown = [n for n in sample.names if n not in by_name]
    if unknown:
        raise UserInputError("a posterior column is no calibration parameter", file=str(path),
                             field=unknown[0], expected="a name in history/priors.csv")  # fmt: skip
    prov = stored.get("provenance", {})
    return Posterior([by_name[n] for n in sample.names], sample.values, sample.weights,
                     dict(prov.get("targets", {})), prov, ppc=stored.get("posterior_predictive", []),
                     generations=[Generation(**g) for g in stored.get("generations", [])])  # fmt: skip


def record_point_rule(rule: str, path: Path = POSTERIOR_FILE) -> None:
    """Say in the stored sample's provenance which point of it single runs use
    (``history.point``: ``rareflow calibrate --point``)."""
    from rareflow.data.files import atomic_path

    meta = meta_path(path)
    stored = json.loads(meta.read_text(encoding="utf-8"))
    stored.setdefault("provenance", {})["point_rule"] = rule
    with atomic_path(meta) as tmp:
        tmp.write_text(json.dumps(stored, indent=2, default=str) + "\n", encoding="utf-8")


@dataclass
class Sample:
    """A posterior sample to draw parameter sets from (jointly, by weight)."""

    names: list[str]
    values: np.ndarray  # (n, k)
    weights: np.ndarray  # (n,) summing to 1
    skipped: list[str]  # names in the file the model does not know
    note: str

    def draw(self, u: np.ndarray) -> dict[str, np.ndarray]:
        """Parameter arrays (D,) for uniforms ``u`` (D,): the particle at each u on the
        weights' cumulative sum."""
        cum = np.cumsum(self.weights)
        idx = np.minimum(np.searchsorted(cum, u * cum[-1], side="right"), len(cum) - 1)
        return {n: self.values[idx, j].copy() for j, n in enumerate(self.names)}

    def marginal(self, name: str) -> dict[str, Any]:
        """The weighted marginal of one parameter as a ``choice`` distribution (sorted)."""
        j = self.names.index(name)
        order = np.argsort(self.values[:, j], kind="stable")
        return {"dist": "choice", "values": self.values[order, j].tolist(),
                "weights": self.weights[order].tolist()}  # fmt: skip


def load_posterior(
    path: Path = POSTERIOR_FILE, known: Sequence[str] | set[str] | None = None
) -> Sample | None:
    """The bundled (or given) posterior sample, None if there is none. Columns the model does
    not know (``known``) are skipped and listed in ``Sample.skipped``; a malformed file is a
    user error naming it."""
    if not path.exists():
        return None
    try:
        frame = pd.read_csv(path)
        weights = frame.pop("weight").to_numpy(float)
        values = frame.to_numpy(float)
    except (KeyError, ValueError, pd.errors.ParserError) as exc:
        raise UserInputError(f"not a posterior sample: {exc}", file=str(path),
                             expected="columns weight, then one per parameter") from None  # fmt: skip
    if not len(frame) or not np.all(np.isfinite(values)) or not (weights >= 0).all():
        raise UserInputError("not a posterior sample: empty, or values not finite", file=str(path))
    names = [str(c) for c in frame.columns]
    keep = [j for j, n in enumerate(names) if known is None or n in known]
    skipped = [n for n in names if known is not None and n not in known]
    meta = meta_path(path)
    note = ""
    if meta.exists():
        prov = json.loads(meta.read_text(encoding="utf-8")).get("provenance", {})
        note = (f"calibrated posterior ({prov.get('method', '?')}), window "
                f"{prov.get('window', '?')}, {prov.get('date', '?')[:10]}, model commit "
                f"{prov.get('git_commit', '?')}")  # fmt: skip
    return Sample([names[j] for j in keep], values[:, keep], weights / weights.sum(), skipped,
                  note)  # fmt: skip


def posterior_path() -> Path | None:
    """The posterior sample scenarios draw from: ``$RAREFLOW_POSTERIOR`` (a CSV written by
    ``rareflow calibrate --out``-style ``write_posterior``; 'none' turns it off), else the
    bundled one."""
    env = os.environ.get(POSTERIOR_ENV)
    if env is None:
        return POSTERIOR_FILE
    return None if env.strip().lower() in ("", "none") else Path(env).expanduser()


def load_bundled(known: tuple[str, ...] | None = None) -> Sample | None:
    """``load_posterior`` of ``posterior_path()`` (None if there is none), cached per file
    version and set of known names."""
    path = posterior_path()
    if path is None or not path.exists():
        return None
    return _cached(str(path), path.stat().st_mtime_ns, known)


@lru_cache(maxsize=8)
def _cached(path: str, _version: int, known: tuple[str, ...] | None) -> Sample | None:
    return load_posterior(Path(path), None if known is None else set(known))


def has_posterior() -> bool:
    path = posterior_path()
    return path is not None and path.exists()
