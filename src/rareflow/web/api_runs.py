"""Runs: start one (answered at once with its id), follow its progress, read its results
(JSON, CSV or Parquet), the dashboard's series, and compare two."""

from __future__ import annotations

import json
import math
import os
import tempfile
from collections.abc import AsyncIterator, Callable
from enum import StrEnum
from pathlib import Path as FilePath
from typing import Annotated, Any

import pyarrow as pa
import pyarrow.parquet as pq
from fastapi import APIRouter, Depends, HTTPException, Path, Query
from fastapi.responses import HTMLResponse, StreamingResponse
from pydantic import BaseModel, ConfigDict, Field
from starlette.concurrency import run_in_threadpool

from rareflow.errors import UserInputError
from rareflow.io.store import StoreError
from rareflow.web.context import Context, ErrorBody, context, rows
from rareflow.web.inputs import (
    MAX_DRAWS,
    MAX_MONTHS,
    NAME_PATTERN,
    check_name,
    named,
    validate,
)

router = APIRouter(prefix="/api", tags=["runs"])
Ctx = Annotated[Context, Depends(context)]
RUN_ID = r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,99}$"
RunId = Annotated[str, Path(pattern=RUN_ID, description="Run id")]
Metric = Annotated[str | None, Query(pattern=r"^[a-z_]{1,40}$", description="Only this metric")]
ERROR = {"model": ErrorBody}
MEDIA = {"csv": "text/csv", "json": "application/json", "parquet": "application/vnd.apache.parquet"}
BATCH_ROWS = 20_000  # rows encoded at a time: a few MB of JSON
CHUNK_BYTES = 1 << 20


class RunRequest(BaseModel):
    """A named scenario (bundled or saved) or a scenario given inline, with an optional
    horizon."""

    model_config = ConfigDict(extra="forbid")
    scenario: str | None = Field(None, pattern=NAME_PATTERN.pattern, examples=["baseline"])
    spec: dict[str, Any] | None = Field(None, description="A whole scenario, as JSON.")
    months: int | None = Field(None, ge=1, le=MAX_MONTHS, description="Override the horizon.")
    draws: int = Field(1, ge=1, le=MAX_DRAWS, description="Draws (the engine runs one).")


class RunStarted(BaseModel):
    run_id: str
    status: str
    status_url: str


class Format(StrEnum):
    json = "json"
    csv = "csv"
    parquet = "parquet"


def _status(ctx: Context, run_id: str) -> dict[str, Any]:
    """A run's state: in this server's memory, else its job row, else the stored runs."""
    found = ctx.worker.get(run_id) or ctx.store.job(run_id)
    if found is not None and found["status"] != "complete":
        return found
    stored = ctx.store.runs()
    match = stored[stored["run_id"] == run_id]
    if match.empty:
        raise HTTPException(404, f"no run with the id {run_id!r}")
    info = rows(match.drop(columns=["scenario_json", "parameters"], errors="ignore"))[0]
    return {**info, "status": "complete", "progress": 1.0, "stage": "complete", "error": None}


def _complete(ctx: Context, run_id: str) -> None:
    state = _status(ctx, run_id)
    if state["status"] != "complete":
        raise HTTPException(409, f"run {run_id} is {state['status']}, not complete")


@router.post(
    "/runs",
    status_code=202,
    summary="Start a run",
    responses={422: ERROR, 429: ERROR, 503: ERROR},
)
def start(body: RunRequest, ctx: Ctx) -> RunStarted:
    if (body.scenario is None) == (body.spec is None):
        raise UserInputError("give either 'scenario' (a name) or 'spec' (a scenario), not both")
    problem = ctx.store.health()
    if problem is not None:  # a run the store cannot take would only fail later
        raise StoreError(problem)
    if body.spec is not None:
        scenario = validate(body.spec, ctx.network)
        check_name(scenario.name)  # it becomes part of the run id, which must be fetchable
    else:
        assert body.scenario is not None
        scenario = named(body.scenario, ctx.store.scenarios(), ctx.network)
    job = ctx.worker.submit(scenario, body.months)
    return RunStarted(run_id=job.run_id, status=job.status, status_url=f"/api/runs/{job.run_id}")


@router.get("/runs", summary="Runs: stored (from the CLI too), running and failed")
def list_runs(ctx: Ctx) -> list[dict[str, Any]]:
    stored = ctx.store.runs().drop(columns=["scenario_json", "parameters"], errors="ignore")
    done = rows(stored)
    ids = {r["run_id"] for r in done}
    jobs = [j for j in ctx.store.jobs() if j["run_id"] not in ids]
    live = {j["run_id"]: j for j in ctx.worker.active()}
    return [live.get(j["run_id"], j) for j in jobs] + done


@router.get("/runs/{run_id}", summary="A run's status and progress", responses={404: ERROR})
def status(run_id: RunId, ctx: Ctx) -> dict[str, Any]:
    return _status(ctx, run_id)


@router.get(
    "/runs/{run_id}/results",
    summary="A run's tidy results",
    responses={
        200: {"content": {m: {} for m in MEDIA.values()}},
        404: ERROR,
        409: ERROR,
    },
)
def results(
    run_id: RunId, ctx: Ctx, format: Format = Format.json, metric: Metric = None
) -> StreamingResponse:
    """Streamed: the rows go from the store to a temporary Parquet file in batches (the store's
    lock is held only for that) and from there to the client one batch at a time, so a
    240-month run never sits in the server's memory whole."""
    _complete(ctx, run_id)
    ctx.take_heavy()
    try:
        path = _export(ctx, run_id, metric)
    except BaseException:
        ctx.heavy.release()
        raise
    headers = {}
    if format is not Format.json:
        name = f"{run_id}{'-' + metric if metric else ''}.{format.value}"
        headers["content-disposition"] = f'attachment; filename="{name}"'
    body = _stream(path, format, ctx.heavy.release)
    return StreamingResponse(body, media_type=MEDIA[format.value], headers=headers)


