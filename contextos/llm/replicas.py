"""``ReplicaClient``: one model served by several vLLM servers, each session kept on one of them.

```python
client = ModelClient.replicas(
    "hosted_vllm/Qwen/Qwen2.5-7B-Instruct", ["http://gpu-0:8000/v1", "http://gpu-1:8000/v1"]
)
result = await Agent("helper", client).arun(task)     # every step of this run on one replica
with session("conversation-42"):                       # or: several calls, one replica
    await client.acomplete(messages)
```

Calls go through a ``litellm.Router`` whose deployments are the replicas (one model group, each
deployment's id ``replica-<i>``); contextos picks the deployment (``contextos.llm.affinity``): the
session's replica, else the least used one. The session key is the open ``session``'s (an agent
run opens one with its run id), else the current trace's id, else there is none and calls rotate.

When a replica fails (connection refused, 5xx), the call moves at once to the next replica (no
backoff: another server is there), the failed one is marked down for ``down_s`` seconds and the
session stays where the call succeeded. The replica that answered is on the ``chat`` span
(``server.address``, ``server.port``, ``contextos.replica``, and ``contextos.replica.failed``
after a failover); when every replica fails, ``AllModelsFailedError`` names each of them.

Why contextos and not the Router keeps the affinity: litellm's own session affinity exists only in
its newest releases (contextos supports litellm >= 1.60), and its cooldowns skip connection
errors, which is how a dead server fails. The Router still sends each request (a client per replica).
"""

from __future__ import annotations

import threading
from collections.abc import Sequence
from typing import Any
from urllib.parse import urlsplit

from opentelemetry import trace

from contextos.errors import (
    AllModelsFailedError,
    ConfigError,
    ModelConnectionError,
    ModelError,
    ModelServerError,
)
from contextos.llm._offline import is_offline_model
from contextos.llm._runtime import load_litellm
from contextos.llm.affinity import ReplicaSet, ReplicaState, current_session, session
from contextos.llm.client import ModelClient, _AttemptLog
from contextos.llm.retry import is_retryable, tries_next_model
from contextos.llm.types import Endpoint
from contextos.tracing import _attributes as A
from contextos.tracing.redact import redact_text

_DEAD: tuple[type[ModelError], ...] = (ModelConnectionError, ModelServerError)
"""Failures that move a call to another replica at once, without retrying the same one."""

__all__ = ["ReplicaClient", "session", "session_key"]


def session_key() -> str | None:
    """The key that keeps the current call on one replica: the open ``session``'s, else the current
    trace's id (one run), else None."""
    key = current_session()
    if key is not None:
        return key
    context = trace.get_current_span().get_span_context()
    return format(context.trace_id, "032x") if context.is_valid else None


