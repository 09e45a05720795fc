"""The compiled kernel of ingest (src/wheelstats/parsing/_kernel.c); everything else is in pyproject.toml."""

from setuptools import Extension, setup

setup(
    ext_modules=[
        Extension(
            "wheelstats.parsing._kernel",
            ["src/wheelstats/parsing/_kernel.c"],
            depends=["src/wheelstats/parsing/_json.h", "src/wheelstats/parsing/_times.h"],
            extra_compile_args=["-O2", "-std=c11", "-Wall", "-Wextra", "-Wno-unused-parameter"],
        )
    ]
)
