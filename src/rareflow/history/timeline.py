"""The policy timeline 2010-2026 as data: each event with its source and typed instruments.

``timeline.yaml`` (built by ``build_timeline.py`` from ``policy_events.csv``) holds every event;
an event either maps to instruments of ``rareflow.policies.instruments`` (``modelled``) or says
why it is not modelled. ``load_timeline`` parses and checks it; ``policies`` gives the
instruments in force in a window; ``events_frame`` is what ``rareflow events`` prints.
"""

from __future__ import annotations

import re
from functools import cache
from pathlib import Path
from typing import TYPE_CHECKING

import yaml
from pydantic import BaseModel, ConfigDict, Field, TypeAdapter, model_validator

from rareflow.errors import UserInputError
from rareflow.policies.instruments import Policy

if TYPE_CHECKING:
    import pandas as pd

TIMELINE_FILE = Path(__file__).parent / "timeline.yaml"
DATE_PATTERN = re.compile(r"^\d{4}(-(0[1-9]|1[0-2])(-(0[1-9]|[12]\d|3[01]))?)?$")


@cache
def product_elements() -> dict[str, set[str]]:
    """Elements each product of the bundled network holds (its ``contents`` table), to filter
    events by element (``--item Dy``)."""
    import pandas as pd

    from rareflow.data.network import BASELINE_DIR

    contents = pd.read_csv(BASELINE_DIR / "contents.csv")
    held = contents.loc[contents["mass_fraction"] > 0]
    return {str(p): set(map(str, g["element"])) for p, g in held.groupby("product")}


_ACTOR_NAMES = {
    "CHN": "china",
    "USA": "united states",
    "JPN": "japan",
    "KOR": "korea",
    "AUS": "australia",
    "XEU": "european union",
    "DEU": "european union",
    "GBR": "united kingdom",
}


class TimelineEvent(BaseModel):
    """One row of ``policy_events.csv`` (or of another shared table, ``table``) and what the
    model makes of it."""

    model_config = ConfigDict(extra="forbid")
    date: str
    effective: str = ""
    expiry: str = ""
    actor: str
    instrument: str
    action: str = ""
    items: str = ""
    targets: str = ""
    reference: str
    description: str = ""
    source_url: str = ""
    source_note: str = ""
    table: str = ""  # the shared table it comes from, where not policy_events.csv
    modelled: bool
    why_not_modelled: str = ""
    policies: list[Policy] = Field(default_factory=list)
    ends: list[str] = Field(default_factory=list)
    calibrated: list[str] = Field(default_factory=list)
    assumptions: list[str] = Field(default_factory=list)

    @model_validator(mode="after")
    def _accounted_for(self) -> TimelineEvent:
        if self.modelled and not (self.policies or self.ends):
            raise ValueError("a modelled event needs policies or ends")
        if not self.modelled and not self.why_not_modelled:
            raise ValueError("an event not modelled must say why")
        return self

    @property
    def source(self) -> str:
        return self.source_url + (f" ({self.source_note})" if self.source_note else "")

    def products(self) -> set[str]:
        out: set[str] = set()
        for policy in self.policies:
            items = getattr(policy, "items", None)
            if items is not None:
                out.update(items.products)
            product = getattr(policy, "product", None)
            if product:
                out.add(product)
        return out

    def elements(self) -> set[str]:
        out: set[str] = set()
        for policy in self.policies:
            items = getattr(policy, "items", None)
            out.update(items.elements if items is not None else getattr(policy, "elements", []))
        for product in self.products():
            out.update(product_elements().get(product, ()))
        return out


_EVENTS = TypeAdapter(list[TimelineEvent])


@cache
def load_timeline(path: Path = TIMELINE_FILE) -> tuple[TimelineEvent, ...]:
    """Parse and check the timeline: valid instruments, unique ids, known ``ends`` targets."""
    events = _EVENTS.validate_python(yaml.safe_load(path.read_text(encoding="utf-8")))
    ids = [p.id for e in events for p in e.policies]
    duplicates = sorted({i for i in ids if ids.count(i) > 1})
    if duplicates:
        raise ValueError(f"timeline policy ids are not unique: {duplicates}")
    known = set(ids)
    for event in events:
        missing = [i for i in [*event.ends, *event.calibrated] if i not in known]
        if missing:
            raise ValueError(f"event {event.reference!r} names unknown policies {missing}")
    return tuple(events)


def all_policies() -> list[Policy]:
    return [p for event in load_timeline() for p in event.policies]


def calibrated_licences() -> set[str]:
    """Ids of licences whose lead time and approval path come from the global parameters."""
    return {i for event in load_timeline() for i in event.calibrated}


def policies(start: str | None = None, end: str | None = None) -> list[Policy]:
    """Instruments in force at some month of [start, end] (months 'YYYY-MM', inclusive)."""
    out = []
    for policy in all_policies():
        if end is not None and policy.start > end:
            continue
        if start is not None and policy.end is not None and policy.end < start:
            continue
        out.append(policy)
    return out


# -- filtering for ``rareflow events`` ----------------------------------------------------------
def check_date(value: str | None, option: str) -> str | None:
    if value is None or DATE_PATTERN.match(value):
        return value
    raise UserInputError(
        "not a date", column=option, value=value, expected="YYYY, YYYY-MM or YYYY-MM-DD"
    )


def _matches_item(event: TimelineEvent, item: str) -> bool:
    if item.lower() in {p.lower() for p in event.products()} or item in event.elements():
        return True
    pattern = rf"\b{re.escape(item)}\b"
    flags = re.IGNORECASE if len(item) > 2 else 0  # element symbols are case-sensitive
    return re.search(pattern, event.items, flags) is not None


def _matches_actor(event: TimelineEvent, actor: str) -> bool:
    codes = {p.actor for p in event.policies}
    name = _ACTOR_NAMES.get(actor.upper(), actor).lower()
    return actor.upper() in codes or name in event.actor.lower()


def select(
    since: str | None = None,
    until: str | None = None,
    item: str | None = None,
    actor: str | None = None,
) -> list[TimelineEvent]:
    """Events dated in [since, until] (prefix-compared) that touch the item and actor."""
    check_date(since, "--since")
    check_date(until, "--until")
    out = []
    for event in load_timeline():
        if since is not None and event.date[: len(since)] < since:
            continue
        if until is not None and event.date[: len(until)] > until:
            continue
        if item is not None and not _matches_item(event, item):
            continue
        if actor is not None and not _matches_actor(event, actor):
            continue
        out.append(event)
    return out


def event_row(event: TimelineEvent) -> dict[str, object]:
    starts = sorted(p.start for p in event.policies)
    ends = sorted(p.end for p in event.policies if p.end)
    return {
        "date": event.date,
        "effective": event.effective,
        "start": starts[0] if starts else "",
        "end": event.expiry or (ends[-1] if ends else ""),
        "actor": event.actor,
        "instrument": event.instrument,
        "items": event.items,
        "targets": event.targets,
        "description": event.description,
        "source": event.source,
        "table": event.table or "policy_events.csv",
        "modelled": event.modelled,
        "why_not_modelled": event.why_not_modelled,
        "policies": [p.id for p in event.policies],
        "ends_policies": event.ends,
        "assumptions": event.assumptions,
    }


def events_frame(events: list[TimelineEvent]) -> pd.DataFrame:
    import pandas as pd

    columns = list(event_row(load_timeline()[0]))
    return pd.DataFrame([event_row(e) for e in events], columns=columns)
