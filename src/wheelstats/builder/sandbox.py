"""The build's own process: its limits set first, then pip, run in this same process.

    python -m wheelstats.builder.sandbox [--memory BYTES] [--cpu SECONDS] -- PIP ARGUMENTS...

wheelstats.builder.supervise starts it in a session of its own (so that the
whole build is one process group to kill), with no standard input and its
output going to the build's log. Here, before pip is even imported:

    RLIMIT_AS   the memory limit, for this process and every process it starts
    RLIMIT_CPU  the CPU time limit, a second above the whole build's (which the
                supervisor enforces over every process): a backstop for one process
    RLIMIT_CORE 0: a build killed by a limit leaves no core file behind

pip then runs as `python -m pip` would, in this process: one interpreter start
per build, not two. Only the standard library is imported before pip.
"""

from __future__ import annotations

import resource
import runpy
import sys

CPU_BACKSTOP_S = 1  # over the supervisor's limit, so that it is the one that stops a build


class UsageError(ValueError):
    pass


def parse(argv: list[str]) -> tuple[int | None, int | None, list[str]]:
    """(memory bytes, CPU seconds, pip's arguments) from this module's command line."""
    memory = cpu = None
    index = 0
    while index < len(argv) and argv[index] != "--":
        option, value = argv[index], argv[index + 1] if index + 1 < len(argv) else ""
        if option not in ("--memory", "--cpu") or not value.isdigit():
            raise UsageError(f"usage: python -m wheelstats.builder.sandbox [--memory BYTES] [--cpu SECONDS] -- "
                             f"PIP ARGUMENTS (not {option!r} {value!r})")
        if option == "--memory":
            memory = int(value)
        else:
            cpu = int(value)
        index += 2
    return memory, cpu, argv[index + 1:]


def limit(memory: int | None, cpu: int | None) -> None:
    resource.setrlimit(resource.RLIMIT_CORE, (0, 0))
    if memory is not None:
        resource.setrlimit(resource.RLIMIT_AS, (memory, memory))
    if cpu is not None:
        resource.setrlimit(resource.RLIMIT_CPU, (cpu + CPU_BACKSTOP_S, cpu + CPU_BACKSTOP_S + 1))


def main(argv: list[str] | None = None) -> None:
    try:
        memory, cpu, pip_arguments = parse(sys.argv[1:] if argv is None else argv)
    except UsageError as error:
        sys.exit(str(error))
    limit(memory, cpu)
    sys.argv = ["pip", *pip_arguments]
    runpy.run_module("pip", run_name="__main__", alter_sys=True)


if __name__ == "__main__":
    main()
