"""Rename contextos's internal modules to private ones (``select.py`` -> ``_select.py``) and rewrite
every reference to them across the repository: imports, dotted names in strings (``mock.patch``
targets, ``python -m``), and file paths in docs and comments.

A module is private when it holds no name of its package's ``__all__``: users import from the
package (``from contextos.context import Orchestrator``); what a private module holds may move.

```bash
python scripts/private_modules.py --move   # git mv the modules still under their old names, then rewrite
python scripts/private_modules.py          # rewrite only: run again after merging a branch that
                                           # still imports an old name; rewriting is idempotent
```
"""

from __future__ import annotations

import argparse
import re
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent

# (package, module): contextos.<package>.<module> becomes contextos.<package>._<module>
PRIVATE: tuple[tuple[str, str], ...] = (
    ("", "checked"),
    ("", "deadline"),
    ("", "jsonl"),
    ("agents", "demo"),
    ("agents", "structured"),
    ("agents", "tools_source"),
    ("compress", "passages"),
    ("compress", "text"),
    ("context", "chat_template"),
    ("context", "dialogue"),
    ("context", "itemsfile"),
    ("context", "redundancy"),
    ("context", "scale"),
    ("context", "select"),
    ("context", "units"),
    ("demos", "graph"),
    ("demos", "influence"),
    ("demos", "lexical"),
    ("llm", "offline"),
    ("llm", "offline_queries"),
    ("llm", "parse"),
    ("llm", "runtime"),
    ("memory", "rows"),
    ("memory", "timestamps"),
    ("playbook", "dedup"),
    ("playbook", "markdown"),
    ("playbook", "prompts"),
    ("tools", "isolated"),
    ("tools", "schema"),
    ("tracing", "attributes"),
    ("tracing", "jsontext"),
    ("tracing", "recorder"),
)
# modules that get another name besides the underscore
RENAMED: dict[tuple[str, str], str] = {("tracing", "current"): "_otel_compat"}


def _moves() -> list[tuple[str, str, str]]:
    return [(p, m, "_" + m) for p, m in PRIVATE] + [(p, m, n) for (p, m), n in RENAMED.items()]


TEXT_SUFFIXES = {".py", ".md", ".toml", ".txt", ".cfg", ".ini", ".yml", ".yaml", ""}
_END = r"(?![A-Za-z0-9_])"


def _path(package: str, module: str) -> str:
    return "/".join(p for p in ("contextos", package, module) if p)


def _rules() -> list[tuple[re.Pattern[str], str]]:
    rules: list[tuple[re.Pattern[str], str]] = []
    for package, module, private in _moves():
        old = _path(package, module)
        new = _path(package, private)
        # contextos.pkg.mod (imports, mock targets, python -m, docs)
        rules.append((re.compile(re.escape(old.replace("/", ".")) + _END), new.replace("/", ".")))
        # contextos/pkg/mod.py, and pkg/mod.py written without the contextos/ prefix
        rules.append((re.compile(re.escape(old) + r"\.py" + _END), new + ".py"))
        if package:
            rules.append(
                (
                    re.compile(r"(?<![A-Za-z0-9_/.])" + re.escape(f"{package}/{module}.py") + _END),
                    f"{package}/{private}.py",
                )
            )
        # from contextos.pkg import mod [as alias]
        parent = ".".join(p for p in ("contextos", package) if p)
        rules.append(
            (
                re.compile(r"(from " + re.escape(parent) + r" import )" + module + r"( as )"),
                r"\g<1>" + private + r"\g<2>",
            )
        )
    return rules


def _tracked_text_files() -> list[Path]:
    names = subprocess.run(
        ["git", "ls-files"], cwd=ROOT, capture_output=True, text=True, check=True
    ).stdout.split()
    this = Path(__file__).resolve()
    files = []
    for name in names:
        path = ROOT / name
        if path.suffix in TEXT_SUFFIXES and path.is_file() and path.resolve() != this:
            files.append(path)
    return files


def move() -> None:
    for package, module, private in _moves():
        old = ROOT / (_path(package, module) + ".py")
        if old.exists():
            new = ROOT / (_path(package, private) + ".py")
            subprocess.run(["git", "mv", str(old), str(new)], cwd=ROOT, check=True)


def rewrite() -> list[Path]:
    rules = _rules()
    changed = []
    for path in _tracked_text_files():
        try:
            text = path.read_text(encoding="utf-8")
        except UnicodeDecodeError:
            continue
        new = text
        for pattern, replacement in rules:
            new = pattern.sub(replacement, new)
        if new != text:
            path.write_text(new, encoding="utf-8")
            changed.append(path)
    return changed


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--move", action="store_true", help="git mv the modules first")
    args = parser.parse_args(argv)
    if args.move:
        move()
    for path in rewrite():
        print(path.relative_to(ROOT))
    return 0


if __name__ == "__main__":
    sys.exit(main())
