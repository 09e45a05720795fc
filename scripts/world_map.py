"""Make the country data wheelstats ships: the world outline the dashboard's map draws, and country names.

    npm pack world-atlas@2.0.2 i18n-iso-countries@7.14.0   (then untar each)
    python scripts/world_map.py WORLD_ATLAS_DIR I18N_ISO_COUNTRIES_DIR

Writes src/wheelstats/dashboard/static/world-110m.json: world-atlas's countries-110m.json
(Natural Earth's 1:110m countries, public domain; world-atlas is ISC-licensed) with each
country's id turned from ISO 3166-1 numeric into alpha-2, the code a hit stores, and its
name kept, plus `small_countries`: the countries too small for the 1:110m outline (Singapore,
Hong Kong, Malta...) as points, each the middle of its largest ring in countries-50m.json, so
the map draws them as dots; and src/wheelstats/country_names.json: alpha-2 -> English name, from
i18n-iso-countries (MIT). Both are committed: nothing is fetched at run time.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
UNNUMBERED = {"Kosovo": "XK"}  # Natural Earth gives it no numeric code; the registries use XK


def common_name(names: str | list[str]) -> str:
    """The everyday name where several are given (United States, not United States of America or USA)."""
    if isinstance(names, str):
        return names
    if len(names[0]) <= 20:
        return names[0]
    spelled_out = [name for name in names if "." not in name and not name.isupper()]
    return min(spelled_out or names, key=len)


def _points(topology: dict) -> list[list[tuple[float, float]]]:
    """Each arc of a quantized TopoJSON topology as longitude-latitude points."""
    (scale_x, scale_y), (left, bottom) = topology["transform"]["scale"], topology["transform"]["translate"]
    arcs = []
    for arc in topology["arcs"]:
        x = y = 0
        points = []
        for dx, dy in arc:
            x, y = x + dx, y + dy
            points.append((left + x * scale_x, bottom + y * scale_y))
        arcs.append(points)
    return arcs


def _middle(geometry: dict, arcs: list[list[tuple[float, float]]]) -> tuple[float, float]:
    """The middle of the bounding box of a country's largest ring (by its box's area)."""
    polygons = geometry["arcs"] if geometry["type"] == "MultiPolygon" else [geometry["arcs"]]
    boxes = []
    for polygon in polygons:
        ring = [point for index in polygon[0] for point in arcs[index if index >= 0 else ~index]]
        xs, ys = [x for x, _ in ring], [y for _, y in ring]
        boxes.append((min(xs), min(ys), max(xs), max(ys)))
    west, south, east, north = max(boxes, key=lambda b: (b[2] - b[0]) * (b[3] - b[1]))
    return round((west + east) / 2, 3), round((south + north) / 2, 3)


def small_countries(world_atlas: Path, outlined: set[str], alpha2_of: dict[str, str], names: dict[str, str]) -> list[dict]:
    """The countries the 1:50m outline has and the 1:110m lacks, as points (alpha-2, name, longitude, latitude)."""
    detailed = json.loads((world_atlas / "countries-50m.json").read_text())
    arcs = _points(detailed)
    found = []
    for geometry in detailed["objects"]["countries"]["geometries"]:
        code = alpha2_of.get(geometry.get("id", ""))
        if code is None or code in outlined or geometry["type"] not in ("Polygon", "MultiPolygon"):
            continue
        longitude, latitude = _middle(geometry, arcs)
        found.append({"id": code, "name": names.get(code, geometry["properties"]["name"]),
                      "longitude": longitude, "latitude": latitude})
    return sorted(found, key=lambda point: point["id"])


def main(world_atlas: Path, iso_countries: Path) -> None:
    codes = json.loads((iso_countries / "codes.json").read_text())
    alpha2_of = {numeric: alpha2 for alpha2, _alpha3, numeric, *_ in codes}
    names = {code: common_name(name)
             for code, name in json.loads((iso_countries / "langs" / "en.json").read_text())["countries"].items()}
    names["XK"] = "Kosovo"
    world = json.loads((world_atlas / "countries-110m.json").read_text())
    kept = []
    for geometry in world["objects"]["countries"]["geometries"]:
        code = alpha2_of.get(geometry.get("id", ""), UNNUMBERED.get(geometry["properties"]["name"]))
        if code is not None:
            geometry["id"] = code
            geometry["properties"] = {"name": names.get(code, geometry["properties"]["name"])}
        else:
            geometry.pop("id", None)
        kept.append(geometry)
    world["objects"]["countries"]["geometries"] = kept
    del world["objects"]["land"]
    outlined = {geometry["id"] for geometry in kept if "id" in geometry}
    world["small_countries"] = small_countries(world_atlas, outlined, alpha2_of, names)
    out = ROOT / "src/wheelstats/dashboard/static/world-110m.json"
    out.write_text(json.dumps(world, separators=(",", ":")))
    (ROOT / "src/wheelstats/country_names.json").write_text(json.dumps(dict(sorted(names.items())), indent=0) + "\n")


if __name__ == "__main__":
    main(Path(sys.argv[1]), Path(sys.argv[2]))
