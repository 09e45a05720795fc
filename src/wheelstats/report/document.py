"""A tiny document model for the report, rendered to Markdown and to HTML.

The prose is Markdown inline text (it uses **bold**, *italic* and [text](url));
in HTML it is rendered by markdown-it-py as CommonMark, with raw HTML escaped.
"""

from __future__ import annotations

import html
from dataclasses import dataclass

from markdown_it import MarkdownIt

# CommonMark without raw HTML: a "<" in a project name is text, never markup.
_MARKDOWN = MarkdownIt("commonmark", {"html": False})


@dataclass(frozen=True, slots=True)
class Heading:
    text: str
    level: int = 2


@dataclass(frozen=True, slots=True)
class Paragraph:
    text: str


@dataclass(frozen=True, slots=True)
class NumberedList:
    items: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class Figure:
    chart: str      # chart file stem, e.g. downloads-by-month
    caption: str


Block = Heading | Paragraph | NumberedList | Figure


def to_markdown(blocks: list[Block], chart_folder: str = "charts") -> str:
    parts = []
    for block in blocks:
        if isinstance(block, Heading):
            parts.append(f"{'#' * block.level} {block.text}")
        elif isinstance(block, Paragraph):
            parts.append(block.text)
        elif isinstance(block, NumberedList):
            parts.append("\n".join(f"{i}. {item}" for i, item in enumerate(block.items, 1)))
        else:
            parts.append(f"![{block.caption}]({chart_folder}/{block.chart}.png)")
    return "\n\n".join(parts) + "\n"


def inline_html(text: str) -> str:
    """The inline Markdown `text` as HTML (escaped; links only to safe URLs)."""
    return _MARKDOWN.renderInline(text)


PAGE_STYLE = """
body { font-family: "DejaVu Sans", Helvetica, Arial, sans-serif; max-width: 52rem;
       margin: 2rem auto; padding: 0 1rem; line-height: 1.55; color: #222; }
figure { margin: 1.5rem 0; text-align: center; }
figure img { max-width: 100%; height: auto; }
figcaption { font-size: 0.9rem; color: #555; }
a { color: #c51a4a; }
"""


def to_html(blocks: list[Block], title: str, chart_sources: dict[str, str]) -> str:
    """One self-contained page; `chart_sources` maps chart stems to data: URIs."""
    body = []
    for block in blocks:
        if isinstance(block, Heading):
            body.append(f"<h{block.level}>{inline_html(block.text)}</h{block.level}>")
        elif isinstance(block, Paragraph):
            body.append(f"<p>{inline_html(block.text)}</p>")
        elif isinstance(block, NumberedList):
            items = "".join(f"<li>{inline_html(item)}</li>" for item in block.items)
            body.append(f"<ol>{items}</ol>")
        else:
            caption = html.escape(block.caption)
            body.append(
                f'<figure><img src="{chart_sources[block.chart]}" alt="{caption}" '
                f'width="800" height="400"><figcaption>{caption}</figcaption></figure>'
            )
    return (
        "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n"
        f"<title>{html.escape(title)}</title>\n<style>{PAGE_STYLE}</style>\n</head>\n<body>\n"
        + "\n".join(body) + "\n</body>\n</html>\n"
    )
