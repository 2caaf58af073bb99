"""Binding your functions to catalog tools by name.

A ``ToolCatalog`` holds descriptions and schemas, not code: a tool retrieved from it runs through the
executor's ``fallback``. ``implementations`` builds that fallback from a mapping of tool names to
functions, converting the model's JSON arguments to each function's annotated types (pydantic
models, enums, dates) before the call:

```python
executor = ToolExecutor(fallback=implementations({"book_table": book_table, "send_sms": send_sms}))
agent = Agent(client, catalog=catalog, executor=executor)
```
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from pydantic import ValidationError, validate_call

from contextos._checked import validation_problems
from contextos.errors import ToolError, ToolNotFoundError
from contextos.tools.executor import Fallback
from contextos.tools.tool import Tool, valid_tool_name


def implementations(functions: Mapping[str, Callable[..., Any]]) -> Fallback:
    """A ``ToolExecutor`` fallback that runs each catalog tool with the function given for its name
    (the tool's ``name`` as stored, or the name before ``valid_tool_name`` mapped it). The executor turns a
    tool with no function here, or arguments that do not convert to the function's types, into a
    failed result that tells the model what was wrong."""
    bound = {}
    for name, function in functions.items():
        if not callable(function):
            raise ToolError(
                f"the implementation of {name!r} is a {type(function).__name__}, not a function"
            )
        bound[name] = validate_call(function)
        bound.setdefault(valid_tool_name(name), bound[name])

    def run(tool: Tool, arguments: dict[str, Any]) -> Any:
        function = bound.get(tool.name) or bound.get(tool.label)
        if function is None:
            raise ToolNotFoundError(
                f"the tool {tool.name!r} has no implementation here; answer without it"
            )
        try:
            return function(**arguments)
        except ValidationError as exc:
            problems = validation_problems(exc, "arguments")
            raise ToolError(
                f"invalid arguments for {tool.name}: {problems}; fix them and call it again"
            ) from None

    return run
