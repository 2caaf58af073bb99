"""Tool parameter schemas from untrusted sources (catalogs, MCP servers): checked when a tool is made,
and arguments validated in bounded time.

A schema is refused when a tool is made if it nests deeper than ``MAX_SCHEMA_DEPTH``, has a ``$ref``
that is not local (``#/...``: nothing is ever fetched), that does not resolve, or that loops back to
itself without descending into the arguments (which would recurse for ever). Arguments are checked
with regular expressions that give up after ``PATTERN_TIMEOUT_S`` (the ``regex`` engine's timeout,
with the GIL released), so a catastrophic ``pattern`` such as ``^(a|aa)+$`` cannot hold the process.
"""

from __future__ import annotations

from collections.abc import Iterator
from functools import lru_cache
from typing import Any

from contextos.errors import InvalidToolError

MAX_SCHEMA_DEPTH = 64
"""Deepest nesting of objects and arrays a tool's parameters may have."""

PATTERN_TIMEOUT_S = 0.25
"""How long one ``pattern`` may take to match one argument before the argument is refused."""

_REF_KEYS = ("$ref", "$dynamicRef", "$recursiveRef")
# Keywords that apply subschemas to the same value (not to a part of it): a loop through these never ends.
_IN_PLACE_ONE = ("not", "if", "then", "else")
_IN_PLACE_MANY = ("allOf", "anyOf", "oneOf")


def check_schema_safety(parameters: dict[str, Any], *, tool: str) -> None:
    """``InvalidToolError`` naming ``tool`` if ``parameters`` is too deep or has a ``$ref`` it may not have."""
    _check_depth(parameters, tool)
    for where, node in _nodes(parameters, "#"):
        if where != "#" and "$id" in node:
            raise InvalidToolError(
                f"tool {tool!r}: parameters at {where} set $id; only the root may (refs stay local)"
            )
        for key in _REF_KEYS:
            if key in node:
                _target(parameters, node[key], tool=tool, where=where)
    _check_ref_loops(parameters, tool)


def _check_depth(schema: Any, tool: str) -> None:
    stack = [(schema, 1)]
    while stack:
        value, depth = stack.pop()
        if depth > MAX_SCHEMA_DEPTH:
            raise InvalidToolError(
                f"tool {tool!r}: parameters nest deeper than {MAX_SCHEMA_DEPTH} levels; flatten the schema"
            )
        children = (
            value.values() if isinstance(value, dict) else value if isinstance(value, list) else ()
        )
        stack.extend((child, depth + 1) for child in children if isinstance(child, (dict, list)))


def _nodes(value: Any, where: str) -> Iterator[tuple[str, dict[str, Any]]]:
    """Every object in ``value`` with its JSON pointer (depth is already bounded)."""
    if isinstance(value, dict):
        yield where, value
        for key, child in value.items():
            yield from _nodes(child, f"{where}/{str(key).replace('~', '~0').replace('/', '~1')}")
    elif isinstance(value, list):
        for index, child in enumerate(value):
            yield from _nodes(child, f"{where}/{index}")


def _target(root: dict[str, Any], ref: Any, *, tool: str, where: str) -> tuple[str, Any]:
    """The pointer and subschema a local ``ref`` names; ``InvalidToolError`` for any other ref."""
    if not isinstance(ref, str) or not ref.startswith("#"):
        raise InvalidToolError(
            f"tool {tool!r}: parameters at {where} refer to {ref!r}; only local refs such as '#/$defs/name' are "
            "allowed (contextos never fetches a schema): inline the referenced schema"
        )
    node: Any = root
    for part in ref[1:].lstrip("/").split("/") if ref not in ("#", "#/") else ():
        part = part.replace("~1", "/").replace("~0", "~")
        if isinstance(node, dict) and part in node:
            node = node[part]
        elif isinstance(node, list) and part.isdigit() and int(part) < len(node):
            node = node[int(part)]
        else:
            raise InvalidToolError(
                f"tool {tool!r}: parameters at {where} refer to {ref!r}, which does not exist"
            )
    if not isinstance(node, (dict, bool)):
        raise InvalidToolError(
            f"tool {tool!r}: parameters at {where} refer to {ref!r}, which is not a schema"
        )
    return "#" + ref[1:].rstrip("/") if ref not in ("#", "#/") else "#", node


