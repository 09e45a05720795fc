"""The build queue: specs, what holds a release back and why, newest first, and retries."""

from __future__ import annotations

from datetime import datetime

import pytest
from packaging.tags import Tag

from wheelstats.builder.identity import BuilderIdentity
from wheelstats.builder.queue import Attempt, History, InvalidSpec, Spec, parse_spec, plan
from wheelstats.builder.sources import Release

HERE = frozenset({Tag("cp311", "cp311", "linux_x86_64"), Tag("py3", "none", "any")})
BUILDER = BuilderIdentity("cp311", "linux_x86_64", "3.11.7", "26.3", "builder-1", HERE)
NOTHING = History({}, frozenset(), {}, {})


def release(project: str, version: str, day: int | None = 1, wheels=()) -> Release:
    uploaded = datetime(2024, 1, day) if day else None
    return Release(project, version, f"{project}-{version}.tar.gz", uploaded, frozenset(wheels))


@pytest.mark.parametrize(("text", "spec"), [
    ("numpy", Spec("numpy", None)),
    ("Foo_Bar", Spec("foo-bar", None)),
    ("Foo.Bar==1.0.0", Spec("foo-bar", "1.0.0")),
    (" tiny == 01.2 ", Spec("tiny", "1.2")),
    ("tiny==1.0rc1", Spec("tiny", "1.0rc1")),
])
def test_specs_are_canonical(text, spec):
    assert parse_spec(text) == spec


@pytest.mark.parametrize(("text", "message"), [
    ("", "Invalid build spec '': no project name. Give NAME or NAME==VERSION, e.g. numpy==2.1.0."),
    ("==1.0", "Invalid build spec '==1.0': no project name. Give NAME or NAME==VERSION, e.g. numpy==2.1.0."),
    ("foo bar", "Invalid build spec 'foo bar': 'foo bar' is not a project name. Give NAME or NAME==VERSION, "
                "e.g. numpy==2.1.0."),
    ("foo==", "Invalid build spec 'foo==': '' is not a version. Give NAME or NAME==VERSION, e.g. numpy==2.1.0."),
    ("foo>=1", "Invalid build spec 'foo>=1': 'foo>=1' is not a project name. Give NAME or NAME==VERSION, "
               "e.g. numpy==2.1.0."),
])
def test_a_bad_spec_says_what_is_wrong_and_how_to_write_one(text, message):
    with pytest.raises(InvalidSpec) as error:
        parse_spec(text)
    assert str(error.value) == message


def test_the_queue_is_newest_release_first():
    releases = [release("a", "1.0", 1), release("a", "2.0", 3), release("b", "0.1", 2), release("c", "1.0", None),
                release("d", "1.0", 2)]
    pending = plan(releases, NOTHING, BUILDER).pending
    assert [(r.project, r.version) for r in pending] == [("a", "2.0"), ("d", "1.0"), ("b", "0.1"), ("a", "1.0"),
                                                         ("c", "1.0")]


def test_what_holds_a_release_back_and_why():
    history = History(
        attempts={("built", "1.0"): [Attempt(7, True, "3.11.7", "26.3")],
                  ("broke", "1.0"): [Attempt(8, False, "3.11.7", "26.3")],
                  ("imported", "1.0"): [Attempt(9, False, None, None)]},
        pure=frozenset({("pure", "1.0")}),
        skipped_projects={"huge": "too big"}, skipped_versions={("old", "0.1"): "broken sdist"},
    )
    releases = [release("built", "1.0"), release("broke", "1.0"), release("imported", "1.0"), release("pure", "1.0"),
                release("huge", "3.0"), release("old", "0.1"), release("old", "0.2"),
                release("wheeled", "1.0", wheels=[Tag("py3", "none", "any")]),
                release("armonly", "1.0", wheels=[Tag("cp311", "cp311", "linux_armv7l")])]
    specs = [Spec(r.project, None) for r in releases]
    result = plan(releases, history, BUILDER, specs)
    assert {(r.project, r.version) for r in result.pending} == {("old", "0.2"), ("armonly", "1.0")}
    assert {(h.release.project, h.why) for h in result.held_back} == {
        ("built", "was built already (build 7)"),
        ("broke", "failed before (build 8); pass --retry-failed to build it again"),
        ("imported", "failed before (build 9); pass --retry-failed to build it again"),
        ("pure", "has a pure-Python wheel built already (for every ABI)"),
        ("huge", "is skipped: the project (too big)"),
        ("old", "is skipped (broken sdist)"),
        ("wheeled", "has a wheel in the source that installs here"),
    }
    retried = plan(releases, history, BUILDER, specs, retry_failed=True)
    assert {(r.project, r.version) for r in retried.pending} == {
        ("old", "0.2"), ("armonly", "1.0"), ("broke", "1.0"), ("imported", "1.0")}


def test_a_new_python_or_pip_retries_a_failure_by_itself():
    releases = [release("broke", "1.0")]
    for python, pip in (("3.11.6", "26.3"), ("3.11.7", "25.0")):
        history = History({("broke", "1.0"): [Attempt(8, False, python, pip)]}, frozenset(), {}, {})
        assert [r.project for r in plan(releases, history, BUILDER).pending] == ["broke"]


def test_without_specs_nothing_held_back_is_listed_and_specs_narrow_the_queue():
    history = History({("a", "1.0"): [Attempt(1, True, "3.11.7", "26.3")]}, frozenset(), {}, {})
    releases = [release("a", "1.0"), release("a", "2.0", 2), release("b", "1.0")]
    assert plan(releases, history, BUILDER).held_back == ()
    narrowed = plan(releases, history, BUILDER, [Spec("a", "1.0"), Spec("b", None)])
    assert [(r.project, r.version) for r in narrowed.pending] == [("b", "1.0")]
    assert [(h.release.project, h.release.version) for h in narrowed.held_back] == [("a", "1.0")]
