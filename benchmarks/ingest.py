"""Ingest speed, memory and store size: `wheelstats ingest` against GoAccess, and against the code
of another git revision (`--before`, main by default), side by side, on the same logs.

    .venv/bin/python benchmarks/ingest.py [--lines 1000000] [--before main] [--keep DIR] [--countries-off]
    .venv/bin/python benchmarks/ingest.py --formats [--lines 1000000] [--before main]

Four logs of --lines lines each, plain and gzip:
- sample: `wheelstats sample-log` (pip and uv JSON agents, about 500 bytes a line, a real index's mix);
- pip-heavy: about 150 bytes a line, short pip agents, mostly index lookups and downloads;
- mixed: half the lines browsers, crawlers and 404s, the other half pip traffic;
- many-clients: pip-heavy's traffic from as many clients as a quarter of its lines (the others
  come from 20,000), with pip's JSON agents, as many as a hundredth of its lines (Pythons,
  distros, kernels): the distinct values a real index's log brings, each looked up, hashed and
  parsed once.
--logs picks some of them (comma-separated).
For each, a fresh `wheelstats ingest` of this tree, the same of the --before revision (its
src/ from `git archive`, run with this virtual environment's packages; both trees' bytecode written first,
as pip writes an installed package's) and GoAccess
(`--log-format=COMBINED`, JSON output; gzip through zcat), each in its own process, end
to end: lines/s, CPU seconds (user + system: steadier than wall time on a shared machine), the
ratio to GoAccess, peak RSS; and each store's bytes per million hits:
the whole store file (checkpointed; at a million lines its small tables' blocks weigh in),
and the blocks of the hits' own tables (`hits` before schema version 6, hit_rows and its
hit_* dictionaries since).
With --countries-off, this tree runs a second time with `--country off` (no country looked up per
address), so the cost of the countries shows side by side, on the same files.
GoAccess comes from the Debian package: apt-get install goaccess (nothing else needs it).

With --formats, the pip-heavy and mixed logs' hits are written again in each other format
wheelstats reads (the same requests, agents and times), and each file is ingested with
no --format (detected), end to end: lines/s and CPU seconds, and the ratios to the combined log's; by this
tree and, right after it on the same file, by --before's (its kernel built in place).
"""

from __future__ import annotations

import argparse
import csv
import gzip
import io
import json
import re
import urllib.parse
import os
import random
import shutil
import subprocess
import sys
import tarfile
import tempfile
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import duckdb

HERE = Path(__file__).resolve().parent
WHEELSTATS = [sys.executable, "-m", "wheelstats"]
WEEK_START = int(datetime(2025, 11, 17, tzinfo=UTC).timestamp())
MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")
PIP_AGENTS = (  # the short agents of pip before 6.0.x's JSON (linehaul reads them as installers)
    "pip/1.5.6 CPython/2.7.9 Linux/4.9.35-v7+",
    "pip/1.5.6 CPython/3.4.2 Linux/4.4.50-v7+",
    "pip/6.0.8 CPython/3.4.2 Linux/4.9.59-v7+",
    "pip/1.1 CPython/2.7.3 Linux/3.18.7+",
)
BROWSERS = (
    "Mozilla/5.0 (X11; Linux armv7l) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0.0.0 Safari/537.36",
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64; rv:121.0) Gecko/20100101 Firefox/121.0",
    "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.1 Safari/605.1.15",
)
BOTS = (
    "Mozilla/5.0 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)",
    "Mozilla/5.0 (compatible; bingbot/2.0; +http://www.bing.com/bingbot.htm)",
    "Mozilla/5.0 (compatible; AhrefsBot/7.0; +http://ahrefs.com/robot/)",
)
PAGES = ("/", "/packages.html", "/faq.html", "/stats.html")
LOGS = ("sample", "pip-heavy", "mixed", "many-clients")


@dataclass(frozen=True, slots=True)
class Run:
    """One end-to-end run of a tool over a log."""

    seconds: float
    cpu_seconds: float  # user + system, the tool's and its children's: steadier than wall time on a shared machine
    peak_mib: float


@dataclass(frozen=True, slots=True)
class Pool:
    """What the generated logs draw from."""

    clients: list[str]
    projects: list[str]
    files: list[tuple[str, str, int]]  # project, filename, size
    agents: tuple[str, ...] = PIP_AGENTS  # pip's


