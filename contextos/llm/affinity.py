"""Session affinity over model replicas: which replica serves which session, and which replicas are down.

A *session* is a stable key for calls that share a growing prompt prefix: the steps of one agent run
(the agent uses its run id), or the turns of one conversation (``with session("conversation-42"):``).
Keeping a session on one vLLM replica keeps that replica's prefix cache hitting; spreading its calls
would make every replica recompute the shared prefix.

>>> replicas = ReplicaSet(["http://gpu-0:8000/v1", "http://gpu-1:8000/v1"], down_s=30)
>>> first = replicas.order("run-1")[0]          # a new session: the replica with fewest sessions
>>> replicas.answered(first, "run-1")           # it answered: run-1 is pinned there
>>> replicas.order("run-2")[0].api_base         # the next new session goes to the other one
'http://gpu-1:8000/v1'
>>> replicas.failed(first)                      # run-1's replica fails: tried last for 30 s
>>> [r.api_base for r in replicas.order("run-1")]
['http://gpu-1:8000/v1', 'http://gpu-0:8000/v1']

``ReplicaClient`` (``ModelClient.replicas``) keeps this state; this module holds no network code.
"""

from __future__ import annotations

import threading
import time
from collections import OrderedDict
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass

from contextos.errors import ConfigError

_SESSION: ContextVar[str | None] = ContextVar("contextos_model_session", default=None)


@contextmanager
def session(key: str) -> Iterator[str]:
    """Model calls inside this block go to the same replica (until it fails): ``key`` names the session.

    ```python
    with session(conversation_id):
        await client.acomplete(messages)
    ```
    """
    if not isinstance(key, str) or not key:
        raise ConfigError(f"A session key must be a non-empty string, got {key!r}.")
    token = _SESSION.set(key)
    try:
        yield key
    finally:
        _SESSION.reset(token)


@contextmanager
def default_session(key: str | None) -> Iterator[str | None]:
    """``session(key)`` unless a session is already open (then that one stays): what an agent run
    opens with its run id, so that a caller's conversation-wide session wins over a single run's.
    With no key and no open session, nothing is opened (calls fall back to the trace id)."""
    key = current_session() or key
    if key is None:
        yield None
        return
    with session(key) as chosen:
        yield chosen


def current_session() -> str | None:
    """The key of the innermost open ``session``, or None."""
    return _SESSION.get()


@dataclass(frozen=True)
class Replica:
    """One server of a model: its position and address."""

    index: int
    """Its position in the list it was given in."""
    api_base: str
    """Its OpenAI-compatible base URL, e.g. ``http://gpu-0:8000/v1``."""

    @property
    def id(self) -> str:
        """Its deployment id in the litellm Router: ``replica-<index>``."""
        return f"replica-{self.index}"


@dataclass(frozen=True)
class ReplicaState:
    """What ``ReplicaSet.status`` says of one replica."""

    replica: Replica
    down_for_s: float
    """Seconds it stays marked down (0.0: it is up)."""
    sessions: int
    """Sessions pinned to it."""


