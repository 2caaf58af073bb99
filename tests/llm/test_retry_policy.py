"""RetryPolicy's waits: exponential backoff spread by random jitter, and Retry-After given as an HTTP date."""

from __future__ import annotations

import dataclasses
import time
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime

import pytest
from tenacity import RetryCallState, Retrying

from contextos import RateLimitedError
from contextos.llm import RetryPolicy
from contextos.testing import FakeModelServer, Fault, Reply

from .conftest import USER
from .test_faults import _client


def _state(attempt_number: int) -> RetryCallState:
    state = RetryCallState(retry_object=Retrying(), fn=None, args=(), kwargs={})
    state.attempt_number = attempt_number
    return state


def test_jitter_spreads_the_waits_within_its_bound() -> None:
    policy = RetryPolicy(initial_wait_s=0.1, multiplier=2, max_wait_s=20, jitter_s=0.5)
    for attempt, base in ((1, 0.1), (2, 0.2), (3, 0.4)):
        waits = [policy.wait_s(_state(attempt), None) for _ in range(200)]
        assert all(base <= w <= base + 0.5 for w in waits)
        # many clients failing together do not retry in lockstep
        assert max(waits) - min(waits) > 0.3


def test_retry_after_raises_the_wait_but_never_past_its_cap() -> None:
    policy = RetryPolicy(initial_wait_s=0.1, jitter_s=0, max_retry_after_s=5)
    assert policy.wait_s(_state(1), 3.0) == 3.0
    assert policy.wait_s(_state(1), 90.0) == 5.0
    # a shorter Retry-After does not cut the backoff
    assert policy.wait_s(_state(1), 0.01) == pytest.approx(0.1)
    ignoring = RetryPolicy(initial_wait_s=0.1, jitter_s=0, honour_retry_after=False)
    assert ignoring.wait_s(_state(1), 3.0) == pytest.approx(0.1)


async def test_retry_after_as_an_http_date_is_honoured(server: FakeModelServer, attempts) -> None:
    asked_at = time.monotonic()
    when = format_datetime(datetime.now(UTC) + timedelta(seconds=30), usegmt=True)
    dated = dataclasses.replace(Fault.rate_limit(retry_after=None), headers={"Retry-After": when})
    server.enqueue(dated, Reply.text("ok"))
    retry = RetryPolicy(max_attempts=2, initial_wait_s=0.01, jitter_s=0, max_retry_after_s=0.3)
    completion = await _client(server, attempts, retry=retry).acomplete(USER)
    elapsed = time.monotonic() - asked_at
    first = completion.attempts[0]
    assert first.outcome == RateLimitedError.__name__
    # 30 s from when the date was written, in whole seconds, less the time until the client read it.
    assert 30 - elapsed - 1 <= first.retry_after_s <= 30
    assert first.wait_s == pytest.approx(0.3)  # the date asked for more than the cap allows
    assert completion.content == "ok"
