"""Vega-Lite's own JSON schema (the one Altair ships) as the judge of a finished chart spec."""

from __future__ import annotations

from functools import cache

from altair.utils.schemapi import validate_jsonschema
from altair.vegalite.v6.schema.core import load_schema


@cache
def _schema() -> dict:
    return load_schema()


def assert_valid(spec: dict) -> None:
    """Raises with Vega-Lite's complaint when the spec breaks its schema."""
    validate_jsonschema(spec, _schema())
