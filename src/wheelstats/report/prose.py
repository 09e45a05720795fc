"""The report's text, written from its figures (the report.json dict)."""

from __future__ import annotations

from datetime import date

from wheelstats.charts import has_countries
from wheelstats.period import MONTH_NAMES, format_day
from wheelstats.report.document import Block, Figure, Heading, NumberedList, Paragraph
from wheelstats.report.figures import DEFAULT_SITE
from wheelstats.stats.shares import LOCAL_COUNTRY, UNPLACED_COUNTRY
from wheelstats.report.spikes import after_sentence, cause_sentences, dependents_note, python_sentences, spike_days
from wheelstats.report.wording import (
    approx_count, count, duration_parts, join_words, percent, years,
)

PROJECT_URLS = {"piwheels": "https://www.piwheels.org/project/{name}"}
ARCH_NOTES = {"armv7l": "Pi 2/3/4", "armv6l": "Pi 1/Zero", "aarch64": "64-bit Pi OS"}
EVEN_MONTHS_TOLERANCE = 0.2  # months within 20% of their mean read as "around" it
SHIFT_WORTH_NOTING = 0.02  # a Python version's share moving 2 points or more is told


def month_name(month: str, *, with_year: bool = False) -> str:
    year, number = month.split("-")
    return f"{MONTH_NAMES[int(number)]} {year}" if with_year else MONTH_NAMES[int(number)]


def day_words(iso: str, *, with_year: bool = False) -> str:
    return format_day(date.fromisoformat(iso), with_year=with_year)


def _project_link(site: str, entry: dict) -> str:
    pattern = PROJECT_URLS.get(site)
    name = entry["name"]
    return f"**[{name}]({pattern.format(name=name)})**" if pattern else f"**{name}**"


def _bold_duration(seconds: float) -> str:
    qualifier, amount = duration_parts(seconds)
    return f"{qualifier} **{amount}**" if qualifier else f"**{amount}**"


def headline(report: dict) -> str:
    return (
        f"In the period of {report['period']['label']}, **{count(report['downloads'])}** packages "
        f"were downloaded from {report['site']}, bringing the total to "
        f"**{count(report['downloads_all_time'])}**. This has saved "
        f"{_bold_duration(report['time_saved_seconds'])} in the period, and "
        f"{_bold_duration(report['time_saved_all_time_seconds'])} in total!"
    )


def _months_paragraphs(report: dict) -> list[Block]:
    months = [m for m in report["by_month"] if m["in_period"]]
    blocks: list[Block] = []
    if len(months) > 1:
        mean = sum(m["downloads"] for m in months) / len(months)
        each = join_words([f"{month_name(m['month'])} **{count(m['downloads'])}**" for m in months])
        if all(abs(m["downloads"] - mean) <= EVEN_MONTHS_TOLERANCE * mean for m in months):
            text = f"Each month had around **{approx_count(mean)}** downloads ({each}):"
        else:
            text = f"Downloads by month: {each}."
        blocks.append(Paragraph(text))
    blocks.append(Figure("downloads-by-month", "Downloads by month; the period's months are highlighted"))
    saved = sorted(m["time_saved_seconds"] for m in months)
    if len(months) > 1 and years(saved[0]) >= 1:
        blocks.append(Paragraph(
            f"which saved between **{years(saved[0]):.0f}** and **{years(saved[-1]):.0f} years** "
            "of build time per month:"
        ))
    elif len(months) > 1:
        blocks.append(Paragraph(
            f"which saved {_bold_duration(saved[0])} to {_bold_duration(saved[-1])} "
            "of build time a month:"
        ))
    elif months:
        blocks.append(Paragraph(f"which saved {_bold_duration(months[0]['time_saved_seconds'])} of build time:"))
    blocks.append(Figure("time-saved-by-month", "Build time saved by month, in years"))
    return blocks


