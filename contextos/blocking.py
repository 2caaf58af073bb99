"""The one sync/async rule, and its guard.

Every operation that waits (a model call, a run, an assembly) is an ``async`` method, the primary
one; where code that is not async needs it too, a blocking twin with the same parameters runs it to
the end. Twins are named ``aname`` / ``name`` (``Agent.arun`` / ``Agent.run``, ``ModelClient.acomplete``
/ ``ModelClient.complete``), except ``Orchestrator.build`` / ``build_sync`` and ``Compressor.compress`` /
``compress_sync``, where the plain name is the async one (``compress`` is what a user's compressor
implements). ``tests/test_sync_twins.py`` checks that every twin takes the parameters of its async
method, with the same annotations.

```python
result = agent.run("Hi")              # a script
result = await agent.arun("Hi")       # inside async code: agent.run raises RunningLoopError there
```
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Coroutine
from typing import Any, TypeVar

from contextos.errors import RunningLoopError

T = TypeVar("T")


def run_blocking(start: Callable[[], Coroutine[Any, Any, T]], called: str, instead: str) -> T:
    """Run the coroutine ``start()`` makes to the end, from code that is not async.

    Inside a running event loop that cannot be done (the loop would block on itself):
    ``RunningLoopError`` then says to use ``instead`` there; ``start`` is not called, so no
    coroutine is left un-awaited.
    """
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        return asyncio.run(start())
    raise RunningLoopError(
        f"{called} was called inside a running event loop; use `{instead}` there"
    )
