"""Scenarios: list, get, validate and save (JSON or YAML bodies, never file paths)."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, HTTPException, Path, Request, Response
from starlette.concurrency import run_in_threadpool

from rareflow.scenarios.model import Scenario
from rareflow.web.context import Context, ErrorBody, context
from rareflow.web.inputs import NAME_PATTERN, json_or_yaml_body, named, parse_body, validate

router = APIRouter(prefix="/api/scenarios", tags=["scenarios"])
MAX_SAVED = 100  # assumption: a team's working set; keeps GET /api/scenarios small
MAX_LISTED_TEXT = 300  # characters of a description in the list (GET one for all of it)
MAX_LISTED_SOURCES = 10
Ctx = Annotated[Context, Depends(context)]
Name = Annotated[str, Path(pattern=NAME_PATTERN.pattern, description="Scenario name")]
PROBLEMS = {"model": ErrorBody, "description": "The scenario is invalid; see 'problems'"}
SCENARIO_BODY = json_or_yaml_body("Scenario")


def _reserved_names() -> set[str]:
    """Names a saved scenario may not take, in any case: the bundled ones and those built by
    code (``history``, from the policy timeline)."""
    from rareflow.scenarios.load import known_names

    return {name.lower() for name in known_names()}


@router.get("", summary="Bundled and saved scenarios")
def list_all(ctx: Ctx) -> list[dict[str, Any]]:
    from rareflow.scenarios.load import list_scenarios

    bundled = [{**row, "origin": "bundled"} for row in list_scenarios()]
    saved = [
        {
            "name": name,
            "description": _short(str(data.get("description", ""))),
            "start": data.get("start"),
            "months": data.get("months"),
            "policies": len(data.get("policies") or []),
            "sources": [_short(str(u)) for u in (data.get("sources") or [])[:MAX_LISTED_SOURCES]],
            "origin": "saved",
        }
        for name, data in ctx.store.scenarios().items()
    ]
    return bundled + saved


def _short(text: str) -> str:
    return text if len(text) <= MAX_LISTED_TEXT else text[: MAX_LISTED_TEXT - 1] + "…"


@router.get("/{name}", summary="One scenario, as JSON", responses={404: PROBLEMS})
def get_one(name: Name, ctx: Ctx) -> Scenario:
    return named(name, ctx.store.scenarios(), ctx.network)


async def _scenario(request: Request, ctx: Context) -> Scenario:
    data = parse_body(await request.body(), request.headers.get("content-type"))
    return await run_in_threadpool(validate, data, ctx.network)


@router.post(
    "/validate",
    summary="Check a scenario (JSON or YAML) without saving it",
    openapi_extra=SCENARIO_BODY,
    responses={422: PROBLEMS},
)
async def check(request: Request, ctx: Ctx) -> dict[str, Any]:
    from rareflow.web.inputs import check_name

    scenario = await _scenario(request, ctx)
    check_name(scenario.name)  # a name that could not be saved or run is not valid
    return {"valid": True, "scenario": scenario.model_dump(mode="json")}


@router.post(
    "",
    status_code=201,
    summary="Save a scenario (JSON or YAML) under its name",
    openapi_extra=SCENARIO_BODY,
    responses={409: PROBLEMS, 422: PROBLEMS},
)
async def create(request: Request, ctx: Ctx) -> dict[str, Any]:
    from rareflow.web.inputs import check_name

    scenario = await _scenario(request, ctx)
    check_name(scenario.name)
    if scenario.name.lower() in _reserved_names():
        raise HTTPException(409, f"{scenario.name!r} is a bundled scenario; choose another name")
    saved = await run_in_threadpool(ctx.store.saved_names)
    if scenario.name not in saved and len(saved) >= MAX_SAVED:
        raise HTTPException(
            409,
            f"{MAX_SAVED} scenarios are saved already; delete one first (DELETE /api/scenarios/NAME)",
        )
    await run_in_threadpool(ctx.store.save_scenario, scenario.name, scenario.model_dump_json())
    return {"name": scenario.name, "scenario": scenario.model_dump(mode="json")}


@router.delete(
    "/{name}",
    status_code=204,
    summary="Delete a saved scenario",
    responses={404: {"model": ErrorBody}, 409: {"model": ErrorBody}},
)
def delete(name: Name, ctx: Ctx) -> Response:
    if name.lower() in _reserved_names():
        raise HTTPException(409, f"{name!r} is a bundled scenario and cannot be deleted")
    if not ctx.store.delete_scenario(name):
        raise HTTPException(404, f"no saved scenario is named {name!r}")
    return Response(status_code=204)
