import subprocess
import sys
import textwrap
import warnings

import pytest

from contextos import TiktokenCounter, TokenizerError, TokenizerWarning
from contextos.context.tokens import count_request, encoding_for_model, load_encoding
from tests.conftest import ROOT


def test_counts_match_tiktoken_reference_ids():
    counter = TiktokenCounter(encoding="cl100k_base")
    # "hello world" is [15339, 1917] in cl100k_base, as published in tiktoken's README.
    assert counter.encode("hello world") == [15339, 1917]
    assert counter.count("hello world") == 2


def test_counting_works_with_no_network():
    script = textwrap.dedent(
        """
        import socket
        def refuse(*a, **k):
            raise OSError("network disabled in this test")
        socket.socket.connect = refuse
        socket.create_connection = refuse
        import os
        os.environ.pop("TIKTOKEN_CACHE_DIR", None)
        from contextos import TiktokenCounter
        for enc in ("cl100k_base", "o200k_base"):
            print(TiktokenCounter(encoding=enc).count("The quick brown fox jumps over the lazy dog."))
        """
    )
    out = subprocess.run(
        [sys.executable, "-c", script],
        capture_output=True,
        text=True,
        cwd=ROOT,
        env={
            "PYTHONPATH": str(ROOT),
            "TIKTOKEN_CACHE_DIR": "/nonexistent",
            "PATH": "/usr/bin:/bin",
        },
        timeout=60,
    )
    assert out.returncode == 0, out.stderr
    assert out.stdout.split() == ["10", "10"]


@pytest.mark.parametrize(
    "model, encoding",
    [
        ("gpt-4o-mini", "o200k_base"),
        ("openai/gpt-4", "cl100k_base"),
        ("gpt-3.5-turbo", "cl100k_base"),
        ("o3-mini", "o200k_base"),
    ],
)
def test_model_names_map_to_their_encoding(model, encoding):
    assert encoding_for_model(model) == encoding


def test_unknown_model_falls_back_with_a_warning():
    with pytest.warns(TokenizerWarning, match="approximate"):
        counter = TiktokenCounter(model="hosted_vllm/some-org/never-heard-of-it")
    assert counter.encoding_name == "o200k_base"


def test_unknown_encoding_is_an_error():
    with pytest.raises(TokenizerError, match="ships"):
        load_encoding("r50k_base")


def test_request_count_includes_chat_overhead():
    counter = TiktokenCounter(encoding="o200k_base")
    messages = [{"role": "system", "content": "Be brief."}, {"role": "user", "content": "Hi"}]
    bare = counter.count("Be brief.") + counter.count("Hi")
    assert count_request(counter, messages, None) == bare + 2 * 3 + 3
    tool = {
        "type": "function",
        "function": {"name": "get_weather", "parameters": {"type": "object"}},
    }
    assert counter.count_request(messages, [tool]) > counter.count_request(messages)


def test_counts_are_cached():
    counter = TiktokenCounter(encoding="o200k_base")
    text = "a moderately long text " * 50
    counter.count(text)
    calls = []
    original = counter._encoding.encode
    counter._encoding.encode = lambda *a, **k: calls.append(1) or original(*a, **k)
    counter.count(text)
    assert calls == []


def test_warning_fires_once_per_model():
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        for _ in range(3):
            TiktokenCounter(model="hosted_vllm/once-only-model")
    assert len([w for w in caught if issubclass(w.category, TokenizerWarning)]) == 1