def _peaks_paragraph(report: dict) -> list[Block]:
    sentences = []
    peak_month, peak_day = report["peak_month"], report["peak_day"]
    if peak_month["in_period"]:
        sentences.append(
            f"**{month_name(peak_month['month'])}** had the highest number of downloads ever "
            f"with **{count(peak_month['downloads'])}**."
        )
    if peak_day["in_period"]:
        sentences.append(
            f"The highest day was **{day_words(peak_day['date'])}** with a whopping "
            f"**{count(peak_day['downloads'])}**."
        )
    elif report["by_day"]:
        busiest = max(report["by_day"], key=lambda d: d["downloads"])
        sentences.append(
            f"The busiest day of the period was **{day_words(busiest['date'])}** with "
            f"**{count(busiest['downloads'])}** downloads (the record is "
            f"{count(peak_day['downloads'])} on {day_words(peak_day['date'], with_year=True)})."
        )
    blocks: list[Block] = [Paragraph(" ".join(sentences))] if sentences else []
    blocks.append(Figure("downloads-by-day", "Downloads by day"))
    return blocks


def _top_blocks(report: dict) -> list[Block]:
    site = report["site"]
    spiked = {p["project"]: spike for spike in report["spikes"] for p in spike["projects"]}
    marked = [p for p in report["top"] if p["project"] in spiked]
    blocks: list[Block] = [
        Paragraph(f"The top {len(report['top'])} downloads were:"),
        NumberedList(tuple(
            f"{_project_link(site, p)} ({count(p['downloads'])}){' †' if p['project'] in spiked else ''}"
            for p in report["top"]
        )),
    ]
    if marked:
        names = join_words([p["name"] for p in marked])
        spans = sorted({spike_days(spiked[p["project"]]) for p in marked})
        blocks.append(Paragraph(dependents_note(report, marked) or (
            f"*† {names} {'is' if len(marked) == 1 else 'are'} among the packages behind the "
            f"spike of {join_words(spans)}.*"
        )))
    if len(report["top_by_month"]) > 1:
        for month, projects in report["top_by_month"].items():
            blocks.append(Paragraph(f"In {month_name(month)} the top {len(projects)} were:"))
            blocks.append(NumberedList(tuple(f"**{p['name']}** ({count(p['downloads'])})" for p in projects)))
    return blocks


def _spike_blocks(report: dict) -> list[Block]:
    blocks: list[Block] = []
    for spike in report["spikes"]:
        days = spike_days(spike)
        rising = [
            f"**{p['name']}** ({count(p['downloads'])} downloads, about {approx_count(p['baseline'])} expected)"
            for p in spike["projects"] if p["rise"] > 0
        ]
        text = (
            f"Downloads spiked on {days}: **{count(spike['peak_downloads'])}** on "
            f"{day_words(spike['peak_date'])}, {spike['ratio']:.1f} times the daily average of "
            f"the four weeks before ({approx_count(spike['baseline'])})."
        )
        if rising:
            text += f" The packages behind it: {join_words(rising)}."
        text += " " + cause_sentences(spike)
        if spike["after"] is not None:
            text += " " + after_sentence(spike)
        blocks.append(Paragraph(text))
    return blocks


def _arch_name(name: str) -> str:
    return f"{name} ({ARCH_NOTES[name]})" if name in ARCH_NOTES else name


def _shares_blocks(report: dict) -> list[Block]:
    shares = report["shares"]
    blocks: list[Block] = []
    distros = [d for d in shares["distro"] if d["share"] is not None]
    if distros:
        top = distros[0]
        blocks.append(Paragraph(f"{top['name']} leads the operating systems with {percent(top['share'])} of downloads:"))
    blocks.append(Figure("os-usage", "Share of downloads by operating system"))
    arch = [a for a in shares["arch"] if a["share"] is not None]
    if arch:
        parts = [f"{_arch_name(a['name'])} {percent(a['share'])}" for a in arch[:3]]
        arm = sum(a["share"] for a in arch if a["name"].startswith(("arm", "aarch")))
        blocks.append(Paragraph(
            f"By architecture: {join_words(parts)}. The Arm architectures together take {percent(arm)} of all downloads:"
        ))
    blocks.append(Figure("arch", "Share of downloads by CPU architecture"))
    python = [p for p in shares["python"] if p["share"] is not None]
    if python:
        parts = [f"Python {p['name']} ({percent(p['share'])})" for p in python[:3]]
        blocks.append(Paragraph(f"The most used Python versions were {join_words(parts)}:"))
    blocks.append(Figure("py-vers", "Share of downloads by Python version"))
    blocks.extend(Paragraph(text) for text in python_sentences(report))
    blocks.append(Paragraph(_python_shift(report)))
    blocks.append(Figure("py-vers-over-time", "Monthly share of downloads by Python version"))
    blocks.extend(_countries_blocks(report))
    return blocks


