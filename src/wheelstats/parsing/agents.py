"""User agents: installers' structured agents via linehaul, everything else by product token.

A log has few distinct agents and many lines, so callers parse each distinct
agent string once (see `AgentCache`).
"""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass, fields

from linehaul.ua import parser as linehaul

# linehaul logs a traceback for every agent it cannot parse; we record the
# outcome on the agent row instead.
logging.getLogger("linehaul").setLevel(logging.CRITICAL)

# Crawlers and monitors: linehaul calls all of them "Browser"; telling a robot
# from a person is ours to do. Searched in the agent lowercased: an IGNORECASE
# alternation costs Python's engine 15 times as much (75 us for a pip agent's JSON).
BOT = re.compile(
    r"bot\b|bot/|crawl|spider|slurp|archiver|facebookexternalhit|feedfetcher|"
    r"monitor|uptime|pingdom|statuscake|nagios|check_http|zabbix|prometheus|"
    r"headlesschrome|scanner|semrush|ahrefs|yandex|baiduspider|bytespider|petalbot"
)
PRODUCT = re.compile(r"\s*([^/\s;()]+)")
MAJOR_MINOR = re.compile(r"^(\d+)\.(\d+)")
CPU_NAMES = {
    "amd64": "x86_64", "x64": "x86_64", "x86_64": "x86_64", "em64t": "x86_64",
    "arm64": "aarch64", "aarch64": "aarch64", "armv8l": "aarch64", "armv8": "aarch64",
    "i386": "i686", "i486": "i686", "i586": "i686", "i686": "i686", "x86": "i686",
}
NOT_INSTALLERS = {"Browser"}
# What a malformed agent can make linehaul raise: its own UnknownUserAgentError
# (a ValueError), TypeError for JSON of the wrong shape, RecursionError for
# deeply nested JSON, and cattrs' structuring errors for wrong field types.
AGENT_ERRORS = (ValueError, TypeError, KeyError, AttributeError, RecursionError)
try:  # cattrs' ClassValidationError is an ExceptionGroup, not a ValueError
    from cattrs.errors import BaseValidationError

    AGENT_ERRORS += (BaseValidationError,)
except ImportError:  # pragma: no cover - cattrs always comes with linehaul
    pass


@dataclass(frozen=True, slots=True)
class Agent:
    """The parsed fields of one user agent string (the store's `agents` row)."""

    agent: str
    product: str | None
    is_installer: bool
    is_bot: bool
    parse_error: str | None = None
    installer_name: str | None = None
    installer_version: str | None = None
    installer_subcommand: str | None = None
    python_version: str | None = None
    python_full: str | None = None
    implementation_name: str | None = None
    implementation_version: str | None = None
    distro_name: str | None = None
    distro_version: str | None = None
    distro_id: str | None = None
    libc_lib: str | None = None
    libc_version: str | None = None
    os_name: str | None = None
    os_release: str | None = None
    cpu: str | None = None
    cpu_raw: str | None = None
    openssl_version: str | None = None
    setuptools_version: str | None = None
    rustc_version: str | None = None
    ci: bool | None = None


AGENT_COLUMNS = tuple(f.name for f in fields(Agent))


def python_major_minor(version: str | None) -> str | None:
    """'3.10.4' -> '3.10' (never the first three characters)."""
    match = MAJOR_MINOR.match(version or "")
    return f"{int(match[1])}.{int(match[2])}" if match else None


def normalise_cpu(cpu: str | None) -> str | None:
    if not cpu:
        return None
    return CPU_NAMES.get(cpu.strip().lower(), cpu.strip().lower())


def _text(value) -> str | None:
    return None if value is None else str(value)


@dataclass(frozen=True, slots=True)
class AgentMatch:
    """How a block's newly seen logged agents map onto the store's agents rows."""

    new: dict[str, str]      # agent -> the logged form its new row is found by (the first seen)
    named: dict[str, str]    # agent stored without a logged form (by an import) -> the form to give it
    aliases: dict[str, str]  # logged form -> the logged form of its agent's row, where they differ


