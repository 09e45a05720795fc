"""The catalogue: scanning the wheels folder, file facts, yanked list, changes without restart."""

from __future__ import annotations

import hashlib
import os
import zipfile

import pytest
from packaging.version import Version

from kit.servers import make_sdist, make_wheel, metadata_text, platform_tag
from wheelstats.server.catalogue import Catalogue, NotADistribution, parse_filename, read_metadata_member
from wheelstats.server.yanked import parse_yanked


def test_flat_and_per_project_folders_are_both_scanned(tmp_path):
    make_wheel(tmp_path, "alpha", "1.0")
    make_wheel(tmp_path / "Beta_Project", "Beta_Project", "2.0", platform_tag())
    make_sdist(tmp_path / "beta-project", "beta_project", "2.0")
    snapshot = Catalogue(tmp_path).current
    assert list(snapshot.projects) == ["alpha", "beta-project"]
    beta = snapshot.projects["beta-project"]
    assert [d.filename for d in beta.files] == [f"Beta_Project-2.0-{platform_tag()}.whl", "beta_project-2.0.tar.gz"]
    assert beta.versions == ("2.0",)
    assert {d.package_type for d in beta.files} == {"bdist_wheel", "sdist"}


def test_facts_come_from_the_bytes_and_the_core_metadata(tmp_path):
    wheel = make_wheel(tmp_path, "alpha", "1.0", requires_python=">=3.8,  <4")
    dist = Catalogue(tmp_path).current.files[("alpha", wheel.name)]
    assert dist.facts.sha256 == hashlib.sha256(wheel.read_bytes()).hexdigest()
    assert dist.facts.requires_python == ">=3.8, <4"
    metadata = metadata_text("alpha", "1.0", ">=3.8,  <4").encode()
    assert read_metadata_member(dist) == metadata
    assert dist.facts.metadata_sha256 == hashlib.sha256(metadata).hexdigest()
    assert dist.size == wheel.stat().st_size


def test_sdist_metadata_is_served_only_when_static(tmp_path):
    make_sdist(tmp_path, "static", "1.0", requires_python=">=3.9")
    make_sdist(tmp_path, "old", "1.0", requires_python=">=3.7", metadata_version="2.1")
    make_sdist(tmp_path, "dyn", "1.0", dynamic=("Requires-Dist",))
    files = Catalogue(tmp_path).current.files
    static = files[("static", "static-1.0.tar.gz")]
    assert static.facts.metadata_member == "static-1.0/PKG-INFO"
    assert read_metadata_member(static).startswith(b"Metadata-Version: 2.2\n")
    old = files[("old", "old-1.0.tar.gz")]
    assert (old.facts.metadata_sha256, old.facts.requires_python) == (None, ">=3.7")
    assert files[("dyn", "dyn-1.0.tar.gz")].facts.metadata_sha256 is None


def test_broken_archives_and_foreign_names_are_skipped_or_bare(tmp_path):
    (tmp_path / "broken-1.0-py3-none-any.whl").write_bytes(b"not a zip")
    (tmp_path / "notes-1.0.txt").write_text("x")
    (tmp_path / "nodash.tar.gz").write_bytes(b"")
    (tmp_path / ".hidden-1.0-py3-none-any.whl").write_bytes(b"")
    snapshot = Catalogue(tmp_path).current
    assert list(snapshot.files) == [("broken", "broken-1.0-py3-none-any.whl")]
    broken = snapshot.files[("broken", "broken-1.0-py3-none-any.whl")]
    assert broken.facts.sha256 == hashlib.sha256(b"not a zip").hexdigest()
    assert broken.facts.metadata_sha256 is None and broken.facts.requires_python is None


def test_parse_filename_rejects_what_is_not_a_distribution():
    assert parse_filename("Foo.Bar-1.0.zip") == ("foo-bar", Version("1.0"), "sdist")
    with pytest.raises(NotADistribution, match="'foo-1.0.egg-info'"):
        parse_filename("foo-1.0.egg-info")
    with pytest.raises(NotADistribution, match="'foo-x-y-z.whl'"):
        parse_filename("foo-x-y-z.whl")


def test_symlinks_out_of_the_folder_are_never_listed(tmp_path):
    wheels, outside = tmp_path / "wheels", tmp_path / "outside"
    secret = make_wheel(outside, "secret", "1.0")
    make_wheel(wheels, "inside", "1.0")
    (wheels / secret.name).symlink_to(secret)
    (wheels / "linked").symlink_to(outside, target_is_directory=True)
    (wheels / "inside-2.0-py3-none-any.whl").symlink_to(wheels / "inside-1.0-py3-none-any.whl")
    snapshot = Catalogue(wheels).current
    assert sorted(snapshot.files) == [("inside", "inside-1.0-py3-none-any.whl"), ("inside", "inside-2.0-py3-none-any.whl")]
    assert all(d.path.startswith(str(wheels.resolve()) + os.sep) for d in snapshot.files.values())


def test_new_changed_and_removed_files_show_after_refresh(tmp_path):
    catalogue = Catalogue(tmp_path)
    assert catalogue.current.projects == {} and catalogue.refresh() is False
    first = make_wheel(tmp_path, "alpha", "1.0")
    assert catalogue.refresh() is True
    assert list(catalogue.current.projects) == ["alpha"]
    make_wheel(tmp_path / "alpha", "alpha", "1.1")  # a new subfolder
    assert catalogue.refresh() is True
    assert catalogue.current.projects["alpha"].versions == ("1.0", "1.1")
    first.unlink()
    assert catalogue.refresh() is True
    assert catalogue.current.projects["alpha"].versions == ("1.1",)
    generation = catalogue.current.generation
    assert catalogue.refresh() is False and catalogue.current.generation == generation