def _countries_blocks(report: dict) -> list[Block]:
    """Where the downloads came from: the top countries and their shares, and what has no country."""
    rows = report["shares"].get("country", [])
    if not has_countries(report):
        return []
    placed = [row for row in rows if row["share"] is not None and row["country"] not in (LOCAL_COUNTRY, UNPLACED_COUNTRY)]
    parts = [f"{row['name']} ({percent(row['share'])})" for row in placed[:3]]
    text = f"Downloads came from {len(placed):,} {'country' if len(placed) == 1 else 'countries'}"
    text += f", most from {join_words(parts)}" if parts else ""
    local = sum(row["downloads"] for row in rows if row["country"] == LOCAL_COUNTRY)
    if local:
        text += f"; {count(local)} came from local addresses"
    missing = sum(row["downloads"] for row in rows if row["country"] is None)
    if missing:
        text += (f". {count(missing)} downloads have no country: they were stored before countries were "
                 "looked up (or with --country off)")
    blocks: list[Block] = [Paragraph(text + ":"), Figure("countries", "Share of downloads by country")]
    return blocks


def _python_shift(report: dict) -> str:
    """The Python version whose share moved most from the period's first month to its last."""
    months = report["period"]["months"]
    first = {r["python"]: r["share"] for r in report["python_by_month"]
             if r["month"] == months[0] and r["share"] is not None}
    last = {r["python"]: r["share"] for r in report["python_by_month"]
            if r["month"] == months[-1] and r["share"] is not None}
    changes = {v: last.get(v, 0.0) - first.get(v, 0.0) for v in set(first) | set(last)}
    if len(months) < 2 or not changes:
        return "Python version usage over time:"
    version = max(sorted(changes), key=lambda v: abs(changes[v]))
    if abs(changes[version]) < SHIFT_WORTH_NOTING:
        return "Python version usage over time:"
    verb = "rose" if changes[version] > 0 else "fell"
    return (
        f"Python version usage changes over time: Python {version}'s share {verb} from "
        f"{percent(first.get(version, 0.0))} in {month_name(months[0])} to "
        f"{percent(last.get(version, 0.0))} in {month_name(months[-1])}:"
    )


def _closing(report: dict) -> Paragraph:
    installers = [i for i in report["shares"]["installer"] if i["share"] is not None][:3]
    text = f"**{count(report['unique_clients'])}** distinct clients downloaded in the period"
    if installers:
        text += ", using " + join_words([f"{i['name']} ({percent(i['share'])})" for i in installers])
    energy = report["energy"]
    text += (
        f". The build time saved also saved about **{energy['period_kwh']:,.0f} kWh** of energy in the "
        f"period ({energy['all_time_kwh']:,.0f} kWh in total), at {energy['volts']:g} V and "
        + join_words([f"{amps:g} A on {platform.removeprefix('linux_')}"
                      for platform, amps in energy["amps_by_platform"].items()])
        + f". Time saved uses the *{report['time_saved_method']['name']}* method: "
        f"{report['time_saved_method']['description']}"
    )
    return Paragraph(text)


def report_title(report: dict) -> str:
    """"piwheels statistics: January — March 2020"; "Statistics of this index: ..." for a site with no name."""
    site, label = report["site"], report["period"]["label"]
    return f"Statistics of {site}: {label}" if site == DEFAULT_SITE else f"{site} statistics: {label}"


def _method_paragraph(report: dict) -> Paragraph:
    """Which time-saved method priced the builds, its multipliers, and why it was chosen."""
    method = report["time_saved_method"]
    text = (f"The *{method['name']}* method (version {method['version']}) multiplies each build's duration, less "
            f"{method['factors']['overhead_s']:g} s, by: {method['multipliers']}.")
    if method["chosen"] != "asked" and method["builder_platforms"]:
        text += f" It was chosen because the store's builds were made on {join_words(method['builder_platforms'])}."
    elif method["chosen"] != "asked":
        text += " It is the default for builds not made by wheelstats' own builder."
    return Paragraph(text)


def report_blocks(report: dict) -> list[Block]:
    return [
        Heading(report_title(report), 1),
        Paragraph(headline(report)),
        *_spike_blocks(report),
        *_months_paragraphs(report),
        *_peaks_paragraph(report),
        *_top_blocks(report),
        *_shares_blocks(report),
        _closing(report),
        _method_paragraph(report),
    ]
