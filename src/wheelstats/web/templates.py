"""Jinja2 environments for the HTML pages: escaping on, unknown names an error, filters for numbers and URLs."""

from __future__ import annotations

from pathlib import Path
from urllib.parse import quote, urlencode

import jinja2


def template_environment(folder: Path) -> jinja2.Environment:
    """Templates that escape every value they insert, and fail on a name they do not know."""
    environment = jinja2.Environment(
        loader=jinja2.FileSystemLoader(folder), autoescape=True, undefined=jinja2.StrictUndefined,
        trim_blocks=True, lstrip_blocks=True,
    )
    environment.filters.update(
        thousands="{:,}".format,
        segment=lambda text: quote(text, safe=""),  # one URL path segment
        query=urlencode,
    )
    return environment