def test_facts_are_cached_by_path_size_and_mtime(tmp_path):
    wheel = make_wheel(tmp_path, "alpha", "1.0")
    catalogue = Catalogue(tmp_path)
    old_hash = catalogue.current.files[("alpha", wheel.name)].facts.sha256
    status = wheel.stat()
    data = bytearray(wheel.read_bytes())
    data[-1] ^= 0xFF  # same size
    wheel.write_bytes(bytes(data))
    os.utime(wheel, ns=(status.st_atime_ns, status.st_mtime_ns))  # and same mtime: the cache answers
    catalogue.refresh(force=True)
    assert catalogue.current.files[("alpha", wheel.name)].facts.sha256 == old_hash
    os.utime(wheel, ns=(status.st_atime_ns, status.st_mtime_ns + 1_000_000))
    catalogue.refresh(force=True)
    assert catalogue.current.files[("alpha", wheel.name)].facts.sha256 == hashlib.sha256(data).hexdigest()


def test_yanked_list_by_file_and_by_release(tmp_path):
    make_wheel(tmp_path, "alpha", "1.0")
    make_wheel(tmp_path, "alpha", "1.1")
    make_sdist(tmp_path, "alpha", "1.1")
    catalogue = Catalogue(tmp_path)
    assert all(d.yanked is None for d in catalogue.current.files.values())
    (tmp_path / "yanked.txt").write_text(
        "# yanked files\nalpha-1.0-py3-none-any.whl   broken on 3.12\n\nAlpha==1.1\n"
    )
    assert catalogue.refresh() is True
    yanked = {d.filename: d.yanked for d in catalogue.current.files.values()}
    assert yanked == {
        "alpha-1.0-py3-none-any.whl": "broken on 3.12",
        "alpha-1.1-py3-none-any.whl": "",
        "alpha-1.1.tar.gz": "",
    }


def test_yanked_list_given_elsewhere(tmp_path):
    make_wheel(tmp_path / "w", "alpha", "1.0")
    listing = tmp_path / "yank.list"
    listing.write_text("alpha==1.0 security\n")
    catalogue = Catalogue(tmp_path / "w", listing)
    assert catalogue.current.files[("alpha", "alpha-1.0-py3-none-any.whl")].yanked == "security"


def test_parse_yanked_skips_bad_versions():
    entries = parse_yanked("foo==not a version\nbar==1.0\n")
    assert entries.by_release == {("bar", Version("1.0")): ""}


def test_a_duplicate_filename_is_served_once(tmp_path):
    make_wheel(tmp_path, "alpha", "1.0")
    make_wheel(tmp_path / "alpha", "alpha", "1.0")
    snapshot = Catalogue(tmp_path).current
    assert len(snapshot.projects["alpha"].files) == 1


def test_a_missing_folder_is_an_error_that_names_it(tmp_path):
    with pytest.raises(NotADirectoryError, match="nowhere"):
        Catalogue(tmp_path / "nowhere")


def test_wheel_metadata_prefers_its_own_dist_info(tmp_path):
    path = tmp_path / "alpha-1.0-py3-none-any.whl"
    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr("vendored-2.0.dist-info/METADATA", metadata_text("vendored", "2.0"))
        archive.writestr("alpha-1.0.dist-info/METADATA", metadata_text("alpha", "1.0", ">=3.10"))
    dist = Catalogue(tmp_path).current.files[("alpha", path.name)]
    assert dist.facts.requires_python == ">=3.10"


def test_facts_survive_a_restart_in_the_cache_file(tmp_path):
    wheels, cache = tmp_path / "wheels", tmp_path / "facts.sqlite"
    wheel = make_wheel(wheels, "alpha", "1.0", requires_python=">=3.9")
    first = Catalogue(wheels, facts_cache=cache).current.files[("alpha", wheel.name)].facts
    status = wheel.stat()
    data = bytearray(wheel.read_bytes())
    data[-1] ^= 0xFF  # new bytes, same size and mtime: only a cache can still know the old facts
    wheel.write_bytes(bytes(data))
    os.utime(wheel, ns=(status.st_atime_ns, status.st_mtime_ns))
    again = Catalogue(wheels, facts_cache=cache).current.files[("alpha", wheel.name)].facts
    assert again == first
    assert Catalogue(wheels).current.files[("alpha", wheel.name)].facts.sha256 != first.sha256


def test_the_cache_forgets_files_that_are_gone_and_survives_damage(tmp_path):
    import sqlite3

    wheels, cache = tmp_path / "wheels", tmp_path / "facts.sqlite"
    make_wheel(wheels, "alpha", "1.0")
    doomed = make_wheel(wheels, "beta", "1.0")
    catalogue = Catalogue(wheels, facts_cache=cache)
    doomed.unlink()
    catalogue.refresh()
    with sqlite3.connect(cache) as con:
        assert [row[0].rsplit("/", 1)[1] for row in con.execute("SELECT path FROM facts")] == [
            "alpha-1.0-py3-none-any.whl"]
    cache.write_bytes(b"this is not a database" * 100)
    assert list(Catalogue(wheels, facts_cache=cache).current.projects) == ["alpha"]
    assert (tmp_path / "facts.sqlite.damaged").exists()
