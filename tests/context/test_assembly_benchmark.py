"""benchmarks/assembly.py's long chat still runs and checks what it claims, at a size that proves it runs
(two steps of a 40-message chat), not what it measures."""

from __future__ import annotations

import importlib.util
import sys

from tests.conftest import ROOT


def test_the_long_chat_benchmark_keeps_a_contiguous_alternating_suffix(shared_data) -> None:
    spec = importlib.util.spec_from_file_location(
        "assembly_benchmark", ROOT / "benchmarks" / "assembly.py"
    )
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    try:
        spec.loader.exec_module(module)
        texts = module.passages()
        assert len(texts) > 1000
        results = module.long_chat(40, 2, texts)
    finally:
        del sys.modules[spec.name]
    *_, kept, checks = results["contextos"]
    assert checks == (2, 2, 2) and 0 < kept < 42
    # with the bench extra: both keep the same newest turns
    if "langchain trim_messages" in results:
        assert results["langchain trim_messages"][2] == kept
