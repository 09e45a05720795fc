"""Parsing: log lines, user agents and filenames into fields, and the rules that classify a hit.

Pure functions and SQL text, no I/O, like PyPI's linehaul: the ingest stage
does the reading and the storing.

    logformat  Apache/nginx LogFormat strings compiled to one RE2 pattern
    escapes    how servers escape quoted fields (Apache, nginx, JSON), decoded in Python and SQL
    lines      a block of bytes split into lines, bad ones set aside
    classify   the rules that make a line a hit, an ignored line or a rejected one (SQL)
    agents     user agents via linehaul, with bots and CPUs normalised
    filenames  wheel, sdist and egg filenames into project, version and tags
"""
