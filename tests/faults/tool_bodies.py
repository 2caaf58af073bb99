"""Module-level tool functions: an isolated tool's process imports them by name."""

from __future__ import annotations

import os
import time
from pathlib import Path


def spin(pid_file: str) -> str:
    """Writes its process id, then never returns (and never sleeps: it holds a CPU).

    Args:
        pid_file: Where to write the process id.
    """
    Path(pid_file).write_text(str(os.getpid()))
    while True:
        time.monotonic()


def add(a: int, b: int) -> int:
    """Adds.

    Args:
        a: A number.
        b: Another.
    """
    return a + b


def fail(message: str) -> str:
    """Raises ValueError(message).

    Args:
        message: The message.
    """
    raise ValueError(message)
