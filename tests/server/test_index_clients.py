"""The index's own simple pages read by a client library, pypi-simple, as installers' tools read them.

A running `wheelstats serve` is asked for its PEP 503 HTML and its PEP 691 JSON pages; what
pypi-simple makes of each (projects, files, URLs, hashes, Requires-Python, yanked and its
reason, PEP 658 metadata and its hash, PEP 700 versions, sizes and upload times) must be
what the server meant: the files on disk, their metadata, the yanked list. The files are
then downloaded and their metadata fetched through pypi-simple, which checks the hashes.
"""

from __future__ import annotations

import email.parser
import hashlib
import zipfile
from datetime import datetime, timezone

import pytest
from pypi_simple import ACCEPT_HTML_ONLY, ACCEPT_JSON_ONLY, NoMetadataError, PyPISimple

from kit.servers import make_sdist, make_wheel, platform_tag, serving

FORMATS = {"html": ACCEPT_HTML_ONLY, "json": ACCEPT_JSON_ONLY}
YANKED_REASON = 'broken on 3.12 <b>"really"</b> & more'


@pytest.fixture(scope="module")
def index(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("clients")
    wheels = tmp / "wheels"
    files = {
        "old": make_wheel(wheels, "Tiny_Pure", "1.0", requires_python=">=3.8,<4"),
        "new": make_wheel(wheels / "tiny-pure", "Tiny_Pure", "1.1", requires_python=">=3.8"),
        "platform": make_wheel(wheels, "tinyplat", "2.0", platform_tag(), requires=["tiny-pure>=1.0"]),
        "local": make_wheel(wheels, "tinylocal", "1.0+local.7"),
        "static_sdist": make_sdist(wheels, "tinysrc", "0.5", requires_python=">=3.9"),
        "dynamic_sdist": make_sdist(wheels, "tinysrc", "0.6", dynamic=["Requires-Python"]),
    }
    (wheels / "yanked.txt").write_text(f"Tiny_Pure-1.0-py3-none-any.whl {YANKED_REASON}\ntinylocal==1.0+local.7\n")
    with serving(wheels, tmp) as server, PyPISimple(endpoint=server.url + "/simple/") as client:
        server.files = files
        server.client = client
        yield server


def _sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def _wheel_metadata(path) -> bytes:
    with zipfile.ZipFile(path) as archive:
        (member,) = [n for n in archive.namelist() if n.endswith(".dist-info/METADATA")]
        return archive.read(member)


@pytest.mark.parametrize("form", FORMATS)
def test_the_index_lists_every_project_by_its_canonical_name(index, form):
    page = index.client.get_index_page(accept=FORMATS[form])
    assert page.projects == ["tiny-pure", "tinylocal", "tinyplat", "tinysrc"]
    assert page.repository_version == "1.1"


@pytest.mark.parametrize("form", FORMATS)
def test_a_project_page_lists_its_files_with_their_hashes_and_requirements(index, form):
    page = index.client.get_project_page("Tiny_Pure", accept=FORMATS[form])
    # JSON names the project canonically; an HTML page does not name it, so the client keeps the name asked for.
    assert page.project == {"html": "Tiny_Pure", "json": "tiny-pure"}[form]
    assert page.repository_version == "1.1"
    old, new = page.packages
    for package, path in ((old, index.files["old"]), (new, index.files["new"])):
        assert package.filename == path.name
        assert package.url == f"{index.url}/simple/tiny-pure/{path.name}"
        assert (package.project, package.package_type) == ("Tiny_Pure", "wheel")
        assert package.digests == {"sha256": _sha256(path.read_bytes())}
    assert [p.version for p in page.packages] == ["1.0", "1.1"]
    assert [p.requires_python for p in page.packages] == [">=3.8,<4", ">=3.8"]


@pytest.mark.parametrize("form", FORMATS)
def test_yanked_files_and_their_reasons(index, form):
    old, new = index.client.get_project_page("tiny-pure", accept=FORMATS[form]).packages
    assert (old.is_yanked, old.yanked_reason) == (True, YANKED_REASON)  # escaped in HTML, read back whole
    assert (new.is_yanked, new.yanked_reason) == (False, None)
    (local,) = index.client.get_project_page("tinylocal", accept=FORMATS[form]).packages
    assert local.is_yanked  # the whole release, without a reason: `data-yanked=""` in HTML, `true` in JSON
    assert local.yanked_reason == {"html": "", "json": None}[form]


@pytest.mark.parametrize("form", FORMATS)
def test_core_metadata_is_announced_with_its_hash_and_served(index, form):
    page = index.client.get_project_page("tinyplat", accept=FORMATS[form])
    (platform,) = page.packages
    expected = _wheel_metadata(index.files["platform"])
    assert platform.has_metadata is True
    assert platform.metadata_digests == {"sha256": _sha256(expected)}
    assert platform.metadata_url == platform.url + ".metadata"
    assert index.client.get_package_metadata_bytes(platform, verify=True) == expected
    metadata = email.parser.Parser().parsestr(index.client.get_package_metadata(platform))
    assert (metadata["Name"], metadata["Version"], metadata["Requires-Dist"]) == ("tinyplat", "2.0", "tiny-pure>=1.0")


@pytest.mark.parametrize("form", FORMATS)
def test_sdist_metadata_only_when_it_is_static(index, form):
    static, dynamic = index.client.get_project_page("tinysrc", accept=FORMATS[form]).packages
    assert (static.filename, static.package_type, static.version) == ("tinysrc-0.5.tar.gz", "sdist", "0.5")
    assert static.requires_python == ">=3.9" and static.has_metadata is True
    served = index.client.get_package_metadata_bytes(static, verify=True)
    assert served.startswith(b"Metadata-Version: 2.2\nName: tinysrc\nVersion: 0.5\n")
    assert static.metadata_digests == {"sha256": _sha256(served)}
    # Metadata whose Requires-Python is dynamic (PEP 643) is neither announced nor served: JSON says
    # `core-metadata: false`, HTML leaves the attribute out (which a client reads as "not said").
    assert dynamic.filename == "tinysrc-0.6.tar.gz" and dynamic.requires_python is None
    assert dynamic.has_metadata is {"html": None, "json": False}[form] and dynamic.metadata_digests is None
    with pytest.raises(NoMetadataError):  # the server answers 404
        index.client.get_package_metadata_bytes(dynamic, verify=False)


@pytest.mark.parametrize("form", FORMATS)
def test_files_download_through_their_urls_and_match_their_hashes(index, form, tmp_path):
    for project in ("tiny-pure", "tinyplat", "tinylocal", "tinysrc"):
        for package in index.client.get_project_page(project, accept=FORMATS[form]).packages:
            target = tmp_path / form / package.filename
            index.client.download_package(package, target, verify=True)  # raises on a digest mismatch
            on_disk = next(p for p in index.files.values() if p.name == package.filename)
            assert target.read_bytes() == on_disk.read_bytes()


def test_a_local_version_s_plus_is_quoted_in_the_url_and_read_back(index):
    for form in FORMATS:
        (local,) = index.client.get_project_page("tinylocal", accept=FORMATS[form]).packages
        assert local.filename == "tinylocal-1.0+local.7-py3-none-any.whl" and local.version == "1.0+local.7"
        assert local.url == f"{index.url}/simple/tinylocal/tinylocal-1.0%2Blocal.7-py3-none-any.whl"


def test_json_adds_versions_sizes_and_upload_times(index):
    page = index.client.get_project_page("tiny-pure", accept=ACCEPT_JSON_ONLY)
    assert page.versions == ["1.0", "1.1"]
    for package, path in zip(page.packages, (index.files["old"], index.files["new"])):
        assert package.size == path.stat().st_size
        expected = datetime.fromtimestamp(path.stat().st_mtime_ns // 1000 / 1e6, tz=timezone.utc)
        assert abs((package.upload_time - expected).total_seconds()) < 1e-5
    html = index.client.get_project_page("tiny-pure", accept=ACCEPT_HTML_ONLY)
    assert html.versions is None and {(p.size, p.upload_time) for p in html.packages} == {(None, None)}


def test_html_and_json_say_the_same_about_every_file(index):
    def said(package) -> tuple:
        return (package.filename, package.url, package.project, package.version, package.package_type,
                package.digests, package.requires_python, package.is_yanked, package.yanked_reason or None,
                bool(package.has_metadata), package.metadata_digests)

    for project in ("tiny-pure", "tinyplat", "tinylocal", "tinysrc"):
        pages = {form: index.client.get_project_page(project, accept=accept) for form, accept in FORMATS.items()}
        assert [said(p) for p in pages["html"].packages] == [said(p) for p in pages["json"].packages]
