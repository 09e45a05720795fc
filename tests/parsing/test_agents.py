"""User agents: parsed once each, never raising, whatever the input."""

from __future__ import annotations

import json

import pytest
from hypothesis import given
from hypothesis import strategies as st

from wheelstats.parsing.agents import AgentMatch, match_logged_agents, normalise_cpu, parse_agent, python_major_minor


@pytest.mark.parametrize("version, expected", [("3.10.4", "3.10"), ("2.7.18", "2.7"), ("3.9", "3.9"), ("x", None), (None, None)])
def test_python_major_minor(version, expected):
    assert python_major_minor(version) == expected


@pytest.mark.parametrize("raw, expected", [("AMD64", "x86_64"), ("amd64", "x86_64"), ("arm64", "aarch64"), ("armv7l", "armv7l"), (None, None)])
def test_cpu_names_are_normalised(raw, expected):
    assert normalise_cpu(raw) == expected


@pytest.mark.parametrize(
    "agent, error",
    [
        ("pip/9.0.1 {invalid", "UnknownUserAgentError"),
        ("pip/20.0 null", "TypeError"),
        ("pip/20.0 " + "[" * 100_000 + "]" * 100_000, "UnknownUserAgentError"),
        ('pip/20.0 {"installer": {"name": 5}}', None),
    ],
)
def test_broken_installer_agents_are_recorded_not_raised(agent, error):
    parsed = parse_agent(agent)
    assert parsed.product == "pip"
    if error:
        assert parsed.parse_error == error and not parsed.is_installer


def test_crawlers_are_bots_and_browsers_are_not():
    assert parse_agent("Mozilla/5.0 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)").is_bot
    assert not parse_agent("Mozilla/5.0 (X11; Linux x86_64; rv:120.0) Gecko/20100101 Firefox/120.0").is_bot


@pytest.mark.parametrize("agent", ["Mozilla/5.0 (compatible; SemrushBot/7~bl)", "MJ12BOT/v1.4.8", "Pingdom.com_bot",
                                   "Mozilla/5.0 (compatible; YandexBot/3.0)", "UptimeRobot/2.0", "HeadlessChrome/120"])
def test_a_crawler_is_a_bot_whatever_the_case_of_its_name(agent):
    assert parse_agent(agent).is_bot


def test_an_installer_is_never_a_bot_even_when_its_agent_names_one():
    agent = 'pip/23.1 {"installer":{"name":"pip","version":"23.1"},"python":"3.11.2","system":{"release":"6.1-bot/1"}}'
    parsed = parse_agent(agent)
    assert parsed.is_installer and not parsed.is_bot


json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.text(max_size=10),
    lambda children: st.lists(children, max_size=3) | st.dictionaries(st.text(max_size=8), children, max_size=3),
    max_leaves=10,
)


@given(st.text(max_size=300))
def test_any_text_parses_without_raising(agent):
    assert parse_agent(agent).agent == agent


@given(json_values)
def test_any_json_body_after_pip_parses_without_raising(body):
    parse_agent("pip/20.0.2 " + json.dumps(body))


APACHE_PIP = r'pip/25.0 {\"ci\":null}'
NGINX_PIP = r"pip/25.0 {\x22ci\x22:null}"
JSON_PIP = r'pip/25.0 {\"ci\":null}'  # the same as Apache's, for this agent
PIP = 'pip/25.0 {"ci":null}'


def test_an_agent_seen_first_gets_a_row_found_by_its_first_logged_form():
    match = match_logged_agents({NGINX_PIP: PIP, APACHE_PIP: PIP, "curl/8.0": "curl/8.0"}, stored={})
    assert match == AgentMatch(new={PIP: NGINX_PIP, "curl/8.0": "curl/8.0"}, named={}, aliases={APACHE_PIP: NGINX_PIP})


def test_an_agent_stored_from_another_log_is_found_by_the_way_it_was_stored():
    match = match_logged_agents({NGINX_PIP: PIP}, stored={PIP: APACHE_PIP})
    assert match == AgentMatch(new={}, named={}, aliases={NGINX_PIP: APACHE_PIP})


def test_an_agent_an_import_stored_without_a_logged_form_gets_this_one():
    match = match_logged_agents({NGINX_PIP: PIP, APACHE_PIP: PIP}, stored={PIP: None})
    assert match == AgentMatch(new={}, named={PIP: NGINX_PIP}, aliases={APACHE_PIP: NGINX_PIP})
