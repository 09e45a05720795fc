"""Helpers the tests share, one module per kind of fixture (loaded by conftest.py's pytest_plugins).

    processes   free ports, waiting on a condition with a deadline, stopping children
    logs        writing access logs, reading hit counts back, a strict combined-format matcher
    reports     a small store with known hits, files and builds, and its expected figures
    sessions    access logs of installer sessions: everyday installs, and spikes made on purpose
    dashboards  a simulated store per session and a running `wheelstats dashboard`
    servers     wheels and sdists made in the test, and a running `wheelstats serve`
    catalogues  build catalogues for `import builds`, and the files and builds a store holds after
    postgres    a real PostgreSQL cluster for the piwheels import
    nginx       a real nginx writing access logs in each escape style (its fixture imported where used)
    faults      the CLI as a process, signals at observed moments, private tmpfs mounts, a store's totals
    hits        hits written straight into a store, with the columns `hits` shows
"""

from pathlib import Path

TESTS = Path(__file__).resolve().parents[1]
DATA = TESTS / "data"
ROOT = TESTS.parent
