"""``ToolCatalog``: the tools an agent may use, persisted in LanceDB and searchable.

Each tool is one row of the ``tools`` table; its indexed text (embedded for dense search and
full-text indexed for BM25) is its name with identifiers split into words, its description and its
parameter names. Tools that belong to a family (``Tool.group``: the API or MCP server they are an
endpoint of) also feed one row per family in the ``tool_groups`` table, whose text is every
member's name and description: retrieval scores families too (see ``contextos.tools.retrieve``).

```python
catalog = ToolCatalog.open("./tools.db")
catalog.add([Tool.from_function(get_weather)])
catalog.search("will it rain in Paris tomorrow", k=3)
```
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Iterable, Mapping, Sequence
from collections.abc import Set as AbstractSet
from pathlib import Path
from typing import TYPE_CHECKING, Any

from contextos.errors import DuplicateToolError, StoreError, ToolNotFoundError
from contextos.store.where import id_in, quote
from contextos.tools.load import check_unique
from contextos.tools.retrieve import CatalogRetriever, ToolHit
from contextos.tools.tool import Tool

if TYPE_CHECKING:
    from contextos.embed import Embedder
    from contextos.store import SearchMode, VectorTable

TOOLS_TABLE = "tools"
GROUPS_TABLE = "tool_groups"
_CAMEL = re.compile(r"(?<=[a-z0-9])(?=[A-Z])|(?<=[A-Z])(?=[A-Z][a-z])")
_SEPARATORS = re.compile(r"[_\-/.:]+")
_CHUNK = 500  # ids per SQL ``IN (...)`` filter
_CACHE_SIZE = 4096  # tools kept in memory for retrieval


def words(identifier: str) -> str:
    """``identifier`` with camelCase, snake_case, paths and dots split into words, so that BM25 and
    the embedder see ``get order by id`` in ``getOrderById``."""
    return " ".join(_SEPARATORS.sub(" ", _CAMEL.sub(" ", identifier)).split())


def index_text(tool: Tool) -> str:
    """The text a tool is found by: name, description and parameter names."""
    parts = [
        words(tool.label),
        tool.description.strip(),
        " ".join(words(p) for p in tool.parameter_names),
    ]
    return "\n".join(p for p in parts if p)


def group_text(group: str, members: Sequence[Tool]) -> str:
    """The text a family of tools is found by: its name, then each member's name and description."""
    lines = [words(group)]
    for tool in members:
        label = tool.label
        if label.startswith(group):  # ToolBench's "tool: api": the family name is already there
            label = label[len(group) :].lstrip(" :")
        lines.append(f"{words(label)} {tool.description.strip()}".strip())
    return "\n".join(lines)


