"""``Tool``: one callable capability a model may be offered, with its JSON-schema parameters.

Build one from a Python function, an OpenAI tool definition or an MCP ``tools/list`` result:

```python
def get_weather(city: str, unit: str = "celsius") -> str:
    \"\"\"Current weather for a city.

    Args:
        city: The city name, e.g. "Paris".
        unit: "celsius" or "fahrenheit".
    \"\"\"

Tool.from_function(get_weather).schema()
# {"type": "function", "function": {"name": "get_weather", "description": "Current weather for a city.", ...}}
```
"""

from __future__ import annotations

import functools
import hashlib
import inspect
import json
import re
import typing
from collections.abc import Callable
from typing import Any

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    ValidationError,
    create_model,
    field_validator,
    model_validator,
)

from contextos._checked import validation_problems
from contextos.errors import InvalidToolError, ToolError
from contextos.tools._schema import check_schema_safety
from contextos.tools.run_context import current_run_context, is_run_context

#: OpenAI's rule for function names (also what most providers accept).
NAME_PATTERN = re.compile(r"^[a-zA-Z0-9_-]{1,64}$")
_INVALID_RUN = re.compile(r"[^a-zA-Z0-9_-]+")
_EMPTY_PARAMETERS: dict[str, Any] = {"type": "object", "properties": {}}


def valid_tool_name(name: str, *, key: str | None = None) -> str:
    """``name`` if it is a valid function name, else a valid name derived from it deterministically.

    Runs of other characters become ``_`` and an 8-hex suffix of ``sha1(key or name)`` is added, so
    that names which differ only in punctuation, or repeat with different ``key`` (a catalog row's
    id), stay distinct: ``"PetstoreRateLimit: getOrderById"`` → ``"PetstoreRateLimit_getOrderById_1c9d..."``.
    """
    if NAME_PATTERN.match(name):
        return name
    base = _INVALID_RUN.sub("_", name).strip("_") or "tool"
    suffix = hashlib.sha1((key if key is not None else name).encode("utf-8")).hexdigest()[:8]
    return f"{base[: 64 - len(suffix) - 1]}_{suffix}"


def check_parameters(parameters: Any, *, tool: str) -> dict[str, Any]:
    """``parameters`` if it is a JSON-Schema object schema; ``InvalidToolError`` naming ``tool`` if not."""
    from jsonschema import Draft202012Validator
    from jsonschema.exceptions import SchemaError

    if not isinstance(parameters, dict):
        raise InvalidToolError(
            f"tool {tool!r}: parameters must be a JSON Schema object, got {type(parameters).__name__}; "
            'use {"type": "object", "properties": {...}}'
        )
    # depth and refs first: the metaschema check recurses
    check_schema_safety(parameters, tool=tool)
    try:
        Draft202012Validator.check_schema(parameters)
    except SchemaError as exc:
        where = "/".join(str(p) for p in exc.absolute_path) or "(root)"
        raise InvalidToolError(
            f"tool {tool!r}: parameters are not valid JSON Schema at {where}: {exc.message}"
        ) from None
    if parameters.get("type", "object") != "object":
        raise InvalidToolError(
            f"tool {tool!r}: parameters must describe an object (type 'object'), got type {parameters.get('type')!r}"
        )
    return parameters


