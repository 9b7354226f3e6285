"""A run's progress as server-sent events, and its shortage by region for the world map.

``GET /api/runs/{id}/events`` (``text/event-stream``) sends the run's status as a ``data:``
line of JSON each time it changes (checked every ``TICK_S`` in this server's memory), a
comment every ``HEARTBEAT_S`` while nothing changes, and ends once the run is complete or has
failed. The page follows it with ``EventSource`` instead of polling.
"""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import AsyncIterator
from functools import lru_cache
from pathlib import Path
from typing import Annotated, Any

from fastapi import APIRouter, Depends, HTTPException
from fastapi.responses import StreamingResponse
from starlette.concurrency import run_in_threadpool

from rareflow.io.export import jsonable
from rareflow.web.api_runs import ERROR, RunId, _complete, _status
from rareflow.web.context import Context, context

router = APIRouter(prefix="/api", tags=["runs"])
Ctx = Annotated[Context, Depends(context)]
TICK_S = 0.2
HEARTBEAT_S = 15.0
MAX_STREAM_S = 3600.0  # a client still listening after an hour reconnects (EventSource does)
DONE = ("complete", "failed")
WORLD = Path(__file__).parent / "static" / "maps" / "world_110m.json"  # see maps/README.md


def _event(state: dict[str, Any]) -> str:
    return json.dumps(jsonable(state), separators=(",", ":"), sort_keys=True)


async def _follow(ctx: Context, run_id: str, state: dict[str, Any]) -> AsyncIterator[bytes]:
    last, quiet, started = "", 0.0, time.monotonic()
    while True:
        text = _event(state)
        if text != last:
            yield f"data: {text}\n\n".encode()
            last, quiet = text, 0.0
        elif quiet >= HEARTBEAT_S:
            yield b": waiting\n\n"
            quiet = 0.0
        if state["status"] in DONE or time.monotonic() - started > MAX_STREAM_S:
            return
        await asyncio.sleep(TICK_S)
        quiet += TICK_S
        try:
            state = await run_in_threadpool(_status, ctx, run_id)
        except HTTPException as error:  # deleted while followed
            failed = {"run_id": run_id, "status": "failed", "error": str(error.detail)}
            yield f"data: {_event(failed)}\n\n".encode()
            return


@router.get(
    "/runs/{run_id}/events",
    summary="A run's progress as server-sent events (text/event-stream)",
    response_class=StreamingResponse,
    responses={200: {"content": {"text/event-stream": {}}}, 404: ERROR},
)
async def events(run_id: RunId, ctx: Ctx) -> StreamingResponse:
    state = await run_in_threadpool(_status, ctx, run_id)  # an unknown run: 404, not a stream
    headers = {"cache-control": "no-store", "x-accel-buffering": "no"}
    return StreamingResponse(
        _follow(ctx, run_id, state), media_type="text/event-stream", headers=headers
    )


@router.get(
    "/runs/{run_id}/map",
    summary="Shortage by region for the map: each region's worst sector, and the countries in it",
    responses={404: ERROR, 409: ERROR},
)
def region_map(run_id: RunId, ctx: Ctx) -> dict[str, Any]:
    """``regions``: per region its worst sector's peak shortage share, that sector and the
    value lost; ``countries``: each country of the bundled world map (``id`` as plotly's
    ``ISO-3`` locations read it) with its name and region."""
    _complete(ctx, run_id)
    summary = ctx.store.call(lambda: ctx.store.db.summary(run_id))
    table = ctx.network.tables["regions"]
    names = dict(zip(table["region"], table["name"], strict=True))
    regions = region_rows(summary, names)
    known = {r["region"] for r in regions}
    groups = ctx.network.tables["country_regions"]
    region_of = dict(zip(groups["iso3"], groups["region"], strict=True))
    countries = [{**c, "region": region_of.get(c["id"], "ROW")} for c in world_countries()]
    return {"run_id": run_id, "regions": regions,
            "countries": [c for c in countries if c["region"] in known]}  # fmt: skip


@lru_cache(maxsize=1)
def world_countries() -> tuple[dict[str, str], ...]:
    """The world map's countries: id (ISO3, or ``~`` and a number for the rest of the
    world) and name."""
    shapes = json.loads(WORLD.read_text())["objects"]["countries"]["geometries"]
    return tuple({"id": str(c["id"]), "name": str(c["properties"]["name"])} for c in shapes)


def region_rows(summary: Any, names: dict[str, str]) -> list[dict[str, Any]]:
    """Per region: peak shortage share of its worst sector, that sector, value lost (USD)."""
    out = []
    for region, name in names.items():
        mine = summary[summary["region"] == region]
        worst = mine.loc[mine["peak_shortage_share"].idxmax()] if len(mine) else None
        out.append({
            "region": region, "name": name,
            "peak_shortage_share": float(worst["peak_shortage_share"]) if worst is not None else 0.0,
            "sector": str(worst["sector"]) if worst is not None else "",
            "value_lost_usd": float(mine["value_lost_usd"].sum()),
        })  # fmt: skip
    result: list[dict[str, Any]] = jsonable(out)
    return result
