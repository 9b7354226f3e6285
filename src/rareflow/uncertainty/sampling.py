"""From an ``uncertainty:`` section to per-draw engine inputs, reproducibly.

Every draw's uniforms come from ``(seed, stream index)`` (numpy ``SeedSequence`` spawn keys)
for fixed streams of ``STREAM`` draws, so draw i gets the same numbers whatever the number of
draws, the executor or its chunk size. Uniforms map to values by each distribution's inverse
CDF, which also serves the sensitivity designs (SALib samples the unit cube).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np

from rareflow.engine.parameters import ParamValue
from rareflow.model.compiled import month_index
from rareflow.policies import instruments as ins
from rareflow.policies.context import review_decided
from rareflow.scenarios.model import Scenario
from rareflow.scenarios.uncertainty import ATTRIBUTES, TIMING, Distribution

STREAM = 256  # draws per random stream
POSTERIOR = "posterior draw"  # the factor that picks a posterior particle (one uniform)
# draws per engine call and per statistics fold; fixed so that results never depend on
# chunking. Two streams: the month's policy effects and statistics calls cost the same for
# any number of draws, so a larger block spreads them thinner (5% of a run at 512).
BLOCK = 2 * STREAM
FAR = 10**9  # 'no end' month


@dataclass(frozen=True)
class Factor:
    """One uncertain input: a parameter, a policy attribute, a timing, or a probability."""

    name: str  # 'demand_elasticity' or '<policy id>.<attribute>'
    kind: str  # 'parameter' | 'attribute' | 'timing' | 'probability' | 'posterior'
    dist: Distribution | None  # None for 'probability' (Bernoulli)
    probability: float = 1.0
    policy: str = ""
    attribute: str = ""


def factors(scenario: Scenario) -> list[Factor]:
    """The scenario's uncertain inputs, in the section's order (one uniform column each)."""
    spec = scenario.uncertainty
    out = [Factor(POSTERIOR, "posterior", None)] if spec.posterior else []
    out += [Factor(n, "parameter", d) for n, d in spec.parameters.items()]
    for pid, pu in spec.policies.items():
        if pu.probability < 1.0:
            out.append(Factor(f"{pid}.probability", "probability", None, pu.probability, pid))
        for attr, dist in pu.distributions().items():
            kind = "timing" if attr in TIMING else "attribute"
            out.append(Factor(f"{pid}.{attr}", kind, dist, 1.0, pid, attr))
    return out


def ppf(dist: Distribution, u: np.ndarray) -> np.ndarray:
    """Values at cumulative probabilities ``u`` (inverse CDF); normal/lognormal clipped to
    low/high when given. The same arithmetic as ``scipy.stats``' ppf methods (bitwise), from
    ``scipy.special``: importing ``scipy.stats`` takes longer than a block of draws."""
    from scipy import special

    lo = -np.inf if dist.low is None else dist.low
    hi = np.inf if dist.high is None else dist.high
    if dist.dist == "uniform":
        return lo + u * (hi - lo)
    if dist.dist == "triangular":
        assert dist.mode is not None
        c = (dist.mode - lo) / (hi - lo)
        x = np.where(u < c, np.sqrt(c * u), 1.0 - np.sqrt((1.0 - c) * (1.0 - u)))
        return lo + (hi - lo) * x
    if dist.dist == "beta":
        x = np.asarray(special.betaincinv(dist.a, dist.b, u))
        return x if dist.low is None or dist.high is None else lo + x * (hi - lo)
    if dist.dist == "choice":
        assert dist.values is not None
        w = np.asarray(dist.weights or [1.0] * len(dist.values), dtype=float)
        cum = np.cumsum(w) / w.sum()
        idx = np.minimum(np.searchsorted(cum, u, side="right"), len(cum) - 1)
        return np.asarray(dist.values, dtype=float)[idx]
    assert dist.sd is not None and dist.mean is not None
    z = np.asarray(special.ndtri(u)) * dist.sd + dist.mean
    return np.clip(np.exp(z) if dist.dist == "lognormal" else z, lo, hi)


def stream_uniforms(seed: int, stream: int, n: int, k: int) -> np.ndarray:
    """(n, k) uniforms of stream ``stream`` (draws stream*STREAM ...); n <= STREAM."""
    rng = np.random.default_rng(np.random.SeedSequence(seed, spawn_key=(stream,)))
    return rng.random((n, k))


def uniforms(seed: int, lo: int, hi: int, k: int) -> np.ndarray:
    """(hi - lo, k) uniforms of draws [lo, hi); ``lo`` must start a stream."""
    assert lo % STREAM == 0, "chunks start on a stream boundary"
    parts = [
        stream_uniforms(seed, b, min(STREAM, hi - b * STREAM), k)
        for b in range(lo // STREAM, -(-hi // STREAM))
    ]
    return np.concatenate(parts) if parts else np.zeros((0, k))


# -- per-draw engine inputs ----------------------------------------------------------------------
@dataclass
class DrawInputs:
    """What the engine needs for a batch of draws."""

    scenario: Scenario  # timings widened when they vary per draw
    parameters: dict[str, np.ndarray]  # name -> (D,)
    values: dict[str, np.ndarray]  # '<id>.<attr>' -> (D,) or (D, T)


def needs_timing(scenario: Scenario) -> bool:
    """Whether any policy's occurrence or dates vary per draw."""
    return any(f.kind in ("timing", "probability") for f in factors(scenario))