def child_peak(command: list[str], env: dict[str, str] | None = None) -> Run:
    """Run `command` through /usr/bin/time to read this child's own peak RSS and CPU time."""
    start = time.perf_counter()
    result = subprocess.run(["/usr/bin/time", "-f", "%M %U %S", *command], check=True, stdout=subprocess.DEVNULL,
                            stderr=subprocess.PIPE, text=True, env=env)
    seconds = time.perf_counter() - start
    peak_kib, user, system = result.stderr.strip().splitlines()[-1].split()
    return Run(seconds, float(user) + float(system), int(peak_kib) / 1024)


def make_pool(rng: random.Random, clients: int = 20_000, agents: tuple[str, ...] = PIP_AGENTS) -> Pool:
    addresses = [f"{rng.randrange(1, 224)}.{rng.randrange(256)}.{rng.randrange(256)}.{rng.randrange(1, 255)}"
                 for _ in range(clients)]
    projects = [f"project-{i}" for i in range(600)]
    files = []
    for project in projects:
        name = project.replace("-", "_")
        for version in range(rng.randrange(1, 6)):
            for python in ("cp39-cp39", "cp311-cp311"):
                files.append((project, f"{name}-1.{version}.0-{python}-linux_armv7l.whl", rng.randrange(10_000, 5_000_000)))
    return Pool(addresses, projects, files, agents)


def json_pip_agents(rng: random.Random, count: int) -> tuple[str, ...]:
    """`count` distinct agents as pip 6 and later send them (linehaul's JSON: Pythons, distros and kernels), as
    a log writes them."""
    agents: set[str] = set()
    while len(agents) < count:
        pip, python = f"{rng.randrange(18, 25)}.{rng.randrange(4)}", f"3.{rng.randrange(7, 13)}.{rng.randrange(20)}"
        distro, version = rng.choice((("Raspbian GNU/Linux", ("10", "11", "12")), ("Debian GNU/Linux", ("11", "12")),
                                      ("Ubuntu", ("20.04", "22.04", "24.04"))))
        details = {"installer": {"name": "pip", "version": pip}, "python": python,
                   "implementation": {"name": "CPython", "version": python},
                   "distro": {"name": distro, "version": rng.choice(version),
                              "libc": {"lib": "glibc", "version": "2.36"}},
                   "system": {"name": "Linux", "release": f"6.{rng.randrange(13)}.{rng.randrange(80)}-v7+"},
                   "cpu": rng.choice(("armv7l", "aarch64", "armv6l")), "ci": None}
        logged = json.dumps(details, separators=(",", ":")).replace('"', '\\"')  # as Apache and nginx log it
        agents.add(f"pip/{pip} {logged}")
    return tuple(sorted(agents))


def _stamp(epoch: int) -> str:
    t = time.gmtime(epoch)
    return f"{t.tm_mday:02d}/{MONTHS[t.tm_mon - 1]}/{t.tm_year}:{t.tm_hour:02d}:{t.tm_min:02d}:{t.tm_sec:02d} +0000"


def _line(client: str, epoch: int, path: str, status: int, size: int, agent: str, method: str = "GET") -> str:
    return f'{client} - - [{_stamp(epoch)}] "{method} {path} HTTP/1.1" {status} {size} "-" "{agent}"\n'


def pip_lines(rng: random.Random, pool: Pool, lines: int) -> list[str]:
    """Pip traffic: an index lookup and a download each, a few 304s and lookups of unknown projects."""
    out = []
    step = 7 * 86400 / max(lines, 1)
    while len(out) < lines:
        epoch = WEEK_START + int(len(out) * step)
        client, agent = rng.choice(pool.clients), rng.choice(pool.agents)
        project, filename, size = rng.choice(pool.files)
        roll = rng.random()
        if roll < 0.04:
            out.append(_line(client, epoch, f"/simple/{project}/", 304, 0, agent))
        elif roll < 0.06:
            out.append(_line(client, epoch, f"/simple/no-such-{project}/", 404, 162, agent))
        else:
            out.append(_line(client, epoch, f"/simple/{project}/", 200, rng.randrange(800, 9000), agent))
            out.append(_line(client, epoch + 1, f"/simple/{project}/{filename}", 200, size, agent))
    return out[:lines]


