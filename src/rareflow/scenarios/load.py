"""Load scenarios from YAML (a bundled name or a file) and bind them to a network.

Every problem a user can cause (a missing or unreadable file, bad YAML, a field of the wrong
type, an unknown region code) raises ``ScenarioError``, a ``UserInputError`` that names the
file and the field path (``policies[2].approval_share``), the value and what was expected.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

from pydantic import BaseModel, ValidationError

from rareflow.errors import ScenarioError, UserInputError, did_you_mean
from rareflow.policies import instruments as ins
from rareflow.policies.fields import code_fields
from rareflow.scenarios.documents import read_file
from rareflow.scenarios.generated import GENERATED
from rareflow.scenarios.model import RecordedEvent, Scenario

if TYPE_CHECKING:
    from rareflow.data.network import Network

BUNDLED_DIR = Path(__file__).parent / "bundled"
MARKETS = ("china", "ex_china")

# The model class behind each policy ``type`` tag, to list the fields a policy may have.
POLICY_CLASSES: dict[str, type[BaseModel]] = dict(ins.REGISTRY)


# -- finding and reading ---------------------------------------------------------------------
def bundled_names() -> list[str]:
    return sorted(p.stem for p in BUNDLED_DIR.glob("*.yaml"))


def known_names() -> list[str]:
    """Every scenario a name can load: the bundled files, then those built by code."""
    return [*bundled_names(), *GENERATED]


def resolve(name_or_path: str | Path) -> Path:
    """A bundled scenario's file, or the given path if it exists."""
    text = str(name_or_path)
    bundled = BUNDLED_DIR / f"{text}.yaml"
    if isinstance(name_or_path, str) and "/" not in text and bundled.is_file():
        return bundled
    path = Path(name_or_path).expanduser()
    if path.is_file():
        return path
    raise ScenarioError(
        "no bundled scenario or scenario file of that name",
        value=text,
        expected="a bundled name (" + ", ".join(known_names()) + ") or a path to a YAML file",
        hint="Run `rareflow scenarios` to list the bundled scenarios",
    )


def read_yaml(path: Path) -> dict[str, Any]:
    """The YAML mapping in ``path``, read safely (``documents``); every way it can fail
    becomes a ScenarioError."""
    return read_file(path, kind="yaml")


# -- validation errors -----------------------------------------------------------------------
def field_path(loc: Iterable[Any]) -> str:
    """('policies', 2, 'export_license', 'approval_share') -> 'policies[2].approval_share'."""
    parts: list[str] = []
    previous: Any = None
    for item in loc:
        if isinstance(item, int):
            parts.append(f"[{item}]")
        elif isinstance(item, str) and not item.isidentifier():  # a union member's tag
            pass
        elif not (isinstance(previous, int) and item in POLICY_CLASSES):  # union tag, not a field
            parts.append(f".{item}" if parts else str(item))
        previous = item
    return "".join(parts)


def _model_at(loc: tuple[Any, ...]) -> type[BaseModel] | None:
    """The model class holding the fields at ``loc`` (for 'unknown field' hints)."""
    if not loc:
        return Scenario
    last = loc[-1]
    if last in POLICY_CLASSES:
        return POLICY_CLASSES[last]
    if last == "items":
        return ins.Items
    if isinstance(last, int) and len(loc) >= 2 and loc[-2] == "events":
        return RecordedEvent
    return None


def _short(value: Any) -> Any:
    """A value worth echoing in a message (not a whole sub-mapping)."""
    if isinstance(value, dict):
        return None
    text = repr(value)
    return value if len(text) <= 80 else text[:77] + "..."


def _merge_calibrated(errors: list[Any]) -> list[Any]:
    """A number-or-'calibrated' field reports two errors (one per member): keep the number's,
    saying that 'calibrated' is accepted too."""
    literal = "literal['calibrated']"
    numeric = {tuple(e["loc"][:-1]) for e in errors if e["loc"] and e["loc"][-1] != literal}
    merged = []
    for error in errors:
        loc = tuple(error["loc"])
        if loc and loc[-1] == literal and loc[:-1] in numeric:
            continue
        if loc and isinstance(loc[-1], str) and loc[-1].startswith("constrained-float"):
            error = {**error, "msg": f"{error['msg']} (or 'calibrated')"}
        merged.append(error)
    return merged


def _problem(error: Mapping[str, Any], file: str) -> ScenarioError:
    loc = tuple(error["loc"])
    kind, msg = error["type"], str(error["msg"])
    value = _short(error.get("input"))
    if kind == "missing":
        return ScenarioError("missing required field", file=file, field=field_path(loc))
    if kind == "extra_forbidden":
        model = _model_at(loc[:-1])
        fields = list(model.model_fields) if model else []
        return ScenarioError(
            "unknown field",
            file=file,
            field=field_path(loc),
            expected="one of the fields " + ", ".join(fields) if fields else None,
            hint=did_you_mean(str(loc[-1]), fields),
        )
    if kind in ("union_tag_invalid", "union_tag_not_found"):
        tag = error.get("ctx", {}).get("tag")
        return ScenarioError(
            "unknown policy type" if tag else "policy has no 'type'",
            file=file,
            field=field_path((*loc, "type")),
            value=tag,
            expected="one of " + ", ".join(POLICY_CLASSES),
        )
    if kind == "value_error":
        return ScenarioError(msg.removeprefix("Value error, "), file=file, field=field_path(loc))
    expected = msg.removeprefix("Input should be ") if msg.startswith("Input should be") else msg
    return ScenarioError(
        "invalid value", file=file, field=field_path(loc), value=value, expected=expected
    )