class ReplicaClient(ModelClient):
    """A ``ModelClient`` over several servers of one model; build it with ``ModelClient.replicas``.

    ``fallbacks`` (other models, tried when every replica failed) are best given as ``Endpoint``: a
    plain string shares the first replica's address.
    """

    def __init__(
        self,
        model: str,
        api_bases: Sequence[str],
        *,
        api_key: str | None = None,
        down_s: float = 30.0,
        max_sessions: int = 100_000,
        **kwargs: Any,
    ) -> None:
        if kwargs.get("api_base"):
            raise ConfigError(
                "ModelClient.replicas takes the servers as api_bases=[...], not api_base."
            )
        if isinstance(model, str) and is_offline_model(model):
            raise ConfigError(f"{model} runs in this process: it has no replicas to spread over.")
        self.replica_set = ReplicaSet(api_bases, down_s=down_s, max_sessions=max_sessions)
        """Which replica serves which session; which replicas are down."""
        first = self.replica_set.replicas[0].api_base
        super().__init__(model, api_base=first, api_key=api_key, **kwargs)
        self._replicas = {
            Endpoint(model=self.model, api_base=r.api_base, api_key=api_key): r
            for r in self.replica_set.replicas
        }
        self._endpoints = {r: e for e, r in self._replicas.items()}
        self._router_lock = threading.Lock()

    def __repr__(self) -> str:
        bases = [r.api_base for r in self.replica_set.replicas]
        return redact_text(f"ModelClient.replicas({self.model!r}, {bases!r})")

    def replica_status(self) -> list[ReplicaState]:
        """Each replica: whether it is marked down (and for how long) and how many sessions it holds."""
        return self.replica_set.status()

    def warmup(self) -> None:
        """Import litellm and build the Router (about a second), off the first call's clock."""
        self._router(load_litellm())

    # -- the ModelClient hooks --------------------------------------------------------------
    def _route(self) -> Sequence[Endpoint]:
        order = self.replica_set.order(session_key())
        return [self._endpoints[r] for r in order] + list(self.endpoints[1:])

    def _transport(self, litellm: Any, endpoint: Endpoint) -> Any:
        return self._router(litellm) if endpoint in self._replicas else litellm

    def _kwargs(self, endpoint: Endpoint, request: dict[str, Any]) -> dict[str, Any]:
        replica = self._replicas.get(endpoint)
        if replica is None:
            return super()._kwargs(endpoint, request)
        # the Router's deployment id: it holds the api_base and api_key
        return {**request, "model": replica.id, "timeout": self.timeout}

    def _retryable(self, endpoint: Endpoint, error: BaseException) -> bool:
        replica = self._replicas.get(endpoint)
        if replica is not None and isinstance(error, _DEAD):
            others = (r for r in self.replica_set.replicas if r != replica)
            if any(not self.replica_set.is_down(r) for r in others):
                return False  # another replica is up: go there now
        return is_retryable(error)

    def _settle(self, endpoint: Endpoint, log: _AttemptLog, error: ModelError | None) -> None:
        replica = self._replicas.get(endpoint)
        if replica is None:
            return
        if error is not None:
            if tries_next_model(error):  # a bad request is not the replica's fault
                self.replica_set.failed(replica)
            return
        key = session_key()
        self.replica_set.answered(replica, key)
        span = trace.get_current_span()
        if not span.is_recording():
            return
        address = redact_text(replica.api_base)
        where = urlsplit(replica.api_base)
        attributes: dict[str, Any] = {A.REPLICA: address, A.SERVER_ADDRESS: where.hostname or ""}
        if where.port:
            attributes[A.SERVER_PORT] = where.port
        if key is not None:
            attributes[A.REPLICA_SESSION] = key
        known = {redact_text(r.api_base) for r in self.replica_set.replicas}
        failed = [a.api_base for a in log.attempts if not a.ok and a.api_base in known - {address}]
        if failed:
            attributes[A.REPLICA_FAILED] = list(dict.fromkeys(failed))
        span.set_attributes(attributes)

    def _all_failed(self, errors: list[ModelError], log: _AttemptLog) -> ModelError:
        if len(errors) == 1:
            return errors[0]
        bases = ", ".join(redact_text(r.api_base) for r in self.replica_set.replicas)
        also = (
            f" and {len(self.endpoints) - 1} fallback model(s)" if len(self.endpoints) > 1 else ""
        )
        return AllModelsFailedError(
            f"All {len(self.replica_set.replicas)} replicas of {self.model} ({bases}){also} failed: "
            + "; ".join(str(e) for e in errors)
            + ". Check each server's /health; a replica that failed is tried last for "
            f"{self.replica_set.down_s:g} s.",
            errors=errors,
            attempts=len(log.attempts),
        )

    def _router(self, litellm: Any) -> Any:
        with self._router_lock:
            if self.router is None:
                key = self.endpoints[0].api_key
                self.router = litellm.Router(
                    model_list=[
                        {
                            "model_name": self.model,
                            "litellm_params": {
                                "model": self.model,
                                "api_base": r.api_base,
                                **({"api_key": key} if key else {}),
                            },
                            "model_info": {"id": r.id},
                        }
                        for r in self.replica_set.replicas
                    ],
                    num_retries=0,  # the client retries and fails over
                    disable_cooldowns=True,  # the ReplicaSet marks replicas down
                )
            return self.router
