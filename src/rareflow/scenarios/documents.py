"""One safe reader for scenario documents, from a file (the CLI) or a request body (the
service): YAML or JSON text to a mapping, with every way it can fail a ``ScenarioError``.

It refuses what a careless or hostile document could do to the reader: anchors and aliases
(a few hundred bytes of 'billion laughs' expand to gigabytes), more than ``MAX_BYTES`` of
text, nesting deeper than ``MAX_DEPTH`` levels (flow brackets or block indentation), and
repeated keys (YAML would silently keep the last).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any, Literal

import yaml

from rareflow.errors import ScenarioError

MAX_BYTES = 1024 * 1024  # a scenario is a few KB; the bundled ones are under 10 KB
MAX_DEPTH = 32  # nesting levels; a scenario needs about 5
Kind = Literal["yaml", "json"]


class _StrictLoader(yaml.SafeLoader):
    """SafeLoader that refuses aliases and repeated keys."""

    def compose_node(self, parent: Any, index: Any) -> Any:
        if self.check_event(yaml.AliasEvent):
            event = self.peek_event()
            raise yaml.composer.ComposerError(
                None, None, "aliases (*name) are not accepted", event.start_mark
            )
        return super().compose_node(parent, index)

    def construct_mapping(self, node: Any, deep: bool = False) -> dict[Any, Any]:
        seen: set[Any] = set()
        for key_node, _ in node.value:
            key = self.construct_object(key_node, deep=deep)
            if isinstance(key, str | int | float | bool) and key in seen:
                raise yaml.constructor.ConstructorError(
                    None, None, f"the key {str(key)[:40]!r} appears twice", key_node.start_mark
                )
            seen.add(key)
        return super().construct_mapping(node, deep=deep)


def read_file(path: Path, *, kind: Kind = "yaml") -> dict[str, Any]:
    """The mapping in the file at ``path``."""
    label = str(path)
    try:
        if path.stat().st_size > MAX_BYTES:
            raise _too_big(label)
        with path.open("rb") as f:
            raw = f.read(MAX_BYTES + 1)  # a device or a growing file is cut off here
    except OSError as exc:
        raise ScenarioError(f"cannot read the file: {exc.strerror or exc}", file=label) from None
    if len(raw) > MAX_BYTES:
        raise _too_big(label)
    return read_bytes(raw, label=label, kind=kind)


def read_bytes(raw: bytes, *, label: str, kind: Kind) -> dict[str, Any]:
    """The mapping in UTF-8 ``raw`` text of the given kind."""
    if len(raw) > MAX_BYTES:
        raise _too_big(label)
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise ScenarioError(
            f"not UTF-8 text (byte {exc.start})", file=label, expected=f"UTF-8 {kind.upper()}"
        ) from None
    check_brackets(text, label)
    try:
        data = _json(text, label) if kind == "json" else _yaml(text, label)
    except RecursionError:  # block-style YAML nests by indentation, unseen by the brackets
        raise _too_deep(label) from None
    if depth(data) > MAX_DEPTH:
        raise _too_deep(label)
    if data is None:
        raise ScenarioError("the document is empty", file=label, expected="a mapping")
    if not isinstance(data, dict):
        raise ScenarioError(
            "the document does not hold a mapping",
            file=label,
            value=type(data).__name__,
            expected="a mapping with name, start, months, policies, ...",
        )
    return data


def check_brackets(text: str, label: str, limit: int = MAX_DEPTH) -> None:
    """Refuse text whose flow brackets nest deeper than ``limit`` (outside quoted strings),
    before a parser recurses into them."""
    level, quote, escaped = 0, "", False
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
            level += 1
            if level > limit:
                raise _too_deep(label)
        elif char in "]}":
            level -= 1


def depth(data: Any) -> int:
    """Nesting levels of lists and mappings (iterative: no recursion limit)."""
    deepest, stack = 0, [(data, 1)]
    while stack:
        item, level = stack.pop()
        if isinstance(item, dict | list):
            deepest = max(deepest, level)
            children = item.values() if isinstance(item, dict) else item
            stack.extend((child, level + 1) for child in children)
    return deepest


def _json(text: str, label: str) -> Any:
    try:
        return json.loads(text)
    except json.JSONDecodeError as exc:
        where = f" at line {exc.lineno}, column {exc.colno}"
        raise ScenarioError(f"invalid JSON{where}: {exc.msg}", file=label) from None


def _yaml(text: str, label: str) -> Any:
    try:
        return yaml.load(text, Loader=_StrictLoader)  # a SafeLoader subclass
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" at line {mark.line + 1}, column {mark.column + 1}" if mark else ""
        problem = getattr(exc, "problem", None) or str(exc).splitlines()[0]
        raise ScenarioError(f"invalid YAML{where}: {problem}", file=label) from None


def _too_big(label: str) -> ScenarioError:
    return ScenarioError(
        "the document is too large", file=label, expected=f"at most {MAX_BYTES:,} bytes"
    )


def _too_deep(label: str) -> ScenarioError:
    return ScenarioError(
        "the document is nested too deeply", file=label, expected=f"at most {MAX_DEPTH} levels"
    )
