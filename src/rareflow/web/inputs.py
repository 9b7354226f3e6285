"""Scenarios from clients: parsed from JSON or YAML (safely), checked against the service's
limits and bound to the network. Scenarios are named, never located by a file path."""

from __future__ import annotations

import json
import re
from typing import TYPE_CHECKING, Any

import yaml

from rareflow.scenarios.load import ScenarioError, bind, bundled_names, parse_scenario

if TYPE_CHECKING:
    from rareflow.data.network import Network
    from rareflow.scenarios.model import Scenario

MAX_BODY_BYTES = 256 * 1024
MAX_MONTHS = 240
MAX_DRAWS = 1  # the engine's run() is deterministic: one draw per run
MAX_POLICIES = 50
MAX_PENDING_RUNS = 16
MAX_DEPTH = 32  # nesting of [ and { in a body; a scenario needs about 5
NAME_PATTERN = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$")
JSON_TYPES = ("application/json",)
YAML_TYPES = ("application/yaml", "application/x-yaml", "text/yaml", "text/x-yaml")
LABEL = "<request body>"


class UnknownScenario(ScenarioError):
    """No bundled or saved scenario has the name (answered 404)."""


class _NoAliasLoader(yaml.SafeLoader):
    """SafeLoader that refuses anchors and aliases (no 'billion laughs' expansion)."""

    def compose_node(self, parent: Any, index: Any) -> Any:
        if self.check_event(yaml.AliasEvent):
            event = self.peek_event()
            raise yaml.composer.ComposerError(
                None, None, "aliases (*name) are not accepted", event.start_mark
            )
        return super().compose_node(parent, index)


def media_type(content_type: str | None) -> str:
    return (content_type or "").split(";")[0].strip().lower()


def parse_body(body: bytes, content_type: str | None) -> dict[str, Any]:
    """The mapping in a JSON or YAML request body; every failure is a ScenarioError."""
    kind = media_type(content_type)
    if kind not in JSON_TYPES + YAML_TYPES:
        raise ScenarioError(
            "unsupported content type",
            value=kind or "(none)",
            expected="application/json or application/yaml",
        )
    try:
        text = body.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise ScenarioError(f"the body is not UTF-8 text (byte {exc.start})", file=LABEL) from None
    check_depth(text)
    try:
        data = _load_json(text) if kind in JSON_TYPES else _load_yaml(text)
    except RecursionError:  # block-style YAML nests by indentation, unseen by check_depth
        raise ScenarioError("the body is nested too deeply", file=LABEL) from None
    if not isinstance(data, dict):
        raise ScenarioError(
            "the body does not hold a mapping",
            file=LABEL,
            value=type(data).__name__,
            expected="an object with name, start, months, policies, ...",
        )
    return data


def check_depth(text: str, limit: int = MAX_DEPTH) -> None:
    """Refuse bodies whose brackets nest deeper than ``limit`` (outside quoted strings)."""
    depth, quote, escaped = 0, "", False
    for char in text:
        if quote:
            if escaped:
                escaped = False
            elif char == "\\" and quote == '"':
                escaped = True
            elif char == quote:
                quote = ""
            continue
        if char in "\"'":
            quote = char
        elif char in "[{":
            depth += 1
            if depth > limit:
                raise ScenarioError(
                    "the body is nested too deeply", file=LABEL, expected=f"at most {limit} levels"
                )
        elif char in "]}":
            depth -= 1


def _load_json(text: str) -> Any:
    try:
        return json.loads(text)
    except json.JSONDecodeError as exc:
        where = f" at line {exc.lineno}, column {exc.colno}"
        raise ScenarioError(f"invalid JSON{where}: {exc.msg}", file=LABEL) from None


def _load_yaml(text: str) -> Any:
    try:
        return yaml.load(text, Loader=_NoAliasLoader)  # a SafeLoader subclass
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" at line {mark.line + 1}, column {mark.column + 1}" if mark else ""
        problem = getattr(exc, "problem", None) or str(exc).splitlines()[0]
        raise ScenarioError(f"invalid YAML{where}: {problem}", file=LABEL) from None


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
    """Limits, then the Scenario model, then the codes against the network."""
    check_limits(data)
    scenario = parse_scenario(data, file=LABEL)
    return bind(scenario, network, file=LABEL)


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
    return [{**p.as_dict(), "field": getattr(p, "field", None), "message": str(p)} for p in found]
