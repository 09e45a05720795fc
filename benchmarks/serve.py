"""Benchmark `wheelstats serve` on loopback: throughput, latency, the cost of recording, and lossless counting.

    .venv/bin/python benchmarks/serve.py [--seconds 10] [--soak-seconds 30] [--clients 200]

1. For index pages (/simple/<project>/, pip's Accept and agent) and for file
   downloads, with recording off, on, and on with the feeder idle (the log
   written, its batches not ingested while wrk runs: what recording costs in the
   server's own process): requests/s and p50/p99 latency from wrk (Debian's
   `wrk`), one wrk thread, in a second process; the server is one uvicorn
   process (httptools + uvloop) plus its feeder child. Runs of the three modes
   are interleaved and the median run of each is shown.
2. Lossless counting: `--clients` concurrent keep-alive clients (asyncio, in a
   second process) fetch files for `--soak-seconds`, counting every 200; then
   the server is stopped with SIGTERM and the store must hold exactly that
   many downloads (nothing lost, nothing doubled).

Every request goes to 127.0.0.1 only, and every run is bounded in time.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path

import duckdb
import httpx

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))
from kit.servers import make_wheel  # noqa: E402  (the same real wheels the tests build)

WHEELSTATS = str(Path(sys.executable).parent / "wheelstats")
PIP_ACCEPT = "application/vnd.pypi.simple.v1+json, application/vnd.pypi.simple.v1+html; q=0.1, text/html; q=0.01"
PIP_AGENT = ('pip/24.0 {"installer":{"name":"pip","version":"24.0"},"python":"3.11.2","implementation":'
             '{"name":"CPython","version":"3.11.2"},"distro":{"name":"Debian GNU/Linux","version":"12","id":'
             '"bookworm"},"system":{"name":"Linux","release":"6.1.0"},"cpu":"aarch64"}')
PROJECTS = 50
WHEEL_PADDING = 16 * 1024  # bytes of incompressible payload per wheel: a small real wheel
RECORDING = "on"
MODES = {  # the server's options in each mode
    "off": ["--no-record"],
    RECORDING: [],
    "on, feeder idle": ["--feed-every", "100000"],  # its first round only, at start: no batch while wrk runs
}


def build_wheels(folder: Path) -> list[str]:
    """PROJECTS projects of three wheels each; returns the file URLs."""
    rng = random.Random(0)
    urls = []
    for number in range(PROJECTS):
        name = f"bench{number:03d}"
        for version in ("1.0", "1.1", "2.0"):
            wheel = make_wheel(folder / name, name, version)
            with open(wheel, "ab") as out:  # zip readers tolerate trailing bytes; the size is what matters
                out.write(rng.randbytes(WHEEL_PADDING))
            urls.append(f"/simple/{name}/{wheel.name}")
    return urls


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


class Server:
    def __init__(self, wheels: Path, work: Path, mode: str):
        self.port = free_port()
        self.db = work / "stats.duckdb"
        self.log = work / "access.log"
        command = [WHEELSTATS, "serve", "--wheels", str(wheels), "--db", str(self.db), "--port", str(self.port),
                   "--access-log", str(self.log)]
        command += MODES[mode]
        self.output = open(work / f"serve-{self.port}.out", "wb")
        self.process = subprocess.Popen(command, stdout=self.output, stderr=subprocess.STDOUT)
        self.url = f"http://127.0.0.1:{self.port}"
        deadline = time.monotonic() + 30
        while True:
            try:
                httpx.get(self.url + "/simple/", timeout=1)
                return
            except httpx.TransportError:
                if time.monotonic() > deadline or self.process.poll() is not None:
                    raise RuntimeError("the server did not start")
                time.sleep(0.1)

    def stop(self) -> None:
        self.process.send_signal(signal.SIGTERM)
        self.process.wait(timeout=120)
        self.output.close()


LUA = """
local paths = {%s}
local counter = 0
wrk.headers["Accept"] = %s
wrk.headers["User-Agent"] = %s
request = function()
  counter = counter + 1
  return wrk.format("GET", paths[(counter %% #paths) + 1])
end
"""


def lua_string(text: str) -> str:
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'


def wrk(url: str, paths: list[str], seconds: int, connections: int, work: Path) -> dict:
    script = work / "paths.lua"
    script.write_text(LUA % (", ".join(lua_string(p) for p in paths), lua_string(PIP_ACCEPT), lua_string(PIP_AGENT)))
    result = subprocess.run(
        ["wrk", "-t1", f"-c{connections}", f"-d{seconds}s", "--latency", "-s", str(script), url],
        capture_output=True, text=True, timeout=seconds + 60,
    )
    out = result.stdout

    def latency(label: str) -> float:
        value, unit = re.search(rf"^\s+{label}%\s+([\d.]+)(us|ms|s)\s*$", out, re.M).groups()
        return float(value) * {"us": 0.001, "ms": 1.0, "s": 1000.0}[unit]

    errors = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    return {
        "rps": float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1)),
        "p50_ms": latency("50"),
        "p99_ms": latency("99"),
        "non_2xx": int(errors.group(1)) if errors else 0,
    }


def measure(wheels: Path, work: Path, index_paths, file_paths, seconds: int, rounds: int) -> dict:
    """A server per mode, all up at once, runs interleaved (off, on, feeder idle, off...), median of `rounds` each.

    Interleaving keeps other load on a shared machine from favouring one mode.
    """
    servers = {}
    for number, mode in enumerate(MODES):
        folder = work / f"mode-{number}"
        folder.mkdir()
        servers[mode] = Server(wheels, folder, mode)
    runs: dict[tuple[str, str], list[dict]] = {}
    try:
        for server in servers.values():
            wrk(server.url, index_paths, 2, 64, work)  # warm up
        for _ in range(rounds):
            for target, paths in (("index", index_paths), ("files", file_paths)):
                for mode, server in servers.items():
                    runs.setdefault((target, mode), []).append(wrk(server.url, paths, seconds, 64, work))
    finally:
        for server in servers.values():
            server.stop()
    return {key: sorted(results, key=lambda r: r["rps"])[len(results) // 2] for key, results in runs.items()}


# -- in-process CPU per request: the application alone, no network, no load tool -------------------


def app_cpu_per_request(wheels: Path, work: Path, path: str, record: bool, requests: int = 20_000) -> float:
    """Microseconds of CPU per request through the ASGI app (recording includes writing the log)."""
    from wheelstats.server.app import ServeConfig, create_app

    folder = work / f"cpu-{'on' if record else 'off'}"
    folder.mkdir(exist_ok=True)
    app = create_app(ServeConfig(wheels, folder / "stats.duckdb", folder / "access.log" if record else None))
    scope = {
        "type": "http", "asgi": {"version": "3.0", "spec_version": "2.4"}, "http_version": "1.1", "method": "GET",
        "scheme": "http", "path": path, "raw_path": path.encode(), "query_string": b"", "root_path": "",
        "headers": [(b"host", b"bench"), (b"accept", PIP_ACCEPT.encode()), (b"user-agent", PIP_AGENT.encode())],
        "client": ("127.0.0.1", 40000), "server": ("127.0.0.1", 8000), "state": {},
    }

    async def receive():
        return {"type": "http.request", "body": b"", "more_body": False}

    async def send(message):
        pass

    async def loop() -> float:
        started = time.process_time()
        for number in range(requests):
            await app(dict(scope), receive, send)
            if record and number % 2000 == 0:
                app.access_log.flush()  # as the flushing thread does every 0.2 s
        return time.process_time() - started

    seconds = asyncio.run(loop())
    if app.access_log is not None:
        app.access_log.close()
    return seconds / requests * 1e6


# -- lossless soak: an asyncio keep-alive client that counts every response -------------------------


async def client(port: int, paths: list[str], deadline: float, counts: Counter, seed: int) -> None:
    rng = random.Random(seed)
    reader = writer = None
    while time.monotonic() < deadline:
        if writer is None:
            reader, writer = await asyncio.open_connection("127.0.0.1", port)
        path = rng.choice(paths)
        writer.write(f"GET {path} HTTP/1.1\r\nHost: bench\r\nUser-Agent: {PIP_AGENT}\r\n\r\n".encode())
        try:
            status_line = await reader.readline()
            length = 0
            while (line := await reader.readline()) not in (b"\r\n", b""):
                name, _, value = line.partition(b":")
                if name.lower() == b"content-length":
                    length = int(value)
            await reader.readexactly(length)
        except (ConnectionError, asyncio.IncompleteReadError):
            counts["connection_errors"] += 1
            writer.close()
            writer = None
            continue
        counts[int(status_line.split()[1])] += 1
    if writer is not None:
        writer.close()
        await writer.wait_closed()


async def soak_clients(port: int, paths: list[str], clients: int, seconds: int) -> Counter:
    counts: Counter = Counter()
    deadline = time.monotonic() + seconds
    await asyncio.wait_for(
        asyncio.gather(*(client(port, paths, deadline, counts, seed) for seed in range(clients))),
        timeout=seconds + 60,
    )
    return counts


def soak_client_main(port: int, clients: int, seconds: int, paths_file: str) -> None:
    """Runs in its own process: prints the status counts as JSON."""
    try:
        import uvloop

        uvloop.install()
    except ImportError:
        pass
    paths = json.loads(Path(paths_file).read_text())
    counts = asyncio.run(soak_clients(port, paths, clients, seconds))
    print(json.dumps({str(k): v for k, v in counts.items()}))


def soak(wheels: Path, work: Path, file_paths: list[str], clients: int, seconds: int) -> dict:
    folder = work / "soak"
    folder.mkdir()
    server = Server(wheels, folder, RECORDING)
    paths_file = folder / "paths.json"
    paths_file.write_text(json.dumps(file_paths))
    started = time.monotonic()
    result = subprocess.run(
        [sys.executable, __file__, "--soak-client", str(server.port), str(clients), str(seconds), str(paths_file)],
        capture_output=True, text=True, timeout=seconds + 120,
    )
    elapsed = time.monotonic() - started
    counts = json.loads(result.stdout)
    stop_started = time.monotonic()
    server.stop()  # SIGTERM: the last lines are flushed and ingested
    drain = time.monotonic() - stop_started
    con = duckdb.connect(str(server.db), read_only=True)
    stored = con.execute("SELECT count(*) FROM hits WHERE kind = 'download'").fetchone()[0]
    distinct_lines = con.execute("SELECT count(DISTINCT line_no) FROM hits").fetchone()[0]
    con.close()
    logged = server.log.read_bytes().count(b'.whl HTTP/1.1" 200 ')
    return {"client_200": counts.get("200", 0), "other": {k: v for k, v in counts.items() if k != "200"},
            "stored_downloads": stored, "logged_200": logged, "distinct_hit_lines": distinct_lines,
            "rps": counts.get("200", 0) / elapsed, "drain_s": drain}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--seconds", type=int, default=10, help="length of each wrk run")
    parser.add_argument("--rounds", type=int, default=3, help="runs of each kind (the median is shown)")
    parser.add_argument("--soak-seconds", type=int, default=30)
    parser.add_argument("--clients", type=int, default=200)
    parser.add_argument("--soak-client", nargs=4, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.soak_client:
        port, clients, seconds, paths_file = args.soak_client
        soak_client_main(int(port), int(clients), int(seconds), paths_file)
        return
    if shutil.which("wrk") is None:
        sys.exit("wrk is not installed: apt-get install -y wrk")
    with tempfile.TemporaryDirectory(prefix="wheelstats-bench-") as tmp:
        work = Path(tmp)
        wheels = work / "wheels"
        file_paths = build_wheels(wheels)
        index_paths = [f"/simple/bench{n:03d}/" for n in range(PROJECTS)]
        print(f"{PROJECTS} projects, {len(file_paths)} wheels of ~{WHEEL_PADDING // 1024 + 1} KiB; "
              f"{os.cpu_count()} CPUs; wrk -t1 -c64, {args.seconds} s per run, median of {args.rounds} interleaved runs\n")
        results = measure(wheels, work, index_paths, file_paths, args.seconds, args.rounds)
        print(f"{'target':<8} {'recording':<17} {'req/s':>9} {'p50 ms':>8} {'p99 ms':>8} {'non-2xx':>8}")
        for target in ("index", "files"):
            for mode in MODES:
                r = results[(target, mode)]
                print(f"{target:<8} {mode:<17} {r['rps']:>9,.0f} {r['p50_ms']:>8.2f} "
                      f"{r['p99_ms']:>8.2f} {r['non_2xx']:>8}")
            off, on, idle = (results[(target, mode)]["rps"] for mode in MODES)
            print(f"{'':<8} recording costs {100 * (off - on) / off:.1f}% of {target} throughput "
                  f"({100 * (off - idle) / off:.1f}% with the feeder idle: the server's own part)")
        print("\nCPU per request inside the application (ASGI, no network; median of 3):")
        for target, path in (("index", index_paths[1]), ("files", file_paths[4])):
            cost = {record: sorted(app_cpu_per_request(wheels, work, path, record) for _ in range(3))[1]
                    for record in (False, True)}
            print(f"  {target}: {cost[False]:.1f} us without recording, {cost[True]:.1f} us with "
                  f"(+{cost[True] - cost[False]:.1f} us a request)")
        print(f"\nLossless soak: {args.clients} concurrent clients fetching files for {args.soak_seconds} s ...")
        outcome = soak(wheels, work, file_paths, args.clients, args.soak_seconds)
        print(f"  client counted {outcome['client_200']:,} 200 responses ({outcome['rps']:,.0f}/s), "
              f"other outcomes: {outcome['other'] or 'none'}")
        print(f"  access log holds {outcome['logged_200']:,} file 200s; the store holds "
              f"{outcome['stored_downloads']:,} downloads ({outcome['distinct_hit_lines']:,} distinct log lines); "
              f"drained {outcome['drain_s']:.1f} s after SIGTERM")
        exact = outcome["client_200"] == outcome["stored_downloads"] == outcome["logged_200"]
        print("  nothing lost, nothing doubled" if exact else "  MISMATCH")
        if not exact:
            sys.exit(1)


if __name__ == "__main__":
    main()
