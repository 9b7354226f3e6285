"""The ``history`` scenario: 2024-01 to a chosen month, driven only by the timeline.

Its policies are the timeline's instruments in force in the window. Licences the timeline marks
``calibrated`` follow one global approval path instead of their fixed share: nothing is
approved for ``licence_lead_time_months`` (L), then the approved share rises linearly over
``licence_ramp_months`` (R) to ``licence_approval_share`` (a):

    share(k) = a * clip((k + 1 - L) / R, 0, 1) * decided(k),   k = months since entry

where decided(k) is the share of the month's applications whose review is done
(``policies.context.review_decided``): applications arrive each month and each review ends
within ``licence_review_working_days``, spread over it by ``licence_review_spread``. Bundled:
0 days (the fitted lead time and ramp carry the review; MOFCOM's statutory 45 working days
fit the 2025 exports worse, ``docs/history.md``).

In the licence's first month ``licence_entry_leakage_share`` (e) of the month's would-be
exports leaves unlicensed besides, ``e + (1 - e) share(0)`` (declared before the controls, or
not yet caught by them): China's magnet exports in April 2025 were still half of March's,
seven weeks before the first approval (SMM, 24 May 2025). e = 0 leaves the path as it was.

L and R may be fractional (a partial first month). The engine applies one approval share per
measure and month, so such a licence is split into monthly segments (``<id>~<k>``) whose
shares can differ per draw (``values``), which lets calibration try many paths in one run.
No per-month shock and no observed figure enter the scenario.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping, Sequence

import numpy as np

from rareflow.history.parameters import LICENCE_NAMES, engine_overrides, licence_parameters
from rareflow.history.stockpiles import national_stockpiles
from rareflow.history.timeline import calibrated_licences, policies
from rareflow.model.compiled import month_index, month_label
from rareflow.policies import instruments as ins
from rareflow.policies.context import approval_path, review_decided
from rareflow.policies.instruments import Policy
from rareflow.scenarios.model import Scenario

HISTORY_START = "2024-01"
SEGMENTS = 24  # months of explicit ramp segments; the last one runs to the licence's end
ENTRY_LEAKAGE = "licence_entry_leakage_share"


def _ramp_start(licence: ins.ExportLicense, suspensions: Sequence[ins.Suspension]) -> int:
    """First month the licence applies: after any suspension that covers its start."""
    start = month_index(licence.start)
    for s in suspensions:
        ends = month_index(s.end) if s.end else 10**9
        if licence.id in s.policies and month_index(s.start) <= start <= ends:
            start = ends + 1
    return start


def _segments(licence: ins.ExportLicense, start: int) -> list[ins.ExportLicense]:
    end = month_index(licence.end) if licence.end else None
    out = []
    for k in range(SEGMENTS):
        month = start + k
        if end is not None and month > end:
            break
        last = k == SEGMENTS - 1
        seg_end = licence.end if last else month_label(month)
        out.append(
            licence.model_copy(
                update={
                    "id": f"{licence.id}~{k}",
                    "start": month_label(month),
                    "end": seg_end,
                    "lead_time_months": 0,
                }
            )
        )
    return out


def history_policies(
    end: str,
    start: str = HISTORY_START,
    without: Collection[str] = (),
    extra: Sequence[Policy] = (),
) -> tuple[list[Policy], dict[str, int]]:
    """The window's instruments with calibrated licences split; segment id -> month k.
    ``without``: ids left out, ``extra``: instruments added, before the split (a deal's
    terms, ``rareflow.deals``: a suspension then delays a licence's ramp as Ann. 70 does)."""
    standing = [*policies(start, end), *national_stockpiles(start)]
    window = [p for p in standing if p.id not in without] + list(extra)
    calibrated = calibrated_licences()
    suspensions = [p for p in window if isinstance(p, ins.Suspension)]
    out: list[Policy] = []
    months: dict[str, int] = {}
    renamed: dict[str, list[str]] = {}
    for policy in window:
        if isinstance(policy, ins.ExportLicense) and policy.id in calibrated:
            segments = _segments(policy, _ramp_start(policy, suspensions))
            renamed[policy.id] = [s.id for s in segments]
            months.update({s.id: k for k, s in enumerate(segments)})
            out.extend(segments)
        else:
            out.append(policy)
    for n, policy in enumerate(out):
        if isinstance(policy, ins.Suspension):
            ids = [i for p in policy.policies for i in renamed.get(p, [p])]
            out[n] = policy.model_copy(update={"policies": ids})
    return out, months


def licence_values(
    months: Mapping[str, int], licence: Mapping[str, np.ndarray | float]
) -> dict[str, np.ndarray]:
    """Per-draw shares of every segment's would-be exports that leave,
    ``{"<segment>.approval_share": (D,)}``: the approval path, and in the licence's first
    month ``licence_entry_leakage_share`` of the month's exports unlicensed besides (declared
    before the controls, or not yet caught by them; default 0)."""
    lead = np.atleast_1d(np.asarray(licence["licence_lead_time_months"], dtype=float))
    ramp = np.atleast_1d(np.asarray(licence["licence_ramp_months"], dtype=float))
    share = np.atleast_1d(np.asarray(licence["licence_approval_share"], dtype=float))
    days = np.atleast_1d(np.asarray(licence.get("licence_review_working_days", 0.0), dtype=float))
    spread = np.atleast_1d(np.asarray(licence.get("licence_review_spread", 0.0), dtype=float))
    leak = np.atleast_1d(np.asarray(licence.get(ENTRY_LEAKAGE, 0.0), dtype=float))
    out = {}
    for seg, k in months.items():
        approved = approval_path(float(k), lead, ramp, share) * review_decided(
            k, days, np.inf, spread
        )
        out[f"{seg}.approval_share"] = leak + (1.0 - leak) * approved if k == 0 else approved
    return out


def history_scenario(
    end: str,
    parameters: Mapping[str, float] | None = None,
    start: str = HISTORY_START,
    without: Collection[str] = (),
    extra: Sequence[Policy] = (),
) -> Scenario:
    """The history scenario with scalar parameters (stored fit, else priors) baked in.

    ``parameters`` may hold engine parameters and the ``licence_*`` ones; missing names fall
    back to the stored calibration, then to the dataset's values and the licence priors.
    """
    given = dict(parameters or {})
    licence = {**licence_parameters(), **{k: v for k, v in given.items() if k in LICENCE_NAMES}}
    engine = {**engine_overrides(), **{k: v for k, v in given.items() if k not in LICENCE_NAMES}}
    pols, months = history_policies(end, start, without, extra)
    shares = licence_values(months, licence)
    pols = [
        p.model_copy(update={"approval_share": float(shares[f"{p.id}.approval_share"][0])})
        if p.id in months
        else p
        for p in pols
    ]
    horizon = month_index(end) - month_index(start) + 1
    return Scenario(
        name="history",
        description=f"The policy timeline from {start} to {end}, with global behavioural "
        "parameters only (calibrated where stored).",
        start=start,
        months=horizon,
        parameters=engine,
        policies=pols,
    )


def history_to_last_month() -> Scenario:
    """`history`: 2024-01 to last month from the 2010-2026 timeline and the calibrated global
    parameters only (what ``load_scenario("history")`` returns)."""
    from datetime import UTC, datetime

    today = datetime.now(UTC)
    last = f"{today.year - (today.month == 1):04d}-{(today.month - 2) % 12 + 1:02d}"
    return history_scenario(last)