def _check_ref_loops(root: dict[str, Any], tool: str) -> None:
    """Refuse refs that reach themselves through keywords applied to the same value."""
    edges: dict[str, list[str]] = {}
    for where, node in _nodes(root, "#"):
        out = [_target(root, node[k], tool=tool, where=where)[0] for k in _REF_KEYS if k in node]
        out += [f"{where}/{k}" for k in _IN_PLACE_ONE if isinstance(node.get(k), dict)]
        out += [
            f"{where}/{k}/{i}"
            for k in _IN_PLACE_MANY
            if isinstance(node.get(k), list)
            for i in range(len(node[k]))
        ]
        edges[where] = out
    done: set[str] = set()
    for start in edges:
        path: list[str] = []
        on_path: set[str] = set()
        stack: list[tuple[str, int]] = [(start, 0)]
        while stack:
            at, i = stack.pop()
            if i == 0:
                if at in done:
                    continue
                if at in on_path:
                    raise InvalidToolError(
                        f"tool {tool!r}: parameters refer back to themselves ({' -> '.join([*path[path.index(at) :], at])}) "
                        "without descending into the arguments, so validation would never end"
                    )
                path.append(at)
                on_path.add(at)
            nexts = edges.get(at, [])
            if i < len(nexts):
                stack.append((at, i + 1))
                stack.append((nexts[i], 0))
            else:
                done.add(at)
                on_path.discard(at)
                path.pop()


def argument_problem(parameters: dict[str, Any], arguments: dict[str, Any]) -> str | None:
    """The first way ``arguments`` break ``parameters``, in words; None when they fit."""
    validator = _validator_class()(parameters)
    error = next(iter(sorted(validator.iter_errors(arguments), key=lambda e: list(e.path))), None)
    if error is None:
        return None
    where = "/".join(str(p) for p in error.absolute_path)
    return f"{where}: {error.message}" if where else error.message


def _search(pattern: str, text: str) -> bool:
    import regex

    try:
        return regex.search(pattern, text, timeout=PATTERN_TIMEOUT_S, concurrent=True) is not None
    except TimeoutError:
        raise _PatternTimeout(pattern) from None


class _PatternTimeout(Exception):
    def __init__(self, pattern: str) -> None:
        super().__init__(pattern)
        self.pattern = pattern


@lru_cache(maxsize=1)
def _validator_class() -> Any:
    """Draft 2020-12 with ``pattern``, ``patternProperties`` and ``additionalProperties`` on ``_search``."""
    from jsonschema import Draft202012Validator, ValidationError, validators

    def timed(check: Any) -> Any:
        def keyword(validator: Any, value: Any, instance: Any, schema: Any) -> Iterator[Any]:
            try:
                yield from list(check(validator, value, instance, schema))
            except _PatternTimeout as slow:
                yield ValidationError(
                    f"the pattern {slow.pattern!r} took longer than {PATTERN_TIMEOUT_S:g} s to check"
                )

        return keyword

    def pattern(validator: Any, pattern: str, instance: Any, schema: Any) -> Iterator[Any]:
        if validator.is_type(instance, "string") and not _search(pattern, instance):
            yield ValidationError(f"{instance!r} does not match {pattern!r}")

    def pattern_properties(
        validator: Any, patterns: dict[str, Any], instance: Any, schema: Any
    ) -> Iterator[Any]:
        if not validator.is_type(instance, "object"):
            return
        for expression, subschema in patterns.items():
            for key, value in instance.items():
                if _search(expression, key):
                    yield from validator.descend(value, subschema, path=key, schema_path=expression)

    def additional_properties(
        validator: Any, additional: Any, instance: Any, schema: Any
    ) -> Iterator[Any]:
        if not validator.is_type(instance, "object"):
            return
        known = schema.get("properties", {})
        expressions = list(schema.get("patternProperties", {}))
        extras = [
            k for k in instance if k not in known and not any(_search(e, k) for e in expressions)
        ]
        if validator.is_type(additional, "object"):
            for extra in extras:
                yield from validator.descend(instance[extra], additional, path=extra)
        elif additional is False and extras:
            yield ValidationError(
                f"Additional properties are not allowed ({', '.join(map(repr, sorted(extras)))} unexpected)"
            )

    return validators.extend(
        Draft202012Validator,
        {
            "pattern": timed(pattern),
            "patternProperties": timed(pattern_properties),
            "additionalProperties": timed(additional_properties),
        },
    )