def other_lines(rng: random.Random, pool: Pool, lines: int) -> list[str]:
    """Browsers and crawlers on project pages, web pages and files, and 404s."""
    out = []
    step = 7 * 86400 / max(lines, 1)
    for n in range(lines):
        epoch = WEEK_START + int(n * step)
        client, project = rng.choice(pool.clients), rng.choice(pool.projects)
        agent = rng.choice(BROWSERS if n % 2 else BOTS)
        roll = rng.random()
        if roll < 0.35:
            out.append(_line(client, epoch, f"/project/{project}/old-page", 404, 209, agent))
        elif roll < 0.6:
            out.append(_line(client, epoch, f"/project/{project}/", 200, rng.randrange(2000, 40_000), agent))
        elif roll < 0.8:
            out.append(_line(client, epoch, rng.choice(PAGES), 200, rng.randrange(2000, 20_000), agent))
        elif roll < 0.9:
            out.append(_line(client, epoch, f"/project/{project}/json", 200, rng.randrange(500, 5000), agent))
        else:
            _, filename, size = rng.choice(pool.files)
            out.append(_line(client, epoch, f"/static/{filename}.missing", 404, 162, agent))
    return out


def write_generated(path: Path, name: str, lines: int, seed: int = 1) -> None:
    rng = random.Random(seed)
    if name == "many-clients":
        pool = make_pool(rng, clients=max(lines // 4, 1), agents=json_pip_agents(rng, max(lines // 100, 1)))
    else:
        pool = make_pool(rng)
    if name == "mixed":
        text = pip_lines(rng, pool, lines - lines // 2) + other_lines(rng, pool, lines // 2)
        text.sort(key=lambda line: line[line.index("[") :][1:21])  # interleaved by time, as a server writes
    else:
        text = pip_lines(rng, pool, lines)
    with open(path, "w") as out:
        out.writelines(text)


COMBINED_LINE = re.compile(r'^(\S+) - - \[([^\]]+)\] "(\S+) (\S+) HTTP/1.1" (\d+) (\d+) "-" "(.*)"$')
CLOUDFRONT_COLUMNS = ("date time x-edge-location sc-bytes c-ip cs-method cs(Host) cs-uri-stem sc-status cs(Referer) "
                      "cs(User-Agent) cs-uri-query cs(Cookie) x-edge-result-type x-edge-request-id").split()
GCS_COLUMNS = ("time_micros", "c_ip", "c_ip_type", "c_ip_region", "cs_method", "cs_uri", "sc_status", "cs_bytes",
               "sc_bytes", "time_taken_micros", "cs_host", "cs_referer", "cs_user_agent", "s_request_id",
               "cs_operation", "cs_bucket", "cs_object")


@dataclass(frozen=True, slots=True)
class Request:
    """One generated request, whatever format writes it."""

    client: str
    at: datetime
    method: str
    path: str
    status: int
    size: int
    agent: str


def requests_of(lines: list[str]) -> list[Request]:
    """The requests the generated combined lines hold (their agents have no escapes)."""
    out = []
    for line in lines:
        client, stamp, method, path, status, size, agent = COMBINED_LINE.match(line.rstrip("\n")).groups()
        out.append(Request(client, datetime.strptime(stamp, "%d/%b/%Y:%H:%M:%S %z"), method, path, int(status),
                           int(size), agent))
    return out


def written_as(log_format: str, requests: list[Request]) -> str:
    """The requests as `log_format` writes them (its documented fields; see docs/ingest.md's table)."""
    if log_format == "combined":
        return "".join(f'{r.client} - - [{r.at:%d/%b/%Y:%H:%M:%S %z}] "{r.method} {r.path} HTTP/1.1" {r.status} '
                       f'{r.size} "-" "{r.agent}"\n' for r in requests)
    if log_format == "caddy":
        return "".join(json.dumps({
            "level": "info", "ts": r.at.timestamp(), "logger": "http.log.access", "msg": "handled request",
            "request": {"remote_ip": r.client, "remote_port": "41234", "client_ip": r.client, "proto": "HTTP/1.1",
                        "method": r.method, "host": "index.example", "uri": r.path,
                        "headers": {"User-Agent": [r.agent], "Accept": ["*/*"]}},
            "bytes_read": 0, "duration": 0.001, "size": r.size, "status": r.status}) + "\n" for r in requests)
    if log_format == "traefik":
        return "".join(json.dumps({
            "ClientHost": r.client, "DownstreamContentSize": r.size, "DownstreamStatus": r.status,
            "RequestMethod": r.method, "RequestPath": r.path, "StartUTC": f"{r.at:%Y-%m-%dT%H:%M:%S.%fZ}",
            "request_User-Agent": r.agent}) + "\n" for r in requests)
    if log_format == "cloudflare":
        return "".join(json.dumps({
            "ClientIP": r.client, "ClientRequestMethod": r.method, "ClientRequestURI": r.path,
            "ClientRequestUserAgent": r.agent, "EdgeResponseBytes": r.size, "EdgeResponseStatus": r.status,
            "EdgeStartTimestamp": int(r.at.timestamp()) * 1_000_000_000}) + "\n" for r in requests)
    if log_format == "haproxy":
        return "".join(
            f"{r.at:%b %d %H:%M:%S} index haproxy[42]: {r.client}:50123 [{r.at:%d/%b/%Y:%H:%M:%S}.000] web~ pypi/s1 "
            f"0/0/1/2/3 {r.status} {r.size} - - ---- 1/1/0/0/0 0/0 {{{r.agent}|}} \"{r.method} {r.path} HTTP/1.1\"\n"
            for r in requests)
    if log_format == "cloudfront":
        rows = [f"#Version: 1.0\n#Fields: {' '.join(CLOUDFRONT_COLUMNS)}\n"]
        rows += [f"{r.at:%Y-%m-%d\t%H:%M:%S}\tCDG50-C1\t{r.size}\t{r.client}\t{r.method}\td1.cloudfront.net\t{r.path}\t"
                 f"{r.status}\t-\t{urllib.parse.quote(r.agent, safe='/;:(),=')}\t-\t-\tHit\tx\n" for r in requests]
        return "".join(rows)
    if log_format == "s3":
        return "".join(
            f"79a59df900b949e55d96a1e698fbacedfd6e09d98eacf8f8d5218e7cd47ef2be pypi [{r.at:%d/%b/%Y:%H:%M:%S %z}] "
            f"{r.client} - 3E57427F3EXAMPLE REST.{r.method}.OBJECT {r.path[1:] or '-'} \"{r.method} {r.path} HTTP/1.1\" "
            f"{r.status} - {r.size} {r.size} 7 - \"-\" \"{r.agent}\" - s9lzHYrFp76ZVxRcpX9+5cjAnEH2ROuNkd2BHfIa6UkFV= "
            "SigV4 ECDHE-RSA-AES128-GCM-SHA256 AuthHeader pypi.s3.eu-west-3.amazonaws.com TLSv1.2 - -\n"
            for r in requests)
    if log_format == "gcs":
        out = io.StringIO()
        writer = csv.writer(out, quoting=csv.QUOTE_ALL, lineterminator="\n")
        writer.writerow(GCS_COLUMNS)
        writer.writerows([int(r.at.timestamp()) * 1_000_000, r.client, "1", "", r.method, r.path, r.status, 0, r.size,
                          5000, "storage.googleapis.com", "", r.agent, "id", "GET_Object", "pypi", r.path[1:]]
                         for r in requests)
        return out.getvalue()
    raise ValueError(log_format)


FORMATS = ("combined", "caddy", "traefik", "cloudflare", "haproxy", "cloudfront", "s3", "gcs")


def compare_formats(work: Path, lines: int, trees: dict[str, dict[str, str] | None]) -> None:
    """Each format's speed against the combined log's, on the same requests, for each tree (this one,
    and the --before revision's), the trees' runs of one log one after the other."""
    print(f"{'log':<10} {'format':<11} {'tree':<11} {'seconds':>8} {'lines/s':>10} {'x combined':>10} {'CPU s':>6} "
          f"{'x comb CPU':>10} {'peak RSS':>10} {'hits':>9}")
    for name in ("pip-heavy", "mixed"):
        plain = work / f"{name}.log"
        write_generated(plain, name, lines)
        requests = requests_of(plain.read_text().splitlines(keepends=True))
        combined_speed: dict[str, float] = {}
        combined_cpu: dict[str, float] = {}
        for log_format in FORMATS:
            log = work / f"{name}.{log_format}.log"
            log.write_text(written_as(log_format, requests))
            for tree, env in trees.items():
                db = fresh(work / f"{name}-{log_format}.duckdb")
                run = child_peak([*WHEELSTATS, "ingest", "--db", str(db), str(log)], env)
                hits = store_size(db).hits
                speed = lines / run.seconds
                combined_speed.setdefault(tree, speed)
                combined_cpu.setdefault(tree, run.cpu_seconds)
                print(f"{name:<10} {log_format:<11} {tree:<11} {run.seconds:8.1f} {speed:10,.0f} "
                      f"{speed / combined_speed[tree]:9.2f}x {run.cpu_seconds:6.1f} "
                      f"{combined_cpu[tree] / run.cpu_seconds:9.2f}x {run.peak_mib:6,.0f} MiB {hits:9,}", flush=True)
                fresh(db)
            log.unlink()
        plain.unlink()


def before_tree(work: Path, revision: str) -> Path:
    """The src/ of `revision` (git archive), its C kernel built in place, for PYTHONPATH."""
    target = work / f"before-{revision.replace('/', '_')}"
    archive = subprocess.run(
        ["git", "-C", str(HERE.parent), "archive", revision, "src", "setup.py", "pyproject.toml", "README.md"],
        check=True, stdout=subprocess.PIPE).stdout
    target.mkdir(exist_ok=True)
    archive_path = work / "before.tar"
    archive_path.write_bytes(archive)
    with tarfile.open(archive_path) as tar:
        tar.extractall(target, filter="data")
    archive_path.unlink()
    subprocess.run([sys.executable, "setup.py", "-q", "build_ext", "--inplace"], cwd=target, check=True,
                   capture_output=True)
    return compiled(target / "src")


def compiled(src: Path) -> Path:
    """`src` with its modules' bytecode written, as pip writes an installed package's: where Python is told
    not to write it (PYTHONDONTWRITEBYTECODE, as on this machine), each run would compile them all again."""
    subprocess.run([sys.executable, "-m", "compileall", "-q", str(src)], check=True)
    return src


def fresh(db: Path) -> Path:
    for leftover in (db, Path(f"{db}.wal"), Path(f"{db}.key")):
        leftover.unlink(missing_ok=True)
    return db


@dataclass(frozen=True, slots=True)
class StoreSize:
    """A store's hits, and its bytes per million of them: the whole file, and the blocks of the
    hits' own tables (before schema version 6 `hits`; since, hit_rows and its dictionaries)."""

    hits: int
    file_per_million: float
    hits_per_million: float


def store_size(db: Path) -> StoreSize:
    con = duckdb.connect(str(db), read_only=True)
    [(hits,)] = con.execute("SELECT count(*) FROM hits").fetchall()
    tables = [name for (name,) in con.execute(
        "SELECT table_name FROM duckdb_tables() WHERE table_name = 'hits' OR starts_with(table_name, 'hit_')"
    ).fetchall()]
    [(block_size,)] = con.execute("SELECT block_size FROM pragma_database_size()").fetchall()
    blocks = set()
    for table in tables:
        for block, more in con.execute(
            f"SELECT block_id, additional_block_ids FROM pragma_storage_info('{table}') WHERE block_id >= 0"
        ).fetchall():
            blocks.update([block, *(more or [])])
    con.close()
    per_million = 1e6 / hits if hits else float("nan")
    return StoreSize(hits, db.stat().st_size * per_million, len(blocks) * block_size * per_million)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--lines", type=int, default=1_000_000)
    parser.add_argument("--before", default="main", help="the git revision to compare with ('' for none)")
    parser.add_argument("--keep", type=Path, help="write the logs and stores here and keep them")
    parser.add_argument("--countries-off", action="store_true",
                        help="also run this tree with --country off, to show what looking countries up costs")
    parser.add_argument("--formats", action="store_true", help="compare each log format's speed with combined's")
    parser.add_argument("--logs", type=lambda text: text.split(","), default=list(LOGS),
                        help=f"which logs, comma-separated (default: all of {', '.join(LOGS)})")
    args = parser.parse_args()
    unknown = sorted(set(args.logs) - set(LOGS))
    if unknown:
        parser.error(f"--logs: no such log {', '.join(unknown)} (the logs: {', '.join(LOGS)})")
    if args.formats:
        work = Path(tempfile.mkdtemp(prefix="wheelstats-formats-"))
        try:
            compiled(HERE.parent / "src")
            trees = {"this": None}
            if args.before:
                trees[args.before] = {**os.environ, "PYTHONPATH": str(before_tree(work, args.before))}
            compare_formats(work, args.lines, trees)
        finally:
            shutil.rmtree(work)
        return
    if not shutil.which("goaccess"):
        sys.exit("GoAccess is not installed: apt-get install goaccess")
    if not Path("/usr/bin/time").exists():
        sys.exit("/usr/bin/time is not installed: apt-get install time")
    work = args.keep or Path(tempfile.mkdtemp(prefix="wheelstats-bench-"))
    work.mkdir(parents=True, exist_ok=True)
    compiled(HERE.parent / "src")
    tools: dict[str, tuple[dict[str, str] | None, list[str]]] = {"wheelstats": (None, [])}
    if args.countries_off:
        tools["country off"] = (None, ["--country", "off"])
    if args.before:
        tools[args.before] = ({**os.environ, "PYTHONPATH": str(before_tree(work, args.before))}, [])
    print(f"{'log':<10} {'input':<6} {'tool':<11} {'seconds':>8} {'CPU s':>6} {'lines/s':>10} {'x goaccess':>10} "
          f"{'peak RSS':>10} {'hits':>9} {'per 1M hits: file':>20} {'hits':>8}")
    for name in args.logs:
        plain = work / f"{name}.log"
        start = time.perf_counter()
        if name == "sample":
            subprocess.run([*WHEELSTATS, "sample-log", "--lines", str(args.lines), "--out", str(plain)], check=True,
                           stdout=subprocess.DEVNULL)
        else:
            write_generated(plain, name, args.lines)
        compressed = work / f"{name}.log.gz"
        with open(plain, "rb") as source, gzip.open(compressed, "wb", compresslevel=6) as target:
            shutil.copyfileobj(source, target, 16 << 20)
        size = plain.stat().st_size
        print(f"# {name}: {args.lines:,} lines, {size / 1e6:,.0f} MB ({size / args.lines:.0f} bytes a line), "
              f"gzip {compressed.stat().st_size / 1e6:,.0f} MB; written in {time.perf_counter() - start:.1f} s")
        for log in (plain, compressed):
            label = "gzip" if log.suffix == ".gz" else "plain"
            report = work / "goaccess.json"
            if label == "gzip":
                command = ["sh", "-c", f"zcat {log} | goaccess - --log-format=COMBINED -o {report} --no-progress"]
            else:
                command = ["goaccess", str(log), "--log-format=COMBINED", "-o", str(report), "--no-progress"]
            theirs = child_peak(command)
            for tool, (env, options) in tools.items():
                db = fresh(work / f"{name}-{label}-{tool.replace('/', '_').replace(' ', '_')}.duckdb")
                ours = child_peak([*WHEELSTATS, "ingest", *options, "--db", str(db), str(log)], env)
                size = store_size(db)
                print(f"{name:<10} {label:<6} {tool:<11} {ours.seconds:8.1f} {ours.cpu_seconds:6.1f} "
                      f"{args.lines / ours.seconds:10,.0f} "
                      f"{theirs.seconds / ours.seconds:9.2f}x {ours.peak_mib:6,.0f} MiB {size.hits:9,} "
                      f"{size.file_per_million / 1e6:8,.1f} MB {size.hits_per_million / 1e6:8,.1f} MB")
                fresh(db)
            print(f"{name:<10} {label:<6} {'goaccess':<11} {theirs.seconds:8.1f} {theirs.cpu_seconds:6.1f} "
                  f"{args.lines / theirs.seconds:10,.0f} "
                  f"{1:9.2f}x {theirs.peak_mib:6,.0f} MiB")
        if not args.keep:
            plain.unlink()
            compressed.unlink()
    if not args.keep:
        shutil.rmtree(work)


if __name__ == "__main__":
    main()