def draw_inputs(
    scenario: Scenario,
    u: np.ndarray,
    months: int | None = None,
    base: Mapping[str, ParamValue] | None = None,
) -> DrawInputs:
    """Engine inputs for draws whose uniforms are ``u`` (D, len(factors)); ``base``: the
    resolved parameters (for licence attributes written ``calibrated``)."""
    fs = factors(scenario)
    sampled = {f.name: _sample(f, u[:, i]) for i, f in enumerate(fs) if f.kind != "posterior"}
    params = {
        name: value
        for i, f in enumerate(fs)
        if f.kind == "posterior"
        for name, value in posterior_draws(u[:, i], base).items()
        if name not in scenario.parameters  # a scenario's own fixed value wins
    }
    params.update({f.name: sampled[f.name] for f in fs if f.kind == "parameter"})
    values = {f.name: sampled[f.name] for f in fs if f.kind == "attribute"}
    if not needs_timing(scenario):
        return DrawInputs(scenario, params, values)
    horizon = months or scenario.months
    calibration = {**(base or {}), **params}
    return _timed(scenario, sampled, values, params, len(u), horizon, calibration)


def posterior_draws(
    u: np.ndarray, base: Mapping[str, ParamValue] | None = None
) -> dict[str, np.ndarray]:
    """Parameter sets (D,) of the bundled posterior's particles at uniforms ``u``, jointly
    (by weight); only names in ``base`` (the model's parameters) where given."""
    from rareflow.history.posterior import load_bundled

    sample = load_bundled(None if base is None else tuple(sorted(base)))
    return {} if sample is None else sample.draw(u)


def _sample(f: Factor, u: np.ndarray) -> np.ndarray:
    if f.kind == "probability":
        return (u < f.probability).astype(float)
    assert f.dist is not None
    x = ppf(f.dist, u)
    if f.kind == "attribute":
        lo, hi = ATTRIBUTES_BOUNDS.get(f.attribute, (-np.inf, np.inf))
        x = np.clip(x, lo, hi)
    return np.rint(x) if f.kind == "timing" else x


ATTRIBUTES_BOUNDS = {a: b for attrs in ATTRIBUTES.values() for a, b in attrs.items()}


def _timed(
    scenario: Scenario,
    sampled: dict[str, np.ndarray],
    values: dict[str, np.ndarray],
    params: dict[str, np.ndarray],
    n: int,
    horizon: int,
    calibration: Mapping[str, ParamValue],
) -> DrawInputs:
    """Per-draw windows: each measure stays in the plan for the whole horizon (no lead time)
    and per-draw ``<id>.active`` (D, T) masks and lead-time-zeroed approvals do the timing."""
    pols = list(scenario.policies)
    first = month_index(scenario.start)
    active, age = windows(pols, sampled, n, first, horizon)
    out = {k: np.asarray(v, dtype=float) for k, v in values.items()}
    kept: list[ins.Instrument] = []
    for j, p in enumerate(pols):
        if p.suspends():
            continue  # a suspension acts through the masks
        out[f"{p.id}.active"] = active[:, j]
        update: dict[str, object] = {"start": min(p.start, scenario.start), "end": None}
        if isinstance(p, ins.Licensed):
            out[f"{p.id}.approval_share"] = _approved(p, age[:, j], out, calibration, n)
            update.update(
                approval_share=0.0,
                lead_time_months=0.0,
                ramp_months=0.0,
                review_working_days=0.0,
                review_spread=0.0,
                review_capacity=None,
            )
            for name in ("lead_time_months", "ramp_months", "review_working_days", "review_spread"):
                out.pop(f"{p.id}.{name}", None)
            out.pop(f"{p.id}.review_capacity", None)
        if isinstance(p, ins.CapacityInvestment):
            out[f"{p.id}.tonnes_per_year"] = _ramped(p, sampled, out, n, first, horizon, update)
        kept.append(p.model_copy(update=update))
    return DrawInputs(scenario.model_copy(update={"policies": kept}), params, out)