class Tool(BaseModel):
    """A tool a model can call: what the model reads (name, description, parameters) and, optionally,
    the Python callable that runs it."""

    model_config = ConfigDict(extra="forbid", arbitrary_types_allowed=True)

    name: str
    """The function name the model calls: ``^[a-zA-Z0-9_-]{1,64}$``, unique within a catalog."""
    description: str = ""
    """What the tool does, for the model (and for retrieval)."""
    parameters: dict[str, Any] = Field(default_factory=lambda: dict(_EMPTY_PARAMETERS))
    """The JSON Schema (an object schema) of the tool's arguments."""
    id: str = ""
    """A stable id (a catalog row's id); defaults to ``name``."""
    original_name: str | None = None
    """The name as the source gave it, when that was not a valid function name and was mapped."""
    group: str | None = None
    """The family the tool belongs to (the API or MCP server it is one endpoint of). Retrieval lets
    the tools of a family that matches a request support each other."""
    metadata: dict[str, Any] = Field(default_factory=dict)
    """Free-form data kept with the tool in the catalog (category, provider, ...); never sent to the model."""
    fn: Callable[..., Any] | None = Field(default=None, exclude=True, repr=False)
    """The Python callable that runs the tool, when there is one (not stored in a catalog). From
    ``from_function``: your function wrapped to convert the model's JSON arguments to its annotated types
    and fill in its ``RunContext`` (``fn.__wrapped__`` is your function)."""
    isolated: bool = Field(default=False, exclude=True)
    """Run a sync ``fn`` in a process of its own that is killed at the tool's timeout (a thread that
    ignores its timeout cannot be stopped). Costs a fresh interpreter per call; ``fn``, its arguments
    and its result must be picklable (a module-level function). Not stored in a catalog."""

    @model_validator(mode="before")
    @classmethod
    def _default_id(cls, data: Any) -> Any:
        if isinstance(data, dict) and not data.get("id") and isinstance(data.get("name"), str):
            data = {**data, "id": data["name"]}
        return data

    @field_validator("name")
    @classmethod
    def _valid_name(cls, name: str) -> str:
        if not NAME_PATTERN.match(name):
            raise ValueError(
                f"{name!r} is not a valid tool name (1-64 of a-z A-Z 0-9 _ -); "
                f"use Tool.named(...) or valid_tool_name({name!r}) to map it, e.g. to {valid_tool_name(name)!r}"
            )
        return name

    @field_validator("parameters")
    @classmethod
    def _valid_parameters(cls, parameters: dict[str, Any]) -> dict[str, Any]:
        try:
            return check_parameters(parameters, tool="?")
        except InvalidToolError as exc:
            raise ValueError(str(exc).removeprefix("tool '?': ")) from None

    # Builders ---------------------------------------------------------------------------------

    def __init__(self, **fields: Any) -> None:
        """Validate a tool, raising ``InvalidToolError`` (naming the tool) instead of a ValidationError."""
        try:
            super().__init__(**fields)
        except ValidationError as exc:
            label = fields.get("original_name") or fields.get("name") or fields.get("id") or "?"
            raise InvalidToolError(
                f"tool {label!r} is invalid: {validation_problems(exc, 'tool')}"
            ) from None

    @classmethod
    def named(cls, name: str, *, id: str | None = None, **fields: Any) -> Tool:
        """A tool whose ``name`` may be any text (e.g. ToolBench's ``"tool: api"``): an invalid name is
        mapped by ``valid_tool_name`` (keyed by ``id``) and the original kept in ``original_name``."""
        if not isinstance(name, str) or not name.strip():
            raise InvalidToolError(f"tool {id or '?'!r}: name must be non-empty text, got {name!r}")
        valid = valid_tool_name(name, key=id)
        original = None if valid == name else name
        return cls(name=valid, original_name=original, id=id or valid, **fields)

    @classmethod
    def from_function(
        cls, fn: Callable[..., Any], *, name: str | None = None, description: str | None = None
    ) -> Tool:
        """A tool from a Python function: its signature (through pydantic) becomes the parameters'
        JSON Schema, its docstring the description and the parameters' descriptions."""
        doc = inspect.getdoc(fn) or ""
        summary, param_docs = _parse_docstring(doc)
        fields: dict[str, Any] = {}
        context_params: list[str] = []
        hints = _type_hints(fn)
        for pname, param in inspect.signature(fn).parameters.items():
            if param.kind in (param.VAR_POSITIONAL, param.VAR_KEYWORD) or pname in ("self", "cls"):
                continue
            annotation = hints.get(
                pname, param.annotation if param.annotation is not inspect.Parameter.empty else Any
            )
            if is_run_context(annotation):
                context_params.append(pname)  # filled in by the agent, not by the model
                continue
            default = param.default if param.default is not inspect.Parameter.empty else ...
            fields[pname] = (annotation, Field(default, description=param_docs.get(pname)))
        try:
            model = create_model(f"{fn.__name__}_arguments", **fields)
            schema = model.model_json_schema()
        except Exception as exc:  # pydantic cannot express some annotations as JSON Schema
            raise InvalidToolError(
                f"tool {fn.__name__!r}: its signature cannot be turned into a JSON Schema ({exc}); "
                "annotate parameters with JSON-compatible types"
            ) from None
        return cls(
            name=name or fn.__name__,
            description=description if description is not None else summary,
            parameters=_strip_titles(schema),
            fn=_typed_call(fn, model, context_params),
        )

    @classmethod
    def from_openai(cls, definition: dict[str, Any]) -> Tool:
        """A tool from an OpenAI tool definition, ``{"type": "function", "function": {...}}`` or the
        bare function object."""
        if not isinstance(definition, dict):
            raise InvalidToolError(
                f"an OpenAI tool definition must be an object, got {type(definition).__name__}"
            )
        function = (
            definition.get("function", definition)
            if definition.get("type", "function") == "function"
            else None
        )
        if not isinstance(function, dict) or "name" not in function:
            raise InvalidToolError(
                f"not an OpenAI function tool: {json.dumps(definition)[:120]}; "
                'expected {"type": "function", "function": {"name": ..., "description": ..., "parameters": {...}}}'
            )
        return cls(
            name=function["name"],
            description=function.get("description") or "",
            parameters=function.get("parameters") or dict(_EMPTY_PARAMETERS),
        )

    # Views ------------------------------------------------------------------------------------

    # pydantic's BaseModel.schema is its deprecated v1 classmethod; this one is the tool's definition.
    def schema(self) -> dict[str, Any]:  # type: ignore[override]
        """The OpenAI tool definition the model is offered."""
        return {
            "type": "function",
            "function": {
                "name": self.name,
                "description": self.description,
                "parameters": self.parameters,
            },
        }

    @property
    def label(self) -> str:
        """The name a person knows the tool by (the original one, when it had to be mapped)."""
        return self.original_name or self.name

    @property
    def parameter_names(self) -> list[str]:
        """The top-level parameter names, in schema order."""
        return list((self.parameters.get("properties") or {}).keys())


