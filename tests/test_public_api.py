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


def _type_checking_imports(path) -> dict[str, str]:
    """name -> module of the imports under ``if TYPE_CHECKING:`` in ``path``."""
    import ast

    found: dict[str, str] = {}
    for node in ast.parse(path.read_text()).body:
        if isinstance(node, ast.If) and getattr(node.test, "id", None) == "TYPE_CHECKING":
            for inner in node.body:
                assert isinstance(inner, ast.ImportFrom), ast.dump(inner)
                found.update({alias.name: inner.module for alias in inner.names})
    return found


def test_lazy_names_are_mirrored_for_type_checkers():
    """``from contextos import Agent`` is typed: every lazily loaded name is imported under
    TYPE_CHECKING from the module the lazy map loads it from, and nothing else is."""
    import contextos.tracing

    for package in (contextos, contextos.tracing):
        mirrored = _type_checking_imports(ROOT / package.__name__.replace(".", "/") / "__init__.py")
        assert mirrored == package._LAZY, package.__name__
        assert set(package._LAZY) <= set(package.__all__)
