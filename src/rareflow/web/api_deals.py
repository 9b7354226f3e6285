"""Deals (issue 16): the bundled deals, and a deal (bundled or edited in the dashboard)
evaluated by ``deals.evaluate`` against its no-deal arm. Deals are named or sent whole, never
located by a file path; the scenario a deal changes is a bundled or generated one by name."""

from __future__ import annotations

import time
from typing import Annotated, Any

from fastapi import APIRouter, Depends, HTTPException, Path, Request
from starlette.concurrency import run_in_threadpool

from rareflow.deals.model import Deal
from rareflow.errors import UserInputError
from rareflow.io.export import jsonable
from rareflow.web.context import Context, ErrorBody, context
from rareflow.web.inputs import LABEL, json_or_yaml_body, parse_body

router = APIRouter(prefix="/api/deals", tags=["deals"])
Ctx = Annotated[Context, Depends(context)]
DealName = Annotated[str, Path(pattern=r"^[a-z0-9][a-z0-9-]{0,63}$", description="Bundled deal")]
PROBLEMS = {"model": ErrorBody, "description": "The deal is invalid; see 'problems'"}
MAX_TERMS = 50  # assumption: well above the bundled deals' 4; bounds one request's work
DEAL_BODY = json_or_yaml_body("Deal")


def _bundled(name: str) -> Any:
    from rareflow.deals.model import bundled_deals, load_deal

    if name not in bundled_deals():
        raise HTTPException(404, f"no bundled deal is named {name!r}")
    return load_deal(name)[0]


@router.get("", summary="The bundled deals")
def list_deals() -> list[dict[str, Any]]:
    from rareflow.deals.model import load_bundled

    return [
        {"name": d.name, "description": " ".join(d.description.split()), "against": d.against,
         "start": d.start, "months": d.months, "parties": list(d.parties), "terms": len(d.terms)}
        for d in load_bundled()
    ]  # fmt: skip


@router.get("/{name}", summary="One bundled deal, as JSON", responses={404: {"model": ErrorBody}})
def get_deal(name: DealName) -> Deal:
    deal: Deal = _bundled(name)
    return deal


def allowed_against() -> list[str]:
    """Scenarios a deal sent to the service may change: the bundled and generated ones (a
    name that is a path would read a file on the server)."""
    from rareflow.scenarios.load import known_names

    return known_names()


def check_request(data: dict[str, Any]) -> None:
    """The service's limits on a deal from a client, before it is validated in full."""
    terms = data.get("terms")
    if isinstance(terms, list) and len(terms) > MAX_TERMS:
        raise UserInputError(
            "too many terms", file=LABEL, field="terms", value=len(terms),
            expected=f"at most {MAX_TERMS}",
        )  # fmt: skip
    against, allowed = data.get("against", "history"), allowed_against()
    if against not in allowed:
        raise UserInputError(
            "unknown scenario", file=LABEL, field="against", value=against,
            expected=", ".join(allowed),
        )  # fmt: skip


def evaluate_body(data: dict[str, Any]) -> dict[str, Any]:
    """``deals.evaluate`` on a deal sent whole, with the seconds it took."""
    from rareflow.deals.evaluate import evaluate_deal
    from rareflow.deals.model import parse_deal

    check_request(data)
    began = time.perf_counter()
    report = evaluate_deal(parse_deal(data, LABEL), LABEL)
    result: dict[str, Any] = jsonable({**report, "seconds": time.perf_counter() - began})
    return result


@router.post(
    "/evaluate",
    summary="Evaluate a deal (a bundled one, or one with edited terms) against its no-deal arm",
    openapi_extra=DEAL_BODY,
    responses={400: PROBLEMS, 415: PROBLEMS, 429: {"model": ErrorBody}},
)
async def evaluate(request: Request, ctx: Ctx) -> dict[str, Any]:
    """Per party: payoff, shortage value lost avoided by importing region, China's export
    revenue gained, the user-given value of terms the network cannot simulate; China's export
    tonnes and revenue and the leverage measure in each arm; China's shipments to each
    destination and month over the pre-April-2025 baseline (``flows_restored``)."""
    data = parse_body(await request.body(), request.headers.get("content-type"))
    with ctx.heavy_slot():  # a deal runs two arms of the engine: a few per server at once
        return await run_in_threadpool(evaluate_body, data)
