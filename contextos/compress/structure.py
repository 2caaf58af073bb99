"""Structurization: a long, loosely ordered text becomes a hierarchical outline (heading -> points).

StruXGPT (Liu et al., "Enhancing LLM's Cognition via Structurization", NeurIPS 2024) rewrites a
context into a scope -> aspects -> descriptions hierarchy, which helps models find their way in long
inputs. Where the structure can be recovered from the text itself (markdown or "Label:" headings,
bulleted or numbered lists, paragraphs of sentences) the outline is built by rules and only
rearranges the text's own words; otherwise, given a ``ModelClient``, the model writes the outline
(generated text, labelled so). To meet a target, the points least related to the query go first.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from contextos.compress._text import BM25, split_sentences, terms
from contextos.compress.base import CompressorBase, dropped
from contextos.compress.extractive import HEADING
from contextos.compress.summarize import GENERATED
from contextos.context.items import ContextItem
from contextos.context.sources import Compressed
from contextos.context.tokens import TokenCounter

if TYPE_CHECKING:
    from contextos.llm.protocol import ChatModel

_HEADING = re.compile(r"^\s*(?:#{1,6}\s+(?P<md>.+?)\s*#*|(?P<label>[^.!?:]{2,60}):)\s*$")
_BULLET = re.compile(r"^\s*(?:[-*•+]|\d{1,3}[.)])\s+(?P<text>.+)$")
PROMPT = (
    "Rewrite the text below as a hierarchical outline: one line '## <heading>' per topic, each followed "
    "by lines '- <point>'. Use only facts the text states, with its names and numbers unchanged.\n\nText:\n{text}"
)


@dataclass(slots=True)
class Section:
    """One heading and its points."""

    heading: str
    points: list[str] = field(default_factory=list)


def outline(text: str, *, title: str = "") -> tuple[list[Section], bool]:
    """The outline of ``text`` and whether its structure was recovered from headings or lists
    (False: only paragraphs and sentences, one section per paragraph under ``title``)."""
    sections: list[Section] = []
    structured = False
    paragraph: list[str] = []

    def flush() -> None:
        if paragraph:
            if not sections:
                sections.append(Section(title))
            sections[-1].points.extend(s.text for s in split_sentences(" ".join(paragraph)))
            paragraph.clear()

    for line in text.splitlines():
        heading, bullet = _HEADING.match(line), _BULLET.match(line)
        if heading:
            flush()
            sections.append(Section((heading.group("md") or heading.group("label")).strip()))
            structured = True
        elif bullet:
            flush()
            if not sections:
                sections.append(Section(title))
            sections[-1].points.append(bullet.group("text").strip())
            structured = True
        elif line.strip():
            paragraph.append(line.strip())
        else:
            flush()
            if not structured and sections:
                sections.append(Section(title))  # a blank line ends a paragraph: its own section
    flush()
    return [s for s in sections if s.points or s.heading], structured


def render(sections: list[Section]) -> str:
    """``## heading`` lines with ``- point`` lines under them."""
    lines = []
    for s in sections:
        if s.heading:
            lines.append(f"## {s.heading}")
        lines.extend(f"- {p}" for p in s.points)
    return "\n".join(lines)


class Structurizer(CompressorBase):
    """Rewrites each item as an outline, dropping the points least related to the query to fit.

    ```python
    Structurizer().compress_sync(items, "opening hours", target_tokens=300)          # rules only
    Structurizer(client=ModelClient(...)).compress_sync(items, "opening hours", 300)  # LLM where rules find no structure
    ```
    """

    name = "structure"

    def __init__(
        self, *, client: ChatModel | None = None, counter: TokenCounter | None = None
    ) -> None:
        super().__init__(counter=counter)
        self.client = client

    async def _shorten(
        self, items: list[ContextItem], query: str, target: int, before: list[int]
    ) -> list[Compressed]:
        outlines, models = [], []
        for item in items:
            heading = item.metadata.get(HEADING)
            # a title line: the outline's title
            if isinstance(heading, str) and heading and item.content.startswith(heading):
                sections, structured = outline(item.content[len(heading) :], title=heading.strip())
            else:
                sections, structured = outline(
                    item.content, title=str(item.metadata.get("title", ""))
                )
            model = None
            if not structured and self.client is not None:
                completion = await self.client.acomplete(
                    [{"role": "user", "content": PROMPT.format(text=item.content)}], temperature=0
                )
                sections, structured = outline(completion.content or "")
                model = completion.model or self.client.model
            outlines.append(sections)
            models.append(model)
        self._fit(outlines, query, target)
        results = []
        for item, n, sections, model in zip(items, before, outlines, models):
            kept = [s for s in sections if s.points]
            if not kept:
                results.append(
                    dropped(item, n, f"{self.name}: no point of its outline fitted the target")
                )
                continue
            how = (
                f"generated by {model}: an outline"
                if model
                else "an outline of its own headings, lists and sentences"
            )
            results.append(
                self._result(
                    item, n, render(kept), how, metadata={GENERATED: model} if model else None
                )
            )
        return results

    def _fit(self, outlines: list[list[Section]], query: str, target: int) -> None:
        """Remove the fewest points (least related to the query first, then the latest) so all fit."""
        points = [
            (o, s, p)
            for o, sections in enumerate(outlines)
            for s, section in enumerate(sections)
            for p in range(len(section.points))
        ]
        texts = [outlines[o][s].points[p] for o, s, p in points]
        scores = BM25([terms(t) for t in texts]).scores(terms(query)) if texts else []
        removal = [points[k] for k in sorted(range(len(points)), key=lambda k: (scores[k], -k))]
        original = [[list(section.points) for section in sections] for sections in outlines]

        def size_without(k: int) -> int:
            gone = set(removal[:k])
            for o, sections in enumerate(outlines):
                for s, section in enumerate(sections):
                    section.points = [
                        t for p, t in enumerate(original[o][s]) if (o, s, p) not in gone
                    ]
            return sum(
                self.counter.count(render([s for s in sections if s.points]))
                for sections in outlines
            )

        # size falls as points go, and is 0 with all gone: search the least k
        lo, hi = (
            0,
            len(removal),
        )
        while lo < hi:
            mid = (lo + hi) // 2
            if size_without(mid) <= target:
                hi = mid
            else:
                lo = mid + 1
        size_without(lo)
