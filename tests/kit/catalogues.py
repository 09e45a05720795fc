"""Build catalogues for `import builds`: a small CSV and JSON-lines example, and the store's rows after."""

from __future__ import annotations

CSV = """\
filename,project,built_at,duration,status,size,sha256,build_id
numpy-1.18.1-cp37-cp37m-linux_armv7l.whl,,2020-01-02 03:04:05,PT21M3.5S,true,1000,aa,11
numpy-1.18.1-cp37-cp37m-linux_armv6l.whl,,2020-01-02 03:04:05,PT21M3.5S,true,1000,aa,11
Foo_Bar-1.0-py3-none-any.whl,Foo.Bar,2019-06-01T00:00:00+02:00,9.25,success,,,
requests-2.23.0.tar.gz,,,,,500,cc,
"""
ROWS = [
    {"filename": "numpy-1.18.1-cp37-cp37m-linux_armv7l.whl", "built_at": "2020-01-02 03:04:05",
     "duration": "00:21:03.5", "status": "t", "size": 1000, "sha256": "aa", "build_id": 11},
    {"filename": "numpy-1.18.1-cp37-cp37m-linux_armv6l.whl", "built_at": "2020-01-02 03:04:05",
     "duration": 1263.5, "status": True, "size": 1000, "sha256": "aa", "build_id": 11},
    {"filename": "Foo_Bar-1.0-py3-none-any.whl", "package": "Foo.Bar", "build_start": "2019-05-31 22:00:00",
     "duration": "9.25", "status": "success"},
    {"filename": "requests-2.23.0.tar.gz", "size": 500, "sha256": "cc"},
]


def snapshot(con) -> dict[str, list]:
    return {
        "files": con.execute("SELECT * FROM files ORDER BY filename").fetchall(),
        "builds": con.execute("SELECT * FROM builds ORDER BY build_id").fetchall(),
    }