class ToolCatalog:
    """Tools kept in a LanceDB store (a folder, or a LanceDB URI), with unique names and ids.

    Writes validate the whole batch before anything is written: a bad tool or a clashing name
    leaves the stored catalog as it was.
    """

    def __init__(self, tools: VectorTable, groups: VectorTable, *, location: str) -> None:
        self.table = tools
        """The ``tools`` table (one row per tool)."""
        self.groups = groups
        """The ``tool_groups`` table (one row per family of tools)."""
        self.location = location
        """Where the store is, for messages."""
        self._cache: dict[str, Tool] = {}
        self._cache_version: int | None = -1

    @classmethod
    def open(
        cls,
        db: str | Path,
        *,
        embedder: Embedder | None = None,
        create: bool = True,
        connect_options: dict[str, Any] | None = None,
    ) -> ToolCatalog:
        """The catalog in the store at ``db`` (a folder, or a LanceDB URI such as ``s3://bucket/tools``);
        with ``create=False`` a missing store or catalog raises ``StoreError``. ``embedder`` defaults
        to ``contextos.embed.default_embedder()`` and must be the one the catalog was built with.
        ``connect_options`` go to ``lancedb.connect`` (``storage_options`` for an object store, see
        docs/store.md)."""
        from contextos.embed import default_embedder
        from contextos.store import VectorTable

        # an empty CachedEmbedder is falsy
        embedder = embedder if embedder is not None else default_embedder()
        try:
            tools = VectorTable.open(
                db, TOOLS_TABLE, embedder=embedder, create=create, connect_options=connect_options
            )
        except StoreError as exc:
            if create:
                raise
            raise StoreError(
                f"no tool catalog at {db} ({exc}); build one with `contextos tools index CATALOG --db {db}`"
            ) from None
        groups = VectorTable.open(
            db, GROUPS_TABLE, embedder=tools.embedder, create=True, connect_options=connect_options
        )
        return cls(tools, groups, location=str(db))

    # Reading ----------------------------------------------------------------------------------

    def __len__(self) -> int:
        return self.table.count()

    def __contains__(self, key: object) -> bool:
        return (
            isinstance(key, str)
            and self.table.count(f"id = {quote(key)} OR name = {quote(key)}") > 0
        )

    def get(self, key: str) -> Tool:
        """The tool with this id or name; ``ToolNotFoundError`` if there is none."""
        rows = self.table.get([key])
        if not rows:
            found = self.get_many(self._ids_where(f"name = {quote(key)}"))
            if found:
                return found[0]
            raise ToolNotFoundError(
                f"no tool with id or name {key!r} in the catalog at {self.location}"
            )
        return tool_from_stored(rows[0])

    def get_many(
        self, ids: Sequence[str], *, row_ids: Mapping[str, int] | None = None
    ) -> list[Tool]:
        """The tools with these ids, in that order (unknown ids are left out). ``row_ids`` (id to the
        LanceDB row id a search just returned) lets them be read by address instead of by an id
        filter; a row that has moved since is read by id."""
        # Retrieval reads the same few tools again and again: keep them while the table's version
        # (bumped by every write, from any process) stays the same.
        version = self._version()
        if version != self._cache_version:
            self._cache.clear()
            self._cache_version = version
        found = {i: self._cache[i] for i in ids if i in self._cache}
        missing = [i for i in dict.fromkeys(ids) if i not in found]
        if row_ids and missing:
            found.update(
                (t.id, t) for t in self._read_at({i: row_ids[i] for i in missing if i in row_ids})
            )
            missing = [i for i in missing if i not in found]
        for start in range(0, len(missing), _CHUNK):
            for row in self.table.get(missing[start : start + _CHUNK]):
                found[row["id"]] = tool_from_stored(row)
        if len(ids) <= _CACHE_SIZE // 16:  # retrieval-sized reads only; bulk reads would flush it
            self._cache.update(found)
            while len(self._cache) > _CACHE_SIZE:
                self._cache.pop(next(iter(self._cache)))
        return [found[i] for i in ids if i in found]

    def _read_at(self, row_ids: dict[str, int]) -> list[Tool]:
        """The tools at these row ids whose id is still the one expected (rows move when the table
        is compacted or rewritten; those are left for the caller to read by id)."""
        rows = self.table.rows_at(list(row_ids.values()))
        return [tool_from_stored(r) for r in rows if r["id"] in row_ids]

    def _version(self) -> int | None:
        return self.table.version

    def _ids_where(self, where: str) -> list[str]:
        return [r["id"] for r in self._rows_where(where, ["id"])]

    def _rows_where(self, where: str, columns: list[str]) -> list[dict[str, Any]]:
        return self.table.scan(where, columns)

    # Writing ----------------------------------------------------------------------------------

    def add(self, tools: Iterable[Tool]) -> int:
        """Add new tools; ``DuplicateToolError`` if a name or id is already in the catalog."""
        batch = check_unique(tools, where="tools to add")
        self._check_ids(batch, must_exist=False)
        self._check_names(batch)
        return self._write(batch)

    def update(self, tools: Iterable[Tool]) -> int:
        """Replace stored tools (matched by id); ``ToolNotFoundError`` if one is not in the catalog."""
        batch = check_unique(tools, where="tools to update")
        self._check_ids(batch, must_exist=True)
        self._check_names(batch)
        return self._write(batch)

    def upsert(
        self, tools: Iterable[Tool], *, on_progress: Callable[[int], None] | None = None
    ) -> int:
        """Add new tools and replace stored ones with the same id (what re-indexing a catalog does).
        Unchanged tools are not embedded again. The whole batch is checked first, then written in
        chunks, ``on_progress(n)`` called after each chunk of ``n`` tools."""
        batch = check_unique(tools, where="tools to index")
        self._check_names(batch)
        return self._write(batch, on_progress=on_progress)

    def remove(self, keys: Iterable[str]) -> int:
        """Remove tools by id or name; ``ToolNotFoundError`` (and nothing removed) if one is unknown."""
        keys = list(dict.fromkeys(keys))
        # one read per chunk; names are looked up one by one
        by_id = {t.id: t for t in self.get_many(keys)}
        tools = [by_id[k] if k in by_id else self.get(k) for k in keys]
        if not tools:
            return 0
        removed = self.table.delete([t.id for t in tools])
        self._refresh_groups({t.group for t in tools if t.group}, removed={t.id for t in tools})
        return removed

    def _check_ids(self, batch: list[Tool], *, must_exist: bool) -> None:
        ids = [t.id for t in batch]
        stored = {
            row["id"]
            for i in range(0, len(ids), _CHUNK)
            for row in self.table.get(ids[i : i + _CHUNK])
        }
        if must_exist:
            missing = [i for i in ids if i not in stored]
            if missing:
                raise ToolNotFoundError(
                    f"cannot update tools not in the catalog at {self.location}: {missing[:10]}; add them"
                )
        elif stored:
            raise DuplicateToolError(
                f"the catalog at {self.location} already has tools with ids {sorted(stored)[:10]}; use update() to change them"
            )

    def _check_names(self, batch: list[Tool]) -> None:
        """No tool in ``batch`` may take a name another stored tool (a different id) holds."""
        for i in range(0, len(batch), _CHUNK):
            chunk = batch[i : i + _CHUNK]
            where = (
                f"{id_in([t.name for t in chunk], 'name')} AND NOT {id_in([t.id for t in chunk])}"
            )
            if self.table.count(where) == 0:
                continue
            for tool in chunk:
                clash = self._ids_where(f"name = {quote(tool.name)} AND id != {quote(tool.id)}")
                if clash:
                    raise DuplicateToolError(
                        f"tool {tool.id!r} is named {tool.label!r}, which tool {clash[0]!r} in the catalog at "
                        f"{self.location} already has; tool names must be unique"
                    )

    def _write(self, batch: list[Tool], *, on_progress: Callable[[int], None] | None = None) -> int:
        if not batch:
            return 0
        previous = {
            t.id: t
            for i in range(0, len(batch), _CHUNK)
            for t in self.get_many([t.id for t in batch[i : i + _CHUNK]])
        }
        rows = [stored_row(t) for t in batch]
        written = 0
        step = _CHUNK if on_progress else len(rows)
        for i in range(0, len(rows), step):
            written += self.table.upsert(rows[i : i + step])
            if on_progress:
                on_progress(len(rows[i : i + step]))
        groups = {t.group for t in batch if t.group} | {
            t.group for t in previous.values() if t.group
        }
        self._refresh_groups(groups)
        return written

    def _refresh_groups(self, groups: set[str], removed: AbstractSet[str] = frozenset()) -> None:
        """Rewrite the family rows of ``groups`` from their current members."""
        if not groups:
            return
        ordered = sorted(groups)
        members: dict[str, list[str]] = {g: [] for g in ordered}
        for i in range(0, len(ordered), _CHUNK):
            for row in self._rows_where(id_in(ordered[i : i + _CHUNK], "grp"), ["id", "grp"]):
                if row["id"] not in removed:
                    members[row["grp"]].append(row["id"])
        tools = {t.id: t for t in self.get_many([i for ids in members.values() for i in ids])}
        rows, empty = [], []
        for group in ordered:
            family = sorted((tools[i] for i in members[group] if i in tools), key=lambda t: t.id)
            if family:
                rows.append(
                    {
                        "id": group,
                        "text": group_text(group, family),
                        "members": json.dumps([t.id for t in family]),
                    }
                )
            else:
                empty.append(group)
        if rows:
            self.groups.upsert(rows)
        if empty:
            self.groups.delete(empty)

    # Searching --------------------------------------------------------------------------------

    def retriever(self, mode: SearchMode = "hybrid", **options: Any) -> CatalogRetriever:
        """A ``ToolRetriever`` over this catalog (see ``CatalogRetriever`` for the options)."""
        return CatalogRetriever(self, mode=mode, **options)

    def search(self, query: str, k: int = 5, *, mode: SearchMode = "hybrid") -> list[ToolHit]:
        """The ``k`` tools that best match ``query`` (one query; see ``retriever()`` for more)."""
        return self.retriever(mode).retrieve([query], k)


def stored_row(tool: Tool) -> dict[str, Any]:
    """The row a tool is stored as (scalar columns only; JSON for the structured fields)."""
    return {
        "id": tool.id,
        "text": index_text(tool),
        "name": tool.name,
        "original_name": tool.original_name or "",
        "description": tool.description,
        "parameters": json.dumps(tool.parameters, sort_keys=True, ensure_ascii=False),
        "grp": tool.group or "",
        "metadata": json.dumps(tool.metadata, sort_keys=True, ensure_ascii=False, default=str),
    }


def tool_from_stored(row: dict[str, Any]) -> Tool:
    """The tool a stored row holds (without a callable: those are not stored). Rows were validated
    when written, so they are not validated again (checking a JSON Schema is slow next to a read)."""
    return Tool.model_construct(
        id=row["id"],
        name=row["name"],
        original_name=row.get("original_name") or None,
        description=row.get("description") or "",
        parameters=json.loads(row["parameters"]),
        group=row.get("grp") or None,
        metadata=json.loads(row.get("metadata") or "{}"),
        fn=None,
    )
