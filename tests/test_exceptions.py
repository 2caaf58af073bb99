"""Every contextos exception survives a pickle round trip with its message and attributes."""

from __future__ import annotations

import pickle

import pytest

from contextos import errors


def _classes():
    return [
        v
        for v in vars(errors).values()
        if isinstance(v, type) and issubclass(v, errors.ContextOSError)
    ]


def _make(cls):
    if cls is errors.AllModelsFailedError:
        return cls(
            "every model failed",
            errors=[errors.ModelServerError("500 from a", model="a", attempts=3)],
            attempts=4,
        )
    if issubclass(cls, errors.ModelError):
        return cls("the call failed", model="hosted_vllm/m", attempts=2)
    return cls("something was wrong; do this")


@pytest.mark.parametrize("cls", _classes(), ids=lambda c: c.__name__)
def test_pickle_round_trip(cls):
    error = _make(cls)
    back = pickle.loads(pickle.dumps(error))
    assert (
        type(back) is cls
        and str(back) == str(error)
        and back.__dict__.keys() == error.__dict__.keys()
    )
    if isinstance(error, errors.ModelError):
        assert (back.model, back.attempts) == (error.model, error.attempts)
    if isinstance(error, errors.AllModelsFailedError):
        assert [str(e) for e in back.errors] == ["500 from a"] and back.errors[0].model == "a"


def test_a_message_with_a_password_is_redacted_and_stays_so_after_pickling():
    error = errors.ModelConnectionError(
        "cannot reach http://app:s3cret@10.0.0.1:8000/v1", model="m"
    )
    assert "s3cret" not in str(error) and "s3cret" not in str(pickle.loads(pickle.dumps(error)))
