"""Exposure of an uploaded bill of materials: which parts a scenario catches, when they run
short, and the alternatives (``rareflow exposure`` for the browser).

The page reads the CSV file and sends its text as JSON (the service takes JSON or YAML bodies
only); it is validated as the CLI validates a file, each problem naming the file's name, row,
column and value.
"""

from __future__ import annotations

import re
import tempfile
from pathlib import Path
from typing import Annotated, Any

from fastapi import APIRouter, Depends
from fastapi.responses import JSONResponse
from pydantic import BaseModel, ConfigDict, Field

from rareflow.errors import UserInputError
from rareflow.io.export import jsonable
from rareflow.web.context import Context, ErrorBody, context
from rareflow.web.inputs import MAX_BODY_BYTES, NAME_PATTERN, named

router = APIRouter(prefix="/api", tags=["exposure"])
Ctx = Annotated[Context, Depends(context)]
DEFAULT_SCENARIO = "reimpose-oct-2025"
UNSAFE = re.compile(r"[^A-Za-z0-9_.-]+")


class ExposureRequest(BaseModel):
    """A bill of materials as CSV text (``rareflow exposure --schema`` lists its columns)."""

    model_config = ConfigDict(extra="forbid")
    csv: str = Field(..., max_length=MAX_BODY_BYTES, description="The file's text.")
    filename: str = Field("bom.csv", max_length=120, description="Named in messages.")
    scenario: str = Field(DEFAULT_SCENARIO, pattern=NAME_PATTERN.pattern)
    region: str = Field("", max_length=3, description="Plants' ISO3 or region code (optional).")


def _named_file(name: str) -> str:
    """The upload's base name, safe to write and to echo; always ending in .csv."""
    stem = UNSAFE.sub("_", Path(name).name)[:100].strip("._") or "bom"
    return stem if stem.lower().endswith(".csv") else f"{stem}.csv"


def _as_uploaded(error: UserInputError, temp: str, name: str) -> JSONResponse:
    """The error with the temporary path replaced by the upload's name; every problem kept."""
    problems = list(getattr(error, "problems", None) or [error])
    for item in {id(p): p for p in [error, *problems]}.values():
        if item.file is not None:
            item.file = item.file.replace(temp, name)
        item.args = (item.render(),)
    listed = [{**p.as_dict(), "message": str(p)} for p in problems]
    return JSONResponse({"detail": str(error), "problems": listed}, status_code=400)


def _plant(ctx: Context, region: str) -> str:
    from rareflow.data.network import region_lookup

    if not region:
        return ""
    plant = region_lookup(ctx.network).get(region.upper(), "")
    if not plant:
        raise UserInputError("unknown region", field="region", value=region,
                             expected="an ISO3 country or region code, e.g. DEU")  # fmt: skip
    return plant


@router.post(
    "/exposure",
    summary="Exposure of a bill of materials (CSV) under a scenario",
    response_model=None,
    responses={400: {"model": ErrorBody}, 404: {"model": ErrorBody}, 429: {"model": ErrorBody}},
)
def exposure(body: ExposureRequest, ctx: Ctx) -> dict[str, Any] | JSONResponse:
    from rareflow.analytics.bom import read_bom
    from rareflow.analytics.exposure import exposure as compute
    from rareflow.engine.run import run as simulate

    scenario = named(body.scenario, ctx.store.scenarios(), ctx.network)
    plant = _plant(ctx, body.region)
    name = _named_file(body.filename)
    with tempfile.TemporaryDirectory(prefix="rareflow-bom-") as folder:
        path = Path(folder) / name
        path.write_text(body.csv, encoding="utf-8")
        try:
            bom = read_bom(path, ctx.network)
        except UserInputError as error:
            return _as_uploaded(error, str(path), name)
    with ctx.heavy_slot():
        result = simulate(scenario, network=ctx.network)
        report = compute(bom, scenario, ctx.network, result=result, region=plant)
    payload: dict[str, Any] = jsonable({
        "scenario": report.scenario,
        "file": name,
        "months": [report.months[0], report.months[-1]],
        "products": report.records("product"),
        "parts": report.records("part"),
    })  # fmt: skip
    return payload