def tools_from_mcp(result: str | bytes | dict[str, Any]) -> list[Tool]:
    """Tools from an MCP ``tools/list`` result: the JSON text or the parsed object, either the bare
    result ``{"tools": [...]}`` or the whole JSON-RPC response ``{"result": {"tools": [...]}}``.

    MCP allows names (e.g. with dots) that function names do not; those are mapped by
    ``valid_tool_name`` and kept in ``original_name``.
    """
    if isinstance(result, (str, bytes)):
        try:
            result = json.loads(result)
        except json.JSONDecodeError as exc:
            raise InvalidToolError(f"the MCP tools/list result is not JSON: {exc}") from None
    if isinstance(result, dict) and isinstance(result.get("result"), dict):
        result = result["result"]
    if not isinstance(result, dict) or not isinstance(result.get("tools"), list):
        raise InvalidToolError('an MCP tools/list result must be an object with a "tools" array')
    tools = []
    for n, entry in enumerate(result["tools"]):
        if not isinstance(entry, dict) or not isinstance(entry.get("name"), str):
            raise InvalidToolError(f'MCP tool #{n} has no text "name": {json.dumps(entry)[:120]}')
        extra = {k: entry[k] for k in ("title", "annotations") if k in entry}
        tools.append(
            Tool.named(
                entry["name"],
                description=entry.get("description") or "",
                parameters=entry.get("inputSchema") or dict(_EMPTY_PARAMETERS),
                metadata=extra,
            )
        )
    return tools


# Docstrings -----------------------------------------------------------------------------------

_SECTION = re.compile(
    r"^(Args|Arguments|Parameters|Params|Keyword Args|Returns?|Raises|Yields|Examples?|Notes?|See Also)\s*:?\s*$"
)
_PARAM_SECTIONS = ("args", "arguments", "parameters", "params", "keyword args")
# "city (str): The city." / "city : str"
_GOOGLE_PARAM = re.compile(r"^(\*{0,2}\w+)\s*(?:\([^)]*\))?\s*:\s*(.*)$")
_SPHINX_PARAM = re.compile(r"^:param\s+(?:[^:\s]+\s+)?(\w+)\s*:\s*(.*)$")


