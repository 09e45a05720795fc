"""Parsing: log lines, user agents and filenames into fields, and the rules that classify a hit.

Pure functions and SQL text, no I/O, like PyPI's linehaul: the ingest stage
does the reading and the storing.

    formats    every log format by name (presets, JSON mappings, header formats), compiled to a pattern
    logformat  Apache/nginx LogFormat strings compiled to one RE2 pattern
    jsonformat JSON-lines logs read by a field mapping (Caddy, Traefik, Cloudflare, Fastly, nginx JSON)
    w3c        logs whose header names their columns (W3C/IIS, CloudFront, Cloud Storage CSV)
    times      the ways a format writes a time (CLF, ISO 8601, epoch numbers), read as UTC in SQL
    escapes    how servers escape fields (Apache, nginx, JSON, HAProxy, URL, CSV), decoded in Python and SQL
    lines      a block of bytes split into lines, bad ones set aside
    classify   the rules that make a line a hit, an ignored line or a rejected one (SQL)
    agents     user agents via linehaul, with bots and CPUs normalised
    filenames  wheel, sdist and egg filenames into project, version and tags
"""
