"""The spikes' text: what made each spike, what it left behind, and what it did to the Pythons' shares.

Written from a report.json spike (report.figures.spike_entry), in the seed's words:
"This was an upgrade of OctoPrint: 94% of the 3,900 clients behind it looked up
octoprint first, and Flask-Login, Markdown, sentry-sdk and semantic-version are
all its dependencies."
"""

from __future__ import annotations

from datetime import date

from wheelstats.period import format_day
from wheelstats.report.wording import approx_count, count, join_words, percent

SAME_LEVEL = 0.05  # the weeks after within 5% of the weeks before: back to usual
DEPENDENCIES_FROM = {
    "Requires-Dist": "as its wheel's Requires-Dist records them",
    "piwheels": "as piwheels' dependencies table records them",
}


def whole_percent(share: float) -> str:
    """A share as a whole percentage: 94%."""
    return f"{share * 100:.0f}%"


def _names(spike: dict, projects: list[str]) -> list[str]:
    display = {p["project"]: p["name"] for p in spike["projects"]}
    return [display.get(project, project) for project in projects]


def _behind(cause: dict) -> str:
    """"the 3,900 clients behind it", saying what a client is when the store keeps no IPs."""
    text = f"the {count(cause['clients'])} client{'s' if cause['clients'] != 1 else ''} behind it"
    if cause["clients_are"] == "agent":
        text += " (told apart by their agents: the store keeps no IPs)"
    return text


def _dependencies_clause(spike: dict, cause: dict) -> str:
    required = _names(spike, cause["dependencies_in_spike"])
    if not required:
        return ""
    behind = [p for p in spike["projects"] if p["rise"] > 0 and p["project"] != cause["project"]]
    if len(required) == 1:
        clause = f"{required[0]} is {'its dependency' if len(behind) == 1 else 'one of its dependencies'}"
    elif len(required) == len(behind):
        clause = f"{join_words(required)} are all its dependencies"
    else:
        clause = f"{join_words(required)} are among its dependencies"
    return clause


def cause_sentences(spike: dict) -> str:
    """What made the spike, in one or two sentences."""
    cause = spike["cause"]
    if cause["kind"] == "ci":
        return (f"A CI system made it: agents that say they run in CI made {whole_percent(cause['share_of_excess'])} "
                f"of its downloads above normal ({whole_percent(cause['share_of_downloads'])} of those days' downloads).")
    if cause["kind"] == "one client":
        who = "one agent" if cause["clients_are"] == "agent" else "one client"
        return f"No single project caused it: {whole_percent(cause['share_of_downloads'])} of its downloads came from {who}."
    if cause["kind"] == "none":
        openers = cause["openers"]
        if not openers:
            return "No single cause stands out."
        top = openers[0]
        return (f"No single cause stands out: the most common first lookup, {top['project']}, opened the sessions "
                f"of only {whole_percent(top['share'])} of {_behind(cause)}.")
    name, project = cause["name"], cause["project"]
    dependencies = _dependencies_clause(spike, cause)
    rising = {p["project"] for p in spike["projects"] if p["rise"] > 0}
    itself = rising == {project}  # the only package behind it: people wanted it, nothing pulled it in
    if cause["evidence"] == "dependencies":
        text = (f"This was likely an upgrade of {name}: {dependencies}, though only "
                f"{whole_percent(cause['share_of_clients'])} of {_behind(cause)} looked up {project} first.")
    elif itself:
        text = (f"This was demand for {name} itself: {whole_percent(cause['share_of_clients'])} of {_behind(cause)} "
                f"looked up {project} first" + (f", and {dependencies}." if dependencies else "."))
    else:
        text = (f"This was an upgrade of {name}: {whole_percent(cause['share_of_clients'])} of {_behind(cause)} "
                f"looked up {project} first" + (f", and {dependencies}." if dependencies else "."))
    source = cause["dependencies_from"]
    if dependencies and source:
        text += f" Its dependencies are {DEPENDENCIES_FROM.get(source, 'as ' + source + ' records them')}."
    if cause["downloads_here"] == 0:
        text += f" {name} itself was installed from elsewhere: none of its files was downloaded here."
    return text


def after_sentence(spike: dict) -> str:
    """What the spike left behind: the weeks after it against the weeks before."""
    after = spike["after"]
    if after is None:
        return ""
    weeks = "the two weeks after it" if after["days"] == 14 else f"the {after['days']} days after it"
    before, level, difference = after["before_daily"], after["after_daily"], after["difference"]
    if abs(difference) <= SAME_LEVEL * before:
        return (f"Daily downloads then went back to about their usual level: around {approx_count(level)} a day "
                f"in {weeks}, against {approx_count(before)} in the four weeks before.")
    settled = after["settled_after"]
    dropped = (f"The next {settled} days dropped steadily" if settled and settled > 1
               else "The days after the peak dropped back")
    more_or_less = "greater" if difference > 0 else "fewer"
    return (f"{dropped}, but left regular daily downloads around {approx_count(level)} in {weeks}, which is "
            f"{approx_count(abs(difference))} {more_or_less} than usual ({approx_count(before)} a day in the four "
            "weeks before).")


def python_sentences(report: dict) -> list[str]:
    """For each spike whose universal wheels moved a Python version's share, what happened and why."""
    sentences = []
    for spike in report["spikes"]:
        effect = spike["python_effect"]
        if effect is None:
            continue
        cause = spike["cause"]
        upgrade = f"the {cause['name']} upgrade" if cause["kind"] == "project" else "the spike"
        version = effect["python"]
        sentences.append(
            f"Python {version}'s share of downloads rose from {percent(effect['share_before'])} in the four weeks "
            f"before the spike of {spike_days(spike)} to {percent(effect['share_during'])} in its days. This is down "
            f"to {upgrade}: its packages are universal wheels (py2.py3, ABI none), so they work with Python 2 and 3, "
            f"and {percent(effect['share_in_spike'])} of their downloads came from Python {version}."
        )
    return sentences


def dependents_note(report: dict, marked: list[dict]) -> str | None:
    """The top list's note when its marked projects are the dependencies of a spike's cause (else None)."""
    spikes = {p["project"]: spike for spike in report["spikes"] for p in spike["projects"]}
    causes = {(s["cause"]["name"], spike_days(s)) for s in (spikes[p["project"]] for p in marked)
              if s["cause"]["kind"] == "project" and s["cause"]["dependencies_in_spike"]}
    if len(causes) != 1:
        return None
    (name, days), = causes
    required = {p for s in report["spikes"] for p in s["cause"]["dependencies_in_spike"]}
    if not all(p["project"] in required for p in marked):
        return None
    names = join_words([p["name"] for p in marked])
    return (f"*† {names} {'is a dependency' if len(marked) == 1 else 'are all dependencies'} of the {name} upgrade "
            f"which caused the spike of {days}.*")


def spike_days(spike: dict) -> str:
    """"5 March", or "4 — 8 March"."""
    first, last = (format_day(date.fromisoformat(spike[key])) for key in ("start", "end"))
    return first if spike["start"] == spike["end"] else f"{first} — {last}"
