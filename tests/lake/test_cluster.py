"""docs/scale.md's cluster steps, on a Spark standalone cluster started here: a master and a worker.

The cluster is started as the docs say (`spark-class` from PySpark's package),
on loopback; wheelstats reaches it with `--spark-master spark://...` (step 6) and
through `spark-submit` (step 7), its executors running in the worker's own JVM
and Python workers, not in the driver's. What they write must be what the
embedded store gives for the same logs.
"""

from __future__ import annotations

import contextlib
import json
import os
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest

from kit.faults import wheelstats
from kit.lakes import invoke
from kit.processes import free_port, stop, wait_until

BIN = Path(sys.executable).parent  # the virtual environment's, where PySpark puts spark-class and spark-submit
# As docs/scale.md says: the environment active (its python finds PySpark's Spark), on loopback here.
ACTIVE = {"PATH": f"{BIN}{os.pathsep}{os.environ['PATH']}", "SPARK_LOCAL_IP": "127.0.0.1"}
PERIOD = "2025-11"  # the sample logs' week


@contextlib.contextmanager
def started(command: list[str], log: Path):
    with open(log, "wb") as output:
        process = subprocess.Popen(command, stdout=output, stderr=subprocess.STDOUT, env={**os.environ, **ACTIVE})
    try:
        yield process
    finally:
        stop(process)


@dataclass(frozen=True, slots=True)
class Cluster:
    url: str    # the master's
    work: Path  # the worker's: a folder per application it ran executors for

    def applications(self) -> int:
        return len(list(self.work.glob("app-*")))


@pytest.fixture(scope="module")
def cluster(tmp_path_factory):
    """A master and one worker (2 cores) on loopback, once the worker is alive."""
    folder = tmp_path_factory.mktemp("cluster")
    port, ui = free_port(), free_port()
    master = [str(BIN / "spark-class"), "org.apache.spark.deploy.master.Master",
              "--host", "127.0.0.1", "--port", str(port), "--webui-port", str(ui)]
    url = f"spark://127.0.0.1:{port}"
    worker = [str(BIN / "spark-class"), "org.apache.spark.deploy.worker.Worker", url, "--host", "127.0.0.1",
              "--webui-port", str(free_port()), "--cores", "2", "--memory", "2g", "--work-dir", str(folder / "work")]
    with started(master, folder / "master.log") as master_process, \
            started(worker, folder / "worker.log") as worker_process:
        def alive_workers() -> int:
            for name, process in (("master", master_process), ("worker", worker_process)):
                if process.poll() is not None:
                    raise RuntimeError(f"the {name} exited: {(folder / f'{name}.log').read_text()[-3000:]}")
            try:
                state = httpx.get(f"http://127.0.0.1:{ui}/json/", timeout=5).json()
            except (httpx.TransportError, json.JSONDecodeError):
                return 0
            return sum(worker["state"] == "ALIVE" for worker in state["workers"])
        wait_until(alive_workers, timeout=180, what="the worker to register with the master")
        yield Cluster(url, folder / "work")


@pytest.fixture(scope="module")
def logs(tmp_path_factory):
    """Three sample logs (a week of a repository each), and the embedded store of them."""
    folder = tmp_path_factory.mktemp("logs")
    paths = []
    for seed in range(3):
        path = folder / f"access.log.{seed}"
        invoke("sample-log", "--lines", "3000", "--seed", seed, "--out", path)
        paths.append(path)
    invoke("ingest", *paths, "--db", folder / "s.duckdb")
    return paths, folder / "s.duckdb"


def test_ingest_and_report_on_a_standalone_cluster_give_the_embedded_stores(cluster, logs, tmp_path):
    paths, db = logs
    lake = tmp_path / "lake"
    on_cluster = ("--engine", "spark", "--spark-master", cluster.url, "--conf", f"spark.pyspark.python={sys.executable}",
                  "--conf", "spark.executor.memory=1g")
    applications = cluster.applications()
    ingested = wheelstats("ingest", *paths, "--lake", lake, *on_cluster, env=ACTIVE)
    assert ingested.code == 0, ingested.stderr
    assert cluster.applications() == applications + 1  # its executors ran on the worker
    assert invoke("summary", "--json", "--lake", lake) == invoke("summary", "--json", "--db", db)
    reported = wheelstats("report", "--period", PERIOD, "--lake", lake, *on_cluster, "--out", tmp_path / "on-cluster",
                          env=ACTIVE)
    assert reported.code == 0, reported.stderr
    invoke("report", "--period", PERIOD, "--db", db, "--out", tmp_path / "from-store")
    assert (tmp_path / "on-cluster" / "report.json").read_bytes() == \
        (tmp_path / "from-store" / "report.json").read_bytes()


def test_spark_submit_runs_a_command_on_the_cluster(cluster, logs, tmp_path):
    """Step 7: the command module submitted, with the virtual environment first on PATH."""
    paths, db = logs
    lake = tmp_path / "lake"
    invoke("export", "--db", db, "--lake", lake)
    applications = cluster.applications()
    module = subprocess.run([sys.executable, "-c", "import wheelstats.__main__ as m; print(m.__file__)"],
                            capture_output=True, text=True, check=True).stdout.strip()
    environment = {**os.environ, **ACTIVE, "PYSPARK_PYTHON": sys.executable}
    submitted = subprocess.run(
        [str(BIN / "spark-submit"), "--master", cluster.url, "--driver-memory", "1g", module, "summary", "--json",
         "--lake", str(lake), "--engine", "spark"],
        capture_output=True, text=True, env=environment, timeout=600)
    assert submitted.returncode == 0, submitted.stderr[-3000:]
    assert cluster.applications() == applications + 1
    assert json.loads(submitted.stdout) == json.loads(invoke("summary", "--json", "--db", db))