def match_logged_agents(texts: dict[str, str], stored: dict[str, str | None]) -> AgentMatch:
    """One agent logged in two ways (Apache's and nginx's escapes, or by an import) is one agents row.

    `texts` maps each newly seen logged form to its agent (unescaped); `stored`
    maps those agents already in the store to the form their row is found by.
    """
    found_by = dict(stored)
    new, named = {}, {}
    for logged, text in texts.items():
        if text not in found_by:
            new[text] = found_by[text] = logged
        elif found_by[text] is None:
            named[text] = found_by[text] = logged
    aliases = {logged: found_by[text] for logged, text in texts.items() if found_by[text] != logged}
    return AgentMatch(new, named, aliases)


def agent_from_details(text: str, details: dict | None) -> Agent:
    """An agent as PyPI's download records give it: linehaul's fields parsed already (`details`, the nested
    record of `file_downloads`), with no user agent string; `text` (the details as JSON) names it."""
    details = details or {}
    installer, impl = details.get("installer") or {}, details.get("implementation") or {}
    distro, system = details.get("distro") or {}, details.get("system") or {}
    libc = distro.get("libc") or {}
    name = _text(installer.get("name"))
    python_full = _text(details.get("python")) or _text(impl.get("version"))
    return Agent(
        agent=text,
        product=name,
        is_installer=name is not None and name not in NOT_INSTALLERS,
        is_bot=False,
        installer_name=name,
        installer_version=_text(installer.get("version")),
        installer_subcommand=_text(installer.get("subcommand")),
        python_version=python_major_minor(python_full),
        python_full=python_full,
        implementation_name=_text(impl.get("name")),
        implementation_version=_text(impl.get("version")),
        distro_name=_text(distro.get("name")),
        distro_version=_text(distro.get("version")),
        distro_id=_text(distro.get("id")),
        libc_lib=_text(libc.get("lib")),
        libc_version=_text(libc.get("version")),
        os_name=_text(system.get("name")),
        os_release=_text(system.get("release")),
        cpu=normalise_cpu(_text(details.get("cpu"))),
        cpu_raw=_text(details.get("cpu")),
        openssl_version=_text(details.get("openssl_version")),
        setuptools_version=_text(details.get("setuptools_version")),
        rustc_version=_text(details.get("rustc_version")),
        ci=details.get("ci") if isinstance(details.get("ci"), bool) else None,
    )


def _is_bot(agent: str) -> bool:
    """A crawler or a monitor (an installer never is)."""
    return BOT.search(agent.lower()) is not None


def parse_agent(agent: str) -> Agent:
    """Parse one user agent string; never raises for any input."""
    product_match = PRODUCT.match(agent)
    product = product_match[1][:100] if product_match else None
    try:
        ua = linehaul.parse(agent)
    except AGENT_ERRORS as error:
        return Agent(agent, product, False, _is_bot(agent), parse_error=type(error).__name__)
    if ua is None or ua.installer is None or ua.installer.name in NOT_INSTALLERS:
        return Agent(agent, product, False, _is_bot(agent), parse_error=None if ua else "ignored")
    subcommand = ua.installer.subcommand
    if isinstance(subcommand, (list, tuple)):
        subcommand = " ".join(map(str, subcommand))
    impl, distro, system = ua.implementation, ua.distro, ua.system
    libc = distro.libc if distro else None
    python_full = _text(ua.python) or (_text(impl.version) if impl else None)
    return Agent(
        agent=agent,
        product=product,
        is_installer=True,
        is_bot=False,
        installer_name=_text(ua.installer.name),
        installer_version=_text(ua.installer.version),
        installer_subcommand=_text(subcommand),
        python_version=python_major_minor(python_full),
        python_full=python_full,
        implementation_name=_text(impl.name) if impl else None,
        implementation_version=_text(impl.version) if impl else None,
        distro_name=_text(distro.name) if distro else None,
        distro_version=_text(distro.version) if distro else None,
        distro_id=_text(distro.id) if distro else None,
        libc_lib=_text(libc.lib) if libc else None,
        libc_version=_text(libc.version) if libc else None,
        os_name=_text(system.name) if system else None,
        os_release=_text(system.release) if system else None,
        cpu=normalise_cpu(_text(ua.cpu)),
        cpu_raw=_text(ua.cpu),
        openssl_version=_text(ua.openssl_version),
        setuptools_version=_text(ua.setuptools_version),
        rustc_version=_text(ua.rustc_version),
        ci=ua.ci if isinstance(ua.ci, bool) else None,
    )