def _export(ctx: Context, run_id: str, metric: str | None) -> FilePath:
    handle, name = tempfile.mkstemp(prefix="rareflow-results-", suffix=".parquet")
    os.close(handle)
    path = FilePath(name)
    try:
        ctx.store.call(lambda: ctx.store.db.results_to_parquet(run_id, metric, path))
    except BaseException:
        path.unlink(missing_ok=True)
        raise
    return path


async def _stream(path: FilePath, fmt: Format, release: Callable[[], None]) -> AsyncIterator[bytes]:
    """The exported rows in ``fmt``, batch by batch; frees the slot and the file at the end,
    also when the client goes away (the generator is then closed)."""
    try:
        if fmt is Format.parquet:
            with path.open("rb") as handle:
                while chunk := await run_in_threadpool(handle.read, CHUNK_BYTES):
                    yield chunk
            return
        parquet = pq.ParquetFile(path)
        batches = parquet.iter_batches(batch_size=BATCH_ROWS)
        first = True
        if fmt is Format.json:
            yield b"["
        while (batch := await run_in_threadpool(next, batches, None)) is not None:
            if batch.num_rows:
                yield await run_in_threadpool(_encode, batch, fmt, first)
                first = False
        if fmt is Format.json:
            yield b"]"
        elif first:  # no rows: still the header
            yield (",".join(parquet.schema_arrow.names) + "\n").encode()
    finally:
        release()
        path.unlink(missing_ok=True)


def _encode(batch: pa.RecordBatch, fmt: Format, first: bool) -> bytes:
    if fmt is Format.csv:
        return bytes(batch.to_pandas().to_csv(index=False, header=first).encode())
    records = batch.to_pylist()
    for record in records:  # NaN is not JSON
        value = record.get("value")
        if isinstance(value, float) and math.isnan(value):
            record["value"] = None
    text = json.dumps(records, separators=(",", ":"))[1:-1]
    return (text if first else "," + text).encode()


@router.get(
    "/runs/{run_id}/summary",
    summary="Shortages per region and sector; peak prices",
    responses={404: ERROR, 409: ERROR},
)
def summary(run_id: RunId, ctx: Ctx) -> dict[str, Any]:
    _complete(ctx, run_id)
    store = ctx.store.db
    return {
        "run_id": run_id,
        "summary": rows(ctx.store.call(lambda: store.summary(run_id))),
        "peak_prices": rows(ctx.store.call(lambda: store.peak_prices(run_id))),
    }


@router.get(
    "/runs/{run_id}/brief",
    summary="A one-page offline HTML brief of a run",
    response_model=None,
    responses={200: {"content": {"text/html": {}}}, 404: ERROR, 409: ERROR},
)
def brief(run_id: RunId, ctx: Ctx) -> HTMLResponse:
    from rareflow.analytics.brief import brief_html

    _complete(ctx, run_id)
    store = ctx.store.db
    with ctx.heavy_slot():
        page = ctx.store.call(lambda: brief_html(store, run_id))
    headers = {"content-disposition": f'attachment; filename="{run_id}-brief.html"'}
    return HTMLResponse(page, headers=headers)


@router.get(
    "/runs/{run_id}/charts",
    summary="The dashboard's series for a run",
    responses={404: ERROR, 409: ERROR},
)
def charts(run_id: RunId, ctx: Ctx) -> dict[str, Any]:
    from rareflow.web.charts import payload, policy_starts

    _complete(ctx, run_id)
    store = ctx.store.db
    with ctx.heavy_slot():
        frame = ctx.store.call(lambda: store.results(run_id))
        months = ctx.store.call(lambda: store.months(run_id))
        info = ctx.store.call(lambda: store.run(run_id))
        return {"run_id": run_id, **payload(frame, months, ctx.stages),
                "policies": policy_starts(info.get("scenario_json"))}  # fmt: skip


@router.get(
    "/runs/{run_id}/impact",
    summary="GDP loss by region: the run's shortages through the bundled input-output table",
    responses={404: ERROR, 409: ERROR},
)
def impact(run_id: RunId, ctx: Ctx) -> dict[str, Any]:
    """Per region ``gdp_loss_usd`` and ``gdp_loss_share`` over the run's months (mean over
    its draws; a Monte Carlo run: over its p5, p50 and p95 shortage paths), and per region
    and sector the rows of ``rareflow impact``."""
    from rareflow.economy.impact import by_region_table, horizon
    from rareflow.economy.stored import stored_impact

    _complete(ctx, run_id)
    store = ctx.store.db
    with ctx.heavy_slot():
        ds = ctx.store.call(lambda: stored_impact(store, run_id, None, None, "day"))
    note = "No shortage in this run: zero loss." if ds.attrs.get("no_shortage") else ""
    return {
        "run_id": run_id,
        "table": ds.attrs["table"],
        "note": note,
        "regions": rows(by_region_table(ds)),
        "rows": rows(horizon(ds)),
    }


@router.get(
    "/compare",
    summary="What changes from run A to run B",
    responses={404: ERROR, 409: ERROR},
)
def compare(
    a: Annotated[str, Query(pattern=RUN_ID)], b: Annotated[str, Query(pattern=RUN_ID)], ctx: Ctx
) -> dict[str, Any]:
    from rareflow.analytics.compare import compare as compare_runs

    _complete(ctx, a)
    _complete(ctx, b)
    with ctx.heavy_slot():
        result: dict[str, Any] = ctx.store.call(lambda: compare_runs(ctx.store.db, a, b).to_dict())
    return result
