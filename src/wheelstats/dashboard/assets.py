"""The dashboard's static files, and the Vega bundle generated offline (never fetched from another host).

`vl_convert.javascript_bundle()` builds vega, vega-lite and vega-embed into one
script (~0.9 MB, ~3 s) that defines window.vegaEmbed. It is built on first use,
kept in memory and in a cache file keyed by the vl-convert and Vega-Lite
versions, so it is never committed and is built once per machine.
"""

from __future__ import annotations

import hashlib
import os
import threading
from pathlib import Path

import vl_convert

from wheelstats.charts import VEGA_LITE_VERSION

STATIC_DIR = Path(__file__).with_name("static")
_lock = threading.Lock()
_bundle: bytes | None = None


def cache_dir() -> Path:
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "wheelstats"


def bundle_path() -> Path:
    return cache_dir() / f"vega-bundle-vlconvert{vl_convert.__version__}-vl{VEGA_LITE_VERSION}.js"


def vega_bundle() -> bytes:
    """The script, built once (thread-safe) and cached on disk."""
    global _bundle
    with _lock:
        if _bundle is None:
            path = bundle_path()
            try:
                _bundle = path.read_bytes()
            except FileNotFoundError:
                _bundle = vl_convert.javascript_bundle(vl_version=VEGA_LITE_VERSION).encode("utf-8")
                path.parent.mkdir(parents=True, exist_ok=True)
                temporary = path.with_suffix(f".{os.getpid()}.tmp")
                temporary.write_bytes(_bundle)
                temporary.replace(path)
        return _bundle


def warm_in_background() -> None:
    threading.Thread(target=vega_bundle, name="vega-bundle", daemon=True).start()


def etag(body: bytes) -> str:
    return '"' + hashlib.sha256(body).hexdigest()[:20] + '"'
