"""Distribution filenames: the plain wheel names split by hand read as packaging reads them."""

from __future__ import annotations

import itertools
import re

from wheelstats.parsing.filenames import PLAIN_WHEEL, parse_by_packaging, parse_filename

NAMES = ["numpy", "PyYAML", "zope.interface", "Foo_Bar.baz", "a__b", "a.-b", "1x", "é"]
VERSIONS = ["1", "1.0.10", "01.0", "1.00", "2.0a1", "2.0b0", "2.0rc12", "2.0RC1", "2.0c1", "2.0alpha1", "2.0a",
            "1.0.post1", "1.0post1", "1.0.post", "1.0.dev0", "1.0dev0", "1.0a1.post2.dev3", "1.0.dev1.post1",
            "1.0+local", "1!2.0", "v1.0", "1.0.", "x"]
TAGS = ["cp39-cp39m-linux_armv7l", "py2.py3-none-any", "py3.py2-none-any", "py3.py3-none-any",
        "cp39-cp39-manylinux_2_17_x86_64.manylinux2014_x86_64", "CP39-cp39-Linux_armv7l", "3x-none-any",
        "py3--any", "py3-none-any."]
BUILDS = ["", "1-", "1build-", "build-"]


def test_every_wheel_name_reads_as_packaging_reads_it():
    names = [f"{name}-{version}-{build}{tags}.whl"
             for name, version, tags, build in itertools.product(NAMES, VERSIONS, TAGS, BUILDS)]
    names += ["numpy-1.0-cp39-cp39-linux_armv7l.whl\n", "numpy-1.0-cp39-cp39-linux_armv7l.tar.gz",
              "requests-2.23.0.tar.gz", "setuptools-40.0-py3.7.egg", "oddly.named.zip", "-1.0-py3-none-any.whl"]
    for name in names:
        assert parse_filename(name) == parse_by_packaging(name), name
    plain = [name for name in names if re.fullmatch(PLAIN_WHEEL, name)]
    assert 0 < len(plain) < len(names) / 4  # both ways were taken
    assert all(parse_filename(name).valid for name in plain)


def test_a_plain_wheel_name_gives_its_parts():
    parsed = parse_filename("Zope.Interface-5.0rc1.post2-py3.py2-none-linux_armv7l.manylinux2014_armv7l.whl")
    assert (parsed.project, parsed.version, parsed.package_type) == ("zope-interface", "5.0rc1.post2", "bdist_wheel")
    assert (parsed.python_tag, parsed.abi_tag, parsed.platform_tag) == (
        "py2.py3", "none", "linux_armv7l.manylinux2014_armv7l")
