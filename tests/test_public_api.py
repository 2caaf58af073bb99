"""The public surface: every public name is exported, and importing contextos stays light."""

import subprocess
import sys

import contextos
from tests.conftest import ROOT


def test_all_is_sorted_and_complete():
    assert contextos.__all__ == sorted(contextos.__all__)
    for name in contextos.__all__:
        assert getattr(contextos, name) is not None


def test_every_exception_is_exported_and_under_the_root():
    from contextos import errors

    classes = [v for v in vars(errors).values() if isinstance(v, type) and issubclass(v, Exception)]
    for cls in classes:
        assert issubclass(cls, contextos.ContextOSError)
        assert cls.__name__ in contextos.__all__, f"{cls.__name__} is not exported"
        assert cls.__name__ in errors.__doc__, (
            f"{cls.__name__} is missing from the tree in errors.py"
        )


def test_import_does_not_load_heavy_dependencies():
    code = "import sys, contextos; print(sorted(m for m in ('litellm', 'lancedb', 'pyarrow', 'torch', 'openai') if m in sys.modules))"
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT, timeout=60
    )
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "[]"