def _approved(
    p: ins.Licensed,
    age: np.ndarray,
    values: dict[str, np.ndarray],
    calibration: Mapping[str, ParamValue],
    n: int,
) -> np.ndarray:
    """(D, T) share approved: none in the lead time, then a linear ramp (the engine's
    ``approved_share`` on each draw's own months since entry)."""

    def attr(name: str) -> np.ndarray:
        if f"{p.id}.{name}" in values:
            return values[f"{p.id}.{name}"]
        raw = getattr(p, name)
        if raw == ins.CALIBRATED:
            raw = calibration[ins.CALIBRATED_PARAMETERS[name]]
        return np.broadcast_to(np.asarray(raw, dtype=float), (n,))

    lead, ramp = attr("lead_time_months"), np.maximum(attr("ramp_months"), 1e-9)
    rise = np.clip((age + 1.0 - lead[:, None]) / ramp[:, None], 0.0, 1.0)
    given = values.get(f"{p.id}.review_capacity")
    fixed = np.inf if p.review_capacity is None else p.review_capacity
    capacity = np.asarray(fixed if given is None else given, dtype=float)
    days = attr("review_working_days")
    if np.all(days == 0.0) and np.all(np.isinf(capacity)):
        return attr("approval_share")[:, None] * rise
    ages = np.clip(np.asarray(age), 0, None).astype(int)
    spread = attr("review_spread")
    decided = review_decided(ages, days, np.broadcast_to(capacity, (n,)), spread)
    return attr("approval_share")[:, None] * rise * decided


def _ramped(
    p: ins.CapacityInvestment,
    sampled: dict[str, np.ndarray],
    values: dict[str, np.ndarray],
    n: int,
    first: int,
    horizon: int,
    update: dict[str, object],
) -> np.ndarray:
    """(D, T) tonnes that, on the plan's widened ramp, give each draw its own shifted ramp."""
    from rareflow.policies.context import ramp_share

    months = np.arange(first, first + horizon)
    start = month_index(p.start) + sampled.get(f"{p.id}.start_shift_months", np.zeros(n))
    own = ramp_share(months[None, :] - start[:, None], p.ramp_months)
    plan = ramp_share(months - month_index(str(update["start"])), p.ramp_months)
    tonnes = values.get(f"{p.id}.tonnes_per_year", np.full(n, p.tonnes_per_year))
    return tonnes[:, None] * np.divide(own, plan, out=np.zeros_like(own), where=plan > 0)


def windows(
    policies: Sequence[ins.Instrument], sampled: dict[str, np.ndarray], n: int, first: int, T: int
) -> tuple[np.ndarray, np.ndarray]:
    """(D, N, T) in force and months since (re)entry, per draw (the engine's ``_windows``
    with per-draw occurrence, start shift and duration)."""
    starts, ends, happens = _dates(policies, sampled, n)
    span = np.arange(min(int(starts.min()), first), first + T)
    win = (span >= starts[..., None]) & (span <= ends[..., None]) & happens[..., None]
    on = win.copy()
    ids = [p.id for p in policies]
    for j, p in enumerate(policies):
        for target in p.suspends():
            if target in ids:
                on[:, ids.index(target)] &= ~win[:, j]
    age = np.zeros(on.shape, dtype=int)
    for t in range(1, len(span)):
        age[..., t] = np.where(on[..., t - 1], age[..., t - 1] + 1, 0)
    cols = np.arange(first, first + T) - span[0]
    return on[..., cols], age[..., cols]


def _dates(
    policies: Sequence[ins.Instrument], sampled: dict[str, np.ndarray], n: int
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(D, N) start, end (inclusive) and occurrence of each measure per draw."""
    starts = np.empty((n, len(policies)), dtype=int)
    ends = np.empty_like(starts)
    happens = np.ones(starts.shape, dtype=bool)
    for j, p in enumerate(policies):
        shift = sampled.get(f"{p.id}.start_shift_months", np.zeros(n)).astype(int)
        starts[:, j] = month_index(p.start) + shift
        end = month_index(p.end) + shift if p.end else np.full(n, FAR)
        duration = sampled.get(f"{p.id}.duration_months")
        ends[:, j] = end if duration is None else starts[:, j] + duration.astype(int) - 1
        happens[:, j] = sampled.get(f"{p.id}.probability", np.ones(n)) > 0.5
    return starts, ends, happens