def from_validation_error(exc: ValidationError, file: str) -> ScenarioError:
    problems = [_problem(e, file) for e in _merge_calibrated(exc.errors())]
    first = problems[0]
    first.problems = list(problems)
    return first


def parse_scenario(data: Mapping[str, Any], *, file: str = "<scenario>") -> Scenario:
    """Validate a mapping (parsed YAML or JSON) as a Scenario."""
    try:
        return Scenario.model_validate(dict(data))
    except ValidationError as exc:
        raise from_validation_error(exc, file) from None


# -- binding to a network --------------------------------------------------------------------
def _parameter_names(network: Network) -> list[str]:
    table = network.tables.get("parameters")
    return [] if table is None else [str(name) for name in table["name"]]


class _Binder:
    """Checks every code a scenario uses against a network's dimensions."""

    def __init__(self, scenario: Scenario, network: Network, file: str) -> None:
        self.scenario, self.file = scenario, file
        self.valid: dict[str, list[str]] = {
            "region": list(network.regions),
            "product": list(network.products),
            "element": list(network.elements),
            "sector": list(network.sectors),
            "process": list(network.processes),
            "market": list(MARKETS),
            "parameter": sorted(_parameter_names(network)),
            "policy": [p.id for p in scenario.policies],
        }

    def check(
        self, kind: str, values: str | list[str], path: str, *, allow_all: bool = False
    ) -> None:
        items = [values] if isinstance(values, str) else values
        for i, value in enumerate(items):
            if allow_all and value == ins.ALL:
                continue
            if value not in self.valid[kind]:
                where = path if isinstance(values, str) else f"{path}[{i}]"
                choices = (["all"] if allow_all else []) + self.valid[kind]
                raise ScenarioError(
                    f"unknown {'policy id' if kind == 'policy' else kind}",
                    file=self.file,
                    field=where,
                    value=value,
                    expected="one of " + ", ".join(choices),
                    hint=did_you_mean(value, choices),
                )

    def bind(self) -> None:
        for name, value in self.scenario.parameters.items():
            self.check("parameter", name, f"parameters.{name}")
            self.parameter(name, value)
        for i, policy in enumerate(self.scenario.policies):
            self.policy(policy, f"policies[{i}]")

    def parameter(self, name: str, value: float) -> None:
        """Within its physical range (``data.ranges``), and not one that describes the data."""
        from rareflow.data.ranges import FIXED, check_parameter

        if name in FIXED:
            raise ScenarioError(
                "this parameter describes the dataset and cannot be overridden",
                file=self.file, field=f"parameters.{name}", value=value,
            )  # fmt: skip
        try:
            check_parameter(name, value)
        except UserInputError as exc:
            raise ScenarioError(exc.message, file=self.file, field=f"parameters.{name}",
                                value=exc.value, expected=exc.expected) from None  # fmt: skip

    def policy(self, p: ins.Instrument, at: str) -> None:
        """Every field the instrument declares as holding codes (``policies.fields``)."""
        for f in code_fields(p):
            self.check(f.code.dim, f.value, f"{at}.{f.path}", allow_all=f.code.allow_all)


def bind(scenario: Scenario, network: Network, *, file: str = "<scenario>") -> Scenario:
    """The scenario with ISO3 country codes mapped to the network's regions (``FRA`` ->
    ``XEU``, through ``country_regions``), every code checked against ``network``."""
    from rareflow.data.network import region_lookup

    scenario = with_regions(scenario, region_lookup(network))
    _Binder(scenario, network, file).bind()
    return scenario


def with_regions(scenario: Scenario, lookup: Mapping[str, str]) -> Scenario:
    """Region fields holding a country code (``lookup``) rewritten to its region; repeats
    that this makes (``[FRA, ITA]`` -> ``[XEU]``) are dropped. Unknown codes are left for
    the binder to report."""
    policies = []
    for policy in scenario.policies:
        update: dict[str, Any] = {}
        for f in code_fields(policy):
            if f.code.dim != "region" or "." in f.path:
                continue
            if isinstance(f.value, str):
                update[f.path] = lookup.get(f.value, f.value)
            else:
                update[f.path] = list(dict.fromkeys(lookup.get(v, v) for v in f.value))
        changed = {k: v for k, v in update.items() if v != getattr(policy, k)}
        policies.append(policy.model_copy(update=changed) if changed else policy)
    return scenario.model_copy(update={"policies": policies})


# -- public API ------------------------------------------------------------------------------
def load_scenario(name_or_path: str | Path, network: Network | None = None) -> Scenario:
    """A bundled scenario by name, or a YAML file, validated (and bound if ``network``)."""
    if isinstance(name_or_path, str) and name_or_path in GENERATED:
        scenario = GENERATED[name_or_path]()
        return scenario if network is None else bind(scenario, network, file=name_or_path)
    path = resolve(name_or_path)
    label = str(path)
    scenario = parse_scenario(read_yaml(path), file=label)
    return scenario if network is None else bind(scenario, network, file=label)


def list_scenarios() -> list[dict[str, Any]]:
    """The bundled scenarios: name, description, start, months, policy count, sources."""
    rows = []
    for name in known_names():
        s = load_scenario(name)
        rows.append(
            {
                "name": name,
                "description": " ".join(s.description.split()),
                "start": s.start,
                "months": s.months,
                "policies": len(s.policies),
                "sources": list(s.sources),
            }
        )
    return rows
