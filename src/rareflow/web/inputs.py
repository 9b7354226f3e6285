"""Scenarios from clients: parsed from JSON or YAML (safely), checked against the service's
limits and bound to the network. Scenarios are named, never located by a file path."""

from __future__ import annotations

import re
from typing import TYPE_CHECKING, Any

from rareflow.errors import UserInputError
from rareflow.scenarios.documents import read_bytes
from rareflow.scenarios.load import ScenarioError, bind, bundled_names, parse_scenario

if TYPE_CHECKING:
    from rareflow.data.network import Network
    from rareflow.scenarios.model import Scenario

MAX_BODY_BYTES = 256 * 1024
MAX_MONTHS = 240
MAX_DRAWS = 1  # the engine's run() is deterministic: one draw per run
MAX_POLICIES = 50
MAX_PENDING_RUNS = 16
NAME_PATTERN = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$")
JSON_TYPES = ("application/json",)
YAML_TYPES = ("application/yaml", "application/x-yaml", "text/yaml", "text/x-yaml")
LABEL = "<request body>"


class UnknownScenario(ScenarioError):
    """No bundled or saved scenario has the name (answered 404)."""


def json_or_yaml_body(schema: str) -> dict[str, Any]:
    """OpenAPI ``openapi_extra`` for a required body of the model ``schema`` as JSON, or its
    YAML text."""
    return {
        "requestBody": {
            "required": True,
            "content": {
                JSON_TYPES[0]: {"schema": {"$ref": f"#/components/schemas/{schema}"}},
                YAML_TYPES[0]: {"schema": {"type": "string"}},
            },
        }
    }


def media_type(content_type: str | None) -> str:
    return (content_type or "").split(";")[0].strip().lower()


def parse_body(body: bytes, content_type: str | None) -> dict[str, Any]:
    """The mapping in a JSON or YAML request body (``scenarios.documents``, the reader the CLI
    uses); every failure is a ScenarioError."""
    kind = media_type(content_type)
    if kind not in JSON_TYPES + YAML_TYPES:
        raise ScenarioError(
            "unsupported content type",
            value=kind or "(none)",
            expected="application/json or application/yaml",
        )
    return read_bytes(body, label=LABEL, kind="json" if kind in JSON_TYPES else "yaml")


def check_limits(data: dict[str, Any]) -> None:
    """The service's limits, checked before the scenario is validated in full."""
    policies = data.get("policies")
    if isinstance(policies, list) and len(policies) > MAX_POLICIES:
        raise ScenarioError(
            "too many policies", field="policies", value=len(policies),
            expected=f"at most {MAX_POLICIES}",
        )  # fmt: skip
    months = data.get("months")
    if isinstance(months, int) and not isinstance(months, bool) and months > MAX_MONTHS:
        raise ScenarioError(
            "horizon too long", field="months", value=months, expected=f"at most {MAX_MONTHS}"
        )


def check_name(name: str, field: str = "name") -> str:
    if not NAME_PATTERN.match(name):
        raise ScenarioError(
            "invalid scenario name",
            field=field,
            value=name[:80],
            expected="1-64 letters, digits, '.', '_' or '-', starting with a letter or digit",
        )
    return name


def validate(data: dict[str, Any], network: Network) -> Scenario:
    """Limits, then the Scenario model, the codes against the network and the uncertainty
    section against the scenario (as the CLI checks them)."""
    from rareflow.engine.parameters import resolve_parameters
    from rareflow.model.compiled import compile_network
    from rareflow.scenarios.uncertainty import check_uncertainty

    check_limits(data)
    scenario = bind(parse_scenario(data, file=LABEL), network, file=LABEL)
    try:
        check_uncertainty(scenario, resolve_parameters(compile_network(network).parameters))
    except ScenarioError as exc:
        raise ScenarioError(exc.message, file=LABEL, field=exc.field, value=exc.value,
                            expected=exc.expected, hint=exc.hint) from None  # fmt: skip
    return scenario


def named(name: str, saved: dict[str, dict[str, Any]], network: Network) -> Scenario:
    """A bundled scenario or one saved through the API, by name (never a path)."""
    from rareflow.scenarios.load import load_scenario

    check_name(name, "scenario")
    if name in bundled_names():
        return load_scenario(name, network=network)
    if name in saved:
        return validate(saved[name], network)
    raise UnknownScenario(
        "no scenario of that name",
        field="scenario",
        value=name,
        expected="a bundled scenario (" + ", ".join(bundled_names()) + ") or a saved one",
        hint="GET /api/scenarios lists them",
    )


def problems(error: ScenarioError) -> list[dict[str, Any]]:
    """Each problem as a dict with its field path, for forms to place the message."""
    found = getattr(error, "problems", None) or [error]
    return [{**p.as_dict(), "field": getattr(p, "field", None), "message": _said(p)} for p in found]


def _said(problem: UserInputError) -> str:
    """The message for a form: what is wrong and what is expected, without the file and
    field (the form shows it beside the field)."""
    plain = UserInputError(problem.message, value=problem.value, expected=problem.expected,
                           hint=problem.hint)  # fmt: skip
    return plain.render()
