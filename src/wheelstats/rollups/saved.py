"""Time saved per download of each file, as SQL compiled once from the named methods' Ibis expressions.

A method's saving for a group of downloads is (a function of the file) x downloads,
so it is computed once per file with downloads = 1 and joined to counted rows.
"""

from __future__ import annotations

import functools

import ibis

from wheelstats.timesaved import get_method, watts


@functools.lru_cache(maxsize=8)
def method_sql(method: str) -> str:
    """The method over rows of `saved_input` (key, filename, downloads, platform_tag,
    abi_tag, duration_s), adding the columns saved (seconds) and joules."""
    rows = ibis.table(
        {"key": "int64", "filename": "string", "downloads": "int64", "platform_tag": "string",
         "abi_tag": "string", "duration_s": "float64"},
        name="saved_input",
    )
    saved = rows.mutate(saved=get_method(method).seconds(rows) * rows.downloads)
    saved = saved.mutate(joules=saved.saved * watts(saved))
    return str(ibis.to_sql(saved, dialect="duckdb"))


def per_download_sql(method: str, file_filter: str = "") -> str:
    """CTEs `saved_input` and `per_download` (filename, saved, joules): one download's
    saving for every file that saves anything (`file_filter` is a WHERE over files f)."""
    return f"""saved_input AS (
            SELECT 0::BIGINT AS key, f.filename, 1::BIGINT AS downloads, f.platform_tag, f.abi_tag, b.duration_s
            FROM files f LEFT JOIN builds b ON b.build_id = f.build_id {file_filter}
        ), per_download AS (
            SELECT filename, saved, joules FROM ({method_sql(method)}) WHERE saved > 0
        )"""
