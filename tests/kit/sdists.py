"""Sdists that really build, made in the test: pure Python, a C extension gcc compiles, and ones
that fail, hang (forking a child that hangs too), eat memory, burn CPU, or leave a daemon behind.

Each is made by kit.servers.make_sdist with an in-tree PEP 517 backend that needs nothing
installed (`requires = []`), so pip builds it offline in its isolated environment; the backend
reads what to do from the sdist's build.json.
"""

from __future__ import annotations

import json
from pathlib import Path

from kit.servers import make_sdist

KINDS = ("pure", "extension", "fail", "hang", "memory", "cpu", "daemon")
FAILURE_MESSAGE = "this project cannot be built here"

BUILDING_BACKEND = r'''"""A PEP 517 backend that builds what build.json asks for (a test project)."""
import base64
import hashlib
import json
import os
import subprocess
import sys
import sysconfig
import time
import zipfile

WHEEL_INFO = "DIST_INFO"


def get_requires_for_build_wheel(config_settings=None):
    return []


def _record_hash(data):
    return "sha256=" + base64.urlsafe_b64encode(hashlib.sha256(data).digest()).rstrip(b"=").decode()


def _compile(module):
    include = sysconfig.get_paths()["include"]
    os.makedirs("build", exist_ok=True)
    built = os.path.join("build", "_speedups" + sysconfig.get_config_var("EXT_SUFFIX"))
    command = ["gcc", "-shared", "-fPIC", "-O2", "-I" + include, "speedups.c", "-o", built]
    print(" ".join(command), flush=True)
    subprocess.run(command, check=True)
    with open(built, "rb") as compiled:
        return module + "/" + os.path.basename(built), compiled.read()


def build_wheel(wheel_directory, config_settings=None, metadata_directory=None):
    with open("build.json") as config_file:
        config = json.load(config_file)
    kind, module = config["kind"], config["module"]
    print("building", module, "as", kind, flush=True)
    if config["gate"]:  # says it is waiting (a line of the gate's .waiting file), then waits for the gate
        with open(config["gate"] + ".waiting", "a") as waiting:
            waiting.write(f"{os.getpid()}\n")
        while not os.path.exists(config["gate"]):
            time.sleep(0.05)
    if kind == "fail":
        raise RuntimeError(config["message"])
    if kind == "hang":
        child = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(3600)"])
        with open(config["pid_file"], "w") as pids:
            pids.write(f"{os.getpid()} {child.pid}\n")
        time.sleep(3600)
    if kind == "daemon":  # leaves a process behind in a session of its own, and succeeds
        daemon = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(3600)"], start_new_session=True,
                                  stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        with open(config["pid_file"], "w") as pids:
            pids.write(f"{daemon.pid}\n")
    if kind == "memory":
        held = bytearray(config["bytes"])
        print("allocated", len(held), "bytes", flush=True)
    if kind == "cpu":
        while True:
            pass
    files = {module + "/__init__.py": ("VERSION = %r\n" % config["version"]).encode()}
    tag = "py3-none-any"
    if kind == "extension":
        member, data = _compile(module)
        files[member] = data
        files[module + "/__init__.py"] += b"from ._speedups import add\n"
        python = "cp%d%d" % sys.version_info[:2]
        tag = python + "-" + python + "-" + sysconfig.get_platform().replace("-", "_").replace(".", "_")
    with open("PKG-INFO", "rb") as pkg_info:
        files[WHEEL_INFO + "/METADATA"] = pkg_info.read()
    files[WHEEL_INFO + "/WHEEL"] = (
        "Wheel-Version: 1.0\nGenerator: wheelstats-tests\nRoot-Is-Purelib: %s\nTag: %s\n"
        % (str(tag.endswith("-none-any")).lower(), tag)
    ).encode()
    record = "".join("%s,%s,%d\n" % (path, _record_hash(data), len(data)) for path, data in files.items())
    files[WHEEL_INFO + "/RECORD"] = (record + WHEEL_INFO + "/RECORD,,\n").encode()
    filename = WHEEL_INFO[: -len(".dist-info")] + "-" + tag + ".whl"
    with zipfile.ZipFile(os.path.join(wheel_directory, filename), "w", zipfile.ZIP_DEFLATED) as wheel:
        for path, data in files.items():
            wheel.writestr(path, data)
    return filename
'''

SPEEDUPS_C = b"""#define PY_SSIZE_T_CLEAN
#include <Python.h>

static PyObject *add(PyObject *self, PyObject *args) {
    long a, b;
    if (!PyArg_ParseTuple(args, "ll", &a, &b))
        return NULL;
    return PyLong_FromLong(a + b);
}

static PyMethodDef methods[] = {{"add", add, METH_VARARGS, "a + b"}, {NULL, NULL, 0, NULL}};
static struct PyModuleDef speedups = {PyModuleDef_HEAD_INIT, "_speedups", NULL, -1, methods};

PyMODINIT_FUNC PyInit__speedups(void) { return PyModule_Create(&speedups); }
"""


def busy_functions(count: int) -> bytes:
    """C functions that keep gcc -O2 busy (about 0.4 s per 100 here), so a build takes real time."""
    return "".join(f"long busy{i}(long n) {{ long s = 0; for (long j = 0; j < n; j++) s += (j * {i}) ^ (s >> 3); "
                   f"return s; }}\n" for i in range(count)).encode()


def make_project(folder: Path, name: str, version: str, kind: str = "pure", *, requires=(),
                 requires_python: str | None = None, pid_file: Path | None = None, allocate: int = 0,
                 compile_functions: int = 0, message: str = FAILURE_MESSAGE, gate: Path | None = None) -> Path:
    """An sdist of `name` (a plain module name, no dashes) whose build does `kind` (see KINDS):
    `pid_file` receives a hanging build's process ids (or a daemon's), `allocate` is how much a
    memory build asks for, `compile_functions` more functions make an extension's compilation take
    longer, a failing build raises with `message`, and with a `gate` every build first adds a line
    to the file beside it named `<gate>.waiting` and goes on only once the gate file exists."""
    if kind not in KINDS:
        raise ValueError(f"Unknown kind of test project: {kind!r}. Choose one of: {', '.join(KINDS)}.")
    config = {"kind": kind, "module": name, "version": version, "message": message,
              "pid_file": str(pid_file) if pid_file else None, "bytes": allocate,
              "gate": str(gate) if gate else None}
    extra = {"build.json": json.dumps(config).encode()}
    if kind == "extension":
        extra["speedups.c"] = SPEEDUPS_C + busy_functions(compile_functions)
    return make_sdist(folder, name, version, requires=requires, requires_python=requires_python,
                      backend=BUILDING_BACKEND, extra_files=extra)
