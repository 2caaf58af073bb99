"""contextos.tracing._otel_compat against the installed OpenTelemetry: each private name it reads
behaves as the public API says, the installed release is in the range pyproject.toml pins, and no
other module of contextos reaches into OpenTelemetry's internals."""

from __future__ import annotations

import re
import subprocess
import sys
import tomllib
from importlib import metadata

from opentelemetry import context, trace
from opentelemetry.sdk.trace import TracerProvider
from packaging.requirements import Requirement

from contextos.tracing import _otel_compat as compat
from tests.conftest import ROOT


def test_the_installed_release_is_in_the_pinned_range():
    pins = {
        Requirement(r).name: Requirement(r)
        for r in tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["dependencies"]
    }
    for package in ("opentelemetry-api", "opentelemetry-sdk"):
        installed = metadata.version(package)
        assert pins[package].specifier, f"{package} has no version range in pyproject.toml"
        assert pins[package].specifier.contains(installed), (
            f"{package} {installed} is outside {pins[package].specifier}: run "
            "tests/tracing/test_otel_compat.py against it and widen the range in pyproject.toml"
        )


def test_the_current_context_is_opentelemetrys_contextvar():
    assert compat.CURRENT is not None, "the fast path is off: _RUNTIME_CONTEXT changed shape"
    assert compat.CURRENT.get() is context.get_current()
    span = trace.NonRecordingSpan(trace.INVALID_SPAN_CONTEXT)
    token = context.attach(trace.set_span_in_context(span))  # set through the API ...
    try:
        assert compat.CURRENT.get().get(compat.SPAN_KEY) is span  # ... read through the variable
    finally:
        context.detach(token)
    token = compat.CURRENT.set(context.Context({**compat.CURRENT.get(), compat.SPAN_KEY: span}))
    try:
        assert trace.get_current_span() is span  # and the other way round
    finally:
        compat.CURRENT.reset(token)
    assert trace.get_current_span() is not span


def test_the_span_key_is_where_set_span_in_context_puts_the_span():
    span = trace.NonRecordingSpan(trace.INVALID_SPAN_CONTEXT)
    assert compat.SPAN_KEY
    assert trace.set_span_in_context(span).get(compat.SPAN_KEY) is span


def test_root_trace_flags_are_the_sdks():
    provider = TracerProvider()
    with provider.get_tracer("t").start_as_current_span("root") as root:
        assert root.get_span_context().trace_flags == compat.ROOT_TRACE_FLAGS


def test_global_provider_and_the_hung_pipeline():
    """In a fresh process: before a provider is set, the proxy; after, the one set."""
    code = (
        "from opentelemetry import trace\n"
        "from opentelemetry.sdk.trace import TracerProvider\n"
        "from contextos.tracing import _otel_compat as c\n"
        "assert type(c.global_provider()).__name__ == 'ProxyTracerProvider'\n"
        "p = TracerProvider(); trace.set_tracer_provider(p)\n"
        "assert c.global_provider() is p is trace.get_tracer_provider()\n"
        "assert c.pipeline_of(p) is None\n"
        "marker = object(); c.hang_pipeline(p, marker)\n"
        "assert c.pipeline_of(c.global_provider()) is marker\n"
        "print('ok')\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT, timeout=60
    )
    assert out.stdout.strip() == "ok", out.stderr


# names private to OpenTelemetry (or patched onto its objects) that only the compat module may use
PRIVATE = re.compile(
    r"_TRACER_PROVIDER|_RUNTIME_CONTEXT|_SPAN_KEY|_current_context|_contextos_pipeline|"
    r"\b(?:trace|otel_context|propagation|provider)\._[A-Za-z]"
)


def test_no_other_module_touches_opentelemetry_internals():
    offenders = [
        f"{path.relative_to(ROOT)}:{n}: {line.strip()}"
        for path in (ROOT / "contextos").rglob("*.py")
        if path.name != "_otel_compat.py"
        for n, line in enumerate(path.read_text().splitlines(), 1)
        if PRIVATE.search(line)
    ]
    assert not offenders, "move these into contextos/tracing/_otel_compat.py:\n" + "\n".join(
        offenders
    )