class ReplicaSet:
    """Which replica each session is pinned to, and which replicas are marked down (thread-safe).

    A new session goes to the up replica with the fewest pinned sessions; a session stays on its
    replica while that replica is up. A replica that failed a call is down for ``down_s`` seconds:
    its sessions are tried elsewhere first, and the replica that answers becomes theirs (they stay
    there when the first one comes back, since their prefix is now cached where they moved).
    Calls without a session rotate over the up replicas. At most ``max_sessions`` pins are kept
    (the least recently used go first).
    """

    def __init__(
        self,
        api_bases: Sequence[str],
        *,
        down_s: float = 30.0,
        max_sessions: int = 100_000,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        if isinstance(api_bases, str) or not api_bases:
            raise ConfigError(
                "replicas need a list of at least one server URL, e.g. "
                "['http://gpu-0:8000/v1', 'http://gpu-1:8000/v1']."
            )
        bases = [str(b).rstrip("/") for b in api_bases]
        for base in bases:
            if not base.startswith(("http://", "https://")):
                raise ConfigError(
                    f"A replica's URL must be http:// or https://, such as http://127.0.0.1:8000/v1, got {base!r}."
                )
        duplicates = sorted({b for b in bases if bases.count(b) > 1})
        if duplicates:
            raise ConfigError(f"Replica URLs must differ; given more than once: {duplicates}.")
        if isinstance(down_s, bool) or not isinstance(down_s, (int, float)) or down_s < 0:
            raise ConfigError(f"down_s must be a number of seconds >= 0, got {down_s!r}.")
        if isinstance(max_sessions, bool) or not isinstance(max_sessions, int) or max_sessions < 1:
            raise ConfigError(f"max_sessions must be a whole number >= 1, got {max_sessions!r}.")
        self.replicas: tuple[Replica, ...] = tuple(Replica(i, b) for i, b in enumerate(bases))
        """The replicas, in the order given."""
        self.down_s = float(down_s)
        """Seconds a replica that failed stays marked down."""
        self.max_sessions = max_sessions
        """Pins kept at most (the least recently used are forgotten first)."""
        self._clock = clock
        self._lock = threading.Lock()
        self._pins: OrderedDict[str, int] = OrderedDict()
        self._sessions = [0] * len(self.replicas)  # pins per replica, kept with _pins
        self._down_until: dict[int, float] = {}
        self._turn = 0

    def order(self, key: str | None) -> list[Replica]:
        """Every replica, in the order a call of session ``key`` should try them: its pinned replica if
        up (else the up replica with the fewest sessions), the other up ones, then the down ones (the
        soonest back first), so that a call still tries every server when all are marked down."""
        with self._lock:
            now = self._clock()
            up = [r for r in self.replicas if self._down_until.get(r.index, 0.0) <= now]
            down = sorted(
                (r for r in self.replicas if r not in up), key=lambda r: self._down_until[r.index]
            )
            if key is None:
                self._turn += 1
                start = self._turn % len(up) if up else 0
                return up[start:] + up[:start] + down
            up.sort(key=lambda r: (self._sessions[r.index], r.index))
            pinned = self._pins.get(key)
            if pinned is not None:
                self._pins.move_to_end(key)
                first = [r for r in up if r.index == pinned]
                up = first + [r for r in up if r.index != pinned]
            return up + down

    def answered(self, replica: Replica, key: str | None) -> None:
        """``replica`` answered a call of session ``key``: it is up and the session's replica."""
        with self._lock:
            self._down_until.pop(replica.index, None)
            if key is None:
                return
            before = self._pins.get(key)
            if before is not None:
                self._sessions[before] -= 1
            self._pins[key] = replica.index
            self._sessions[replica.index] += 1
            self._pins.move_to_end(key)
            while len(self._pins) > self.max_sessions:
                _, evicted = self._pins.popitem(last=False)
                self._sessions[evicted] -= 1

    def failed(self, replica: Replica) -> None:
        """``replica`` failed a call (after its retries): mark it down for ``down_s`` seconds."""
        with self._lock:
            self._down_until[replica.index] = self._clock() + self.down_s

    def is_down(self, replica: Replica) -> bool:
        """True while ``replica`` is marked down."""
        with self._lock:
            return self._down_until.get(replica.index, 0.0) > self._clock()

    def pinned(self, key: str) -> Replica | None:
        """The replica session ``key`` is pinned to, if any."""
        with self._lock:
            index = self._pins.get(key)
        return None if index is None else self.replicas[index]

    def status(self) -> list[ReplicaState]:
        """Each replica: how long it stays down, and how many sessions are pinned to it."""
        with self._lock:
            now = self._clock()
            return [
                ReplicaState(
                    replica=r,
                    down_for_s=max(0.0, self._down_until.get(r.index, 0.0) - now),
                    sessions=self._sessions[r.index],
                )
                for r in self.replicas
            ]