def _parse_docstring(doc: str) -> tuple[str, dict[str, str]]:
    """The summary (text before the first section) and per-parameter descriptions, from a Google,
    NumPy or Sphinx style docstring."""
    summary: list[str] = []
    params: dict[str, str] = {}
    section: str | None = None
    current: str | None = None
    param_indent = 0
    numpy = False
    lines = doc.splitlines()
    for i, line in enumerate(lines):
        stripped = line.strip()
        indent = len(line) - len(line.lstrip())
        underlined = i + 1 < len(lines) and stripped and set(lines[i + 1].strip()) == {"-"}
        header = _SECTION.match(stripped)
        if header or underlined:
            section, current = (header.group(1) if header else stripped).lower(), None
            numpy = bool(underlined)
            continue
        if stripped and set(stripped) == {"-"}:
            continue
        sphinx = _SPHINX_PARAM.match(stripped)
        if sphinx:
            section, current = "sphinx", sphinx.group(1)
            params[current] = sphinx.group(2).strip()
        elif section is None:
            summary.append(line)
        elif section in _PARAM_SECTIONS:
            match = _GOOGLE_PARAM.match(stripped)
            if match and (current is None or indent <= param_indent):
                current, param_indent = match.group(1).lstrip("*"), indent
                # NumPy style ("city : str", underlined section) puts the type after the colon and
                # the description on the lines below; Google style puts the description there.
                params[current] = "" if numpy else match.group(2).strip()
            elif current and stripped:
                params[current] = f"{params[current]} {stripped}".strip()
        elif section == "sphinx" and current and stripped and not stripped.startswith(":"):
            params[current] = f"{params[current]} {stripped}".strip()
    return "\n".join(summary).strip(), params


def _strip_titles(schema: Any) -> Any:
    """Pydantic's schema without the ``title`` keys it adds (noise, in tokens, for the model)."""
    if isinstance(schema, dict):
        out = {}
        for key, value in schema.items():
            if key == "title" and isinstance(value, str):
                continue
            if key == "properties" and isinstance(value, dict):
                out[key] = {name: _strip_titles(sub) for name, sub in value.items()}
            else:
                out[key] = _strip_titles(value)
        return out
    if isinstance(schema, list):
        return [_strip_titles(v) for v in schema]
    return schema


def _type_hints(fn: Callable[..., Any]) -> dict[str, Any]:
    """``fn``'s resolved annotations (strings under ``from __future__ import annotations`` too)."""
    try:
        return typing.get_type_hints(fn)
    except Exception:  # an annotation that does not resolve: the signature's own objects serve
        return {}


def _typed_call(
    fn: Callable[..., Any], arguments: type[BaseModel], context_params: list[str]
) -> Callable[..., Any]:
    """``fn`` called with the model's JSON arguments converted to its annotated types (pydantic models,
    enums, dates, ...) and its ``RunContext`` parameters filled in; arguments that do not convert raise
    ``ToolError`` naming each problem (the executor hands that to the model)."""

    names = list(arguments.model_fields)

    def convert(args: tuple[Any, ...], raw: dict[str, Any]) -> dict[str, Any]:
        raw = {**dict(zip(names, args)), **raw}  # positional calls from Python code
        try:
            parsed = arguments.model_validate(raw)
        except ValidationError as exc:
            problems = validation_problems(exc, "arguments")
            raise ToolError(f"invalid arguments: {problems}; fix them and call it again") from None
        values = {name: getattr(parsed, name) for name in names}
        if context_params:
            context = current_run_context()
            values.update((name, context) for name in context_params)
        return values

    if inspect.iscoroutinefunction(fn):

        @functools.wraps(fn)
        async def call_async(*args: Any, **raw: Any) -> Any:
            return await fn(**convert(args, raw))

        return call_async

    @functools.wraps(fn)
    def call(*args: Any, **raw: Any) -> Any:
        return fn(**convert(args, raw))

    return call
