"""The dataset and its risk analytics: regions, products, sectors, policy types, regional
shares and concentration per stage, EU criticality, and the policy events timeline."""

from __future__ import annotations

from datetime import date
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Query
from pydantic import AfterValidator

from rareflow.web.context import Context, context, rows

router = APIRouter(prefix="/api", tags=["data"])
Ctx = Annotated[Context, Depends(context)]
Stage = Literal["mining", "separation", "heavy_separation", "metal", "magnet"]
Element = Annotated[str | None, Query(pattern=r"^[A-Z][a-z]?$", description="e.g. Dy")]
Year = Annotated[int | None, Query(ge=1900, le=2100)]


def _real_date(value: str | None) -> str | None:
    """Refuse dates that match the pattern but not the calendar (2025-02-31, 2025-13)."""
    if value is not None:
        parts = [*value.split("-"), "01", "01"][:3]
        try:
            date(int(parts[0]), int(parts[1]), int(parts[2]))
        except ValueError:
            raise ValueError(f"{value!r} is not a calendar date (YYYY[-MM[-DD]])") from None
    return value


DateText = Annotated[
    str | None,
    Query(pattern=r"^\d{4}(-\d{2}(-\d{2})?)?$", description="YYYY[-MM[-DD]]"),
    AfterValidator(_real_date),
]


def _table(ctx: Context, name: str) -> list[dict[str, Any]]:
    frame = ctx.network.tables[name]
    keep = [c for c in frame.columns if c not in ("provenance", "source_url", "note")]
    return rows(frame[keep])


@router.get("/regions", summary="Regions of the dataset")
def regions(ctx: Ctx) -> list[dict[str, Any]]:
    return _table(ctx, "regions")


@router.get("/products", summary="Products of the dataset, with their stage")
def products(ctx: Ctx) -> list[dict[str, Any]]:
    return _table(ctx, "products")


@router.get("/sectors", summary="End-use sectors")
def sectors(ctx: Ctx) -> list[dict[str, Any]]:
    return _table(ctx, "sectors")


@router.get("/codes", summary="Every code a scenario may use, for forms")
def codes(ctx: Ctx) -> dict[str, list[str]]:
    from rareflow.scenarios.load import MARKETS

    net = ctx.network
    return {
        "regions": list(net.regions),
        "products": list(net.products),
        "elements": list(net.elements),
        "sectors": list(net.sectors),
        "processes": list(net.processes),
        "markets": list(MARKETS),
    }


@router.get("/policy-types", summary="JSON schema of each policy instrument")
def policy_types() -> dict[str, Any]:
    from rareflow.scenarios.load import POLICY_CLASSES

    return {name: cls.model_json_schema() for name, cls in POLICY_CLASSES.items()}


@router.get("/shares", summary="Each region's share of a stage of the chain")
def shares(
    ctx: Ctx, stage: Stage = "separation", element: Element = None, year: Year = None
) -> list[dict[str, Any]]:
    from rareflow.analytics.shares import stage_shares

    return rows(stage_shares(ctx.network, stage, year, element))


@router.get("/risk/concentration", summary="HHI and top shares per stage")
def concentration(
    ctx: Ctx, stage: Stage | None = None, element: Element = None, year: Year = None
) -> list[dict[str, Any]]:
    from rareflow.analytics.shares import concentration as compute

    return rows(compute(ctx.network, year=year, stage=stage, element=element))


@router.get("/risk/criticality", summary="EU criticality: supply risk, importance, verdict")
def criticality(
    ctx: Ctx,
    assessment: Literal["eu2017", "eu2023"] | None = None,
    material: Annotated[str | None, Query(max_length=64, pattern=r"^[A-Za-z ()-]+$")] = None,
    source: Literal["inputs", "baseline"] = "inputs",
    element: Element = None,
    year: Year = None,
) -> list[dict[str, Any]]:
    """``inputs``: the EU studies' inputs (default eu2017); ``baseline``: HHI-based supply risk
    from the network's shares (default eu2023 for EoL_RIR and SI)."""
    if source == "baseline":
        from rareflow.analytics.criticality_baseline import baseline_supply_risk

        frame = baseline_supply_risk(
            ctx.network, year=year, element=element, assessment=assessment or "eu2023"
        )
        return rows(frame)
    from rareflow.analytics.criticality_table import assess

    return rows(assess(assessment or "eu2017", material))


@router.get("/events", summary="The policy events timeline 2010-2026")
def events(
    since: DateText = None,
    until: DateText = None,
    item: Annotated[str | None, Query(max_length=40, pattern=r"^[A-Za-z0-9_]+$")] = None,
    actor: Annotated[str | None, Query(max_length=40, pattern=r"^[A-Za-z ]+$")] = None,
) -> list[dict[str, Any]]:
    from rareflow.history.timeline import events_frame, select

    return rows(events_frame(select(since=since, until=until, item=item, actor=actor)))
