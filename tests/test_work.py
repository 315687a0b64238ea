"""No use case reads the wall clock or loads the policy itself: they come in the unit of work
(`services.work`), made once per request or command. The scan fails the moment one comes back."""

from __future__ import annotations

import datetime as dt
import re
from pathlib import Path

import pytest

from resettle.actor import Actor
from resettle.rules.dates import SHANGHAI
from services.work import begin
from tests.work import DAY, clock_on, work

ROOT = Path(__file__).resolve().parent.parent
CLOCK = re.compile(r"\b(date\.today|datetime\.now|datetime\.utcnow|datetime\.today|time\.time|time\.time_ns)\(")
POLICY = re.compile(r"\bload_policy\(")
# Where a unit of work is made: the clock it reads and the policy file it loads, once.
MAKERS = {"services/work.py", "web/app.py", "cli/common.py"}


def _sources(*folders: str):
    for folder in folders:
        for path in sorted((ROOT / folder).rglob("*.py")):
            yield path.relative_to(ROOT).as_posix(), path.read_text(encoding="utf-8")


def _offences(pattern: re.Pattern, folders: tuple[str, ...]) -> list[str]:
    return [f"{name}:{text.count(chr(10), 0, m.start()) + 1}: {m.group(0)}"
            for name, text in _sources(*folders) if name not in MAKERS
            for m in pattern.finditer(text)]


def test_no_service_reads_the_clock():
    assert _offences(CLOCK, ("services",)) == []


def test_no_service_page_or_command_loads_the_policy():
    assert _offences(POLICY, ("services", "web", "cli")) == []


def test_no_page_or_command_asks_the_date():
    """Pages and commands take today from their unit of work too (`time.time` stays for the
    session and upload clocks of the web layer, which are not the working day)."""
    assert _offences(re.compile(r"\b(date\.today|datetime\.now|datetime\.today)\("), ("web", "cli")) == []


def test_the_scan_finds_what_it_looks_for():
    assert CLOCK.search("x = dt.date.today()") and CLOCK.search("time.time()")
    assert POLICY.search("policy or load_policy()") and not POLICY.search("def load_policy_path(")


def test_work_begins_on_the_shanghai_date_of_its_clock():
    clock = clock_on(DAY, hour=23)
    started = begin(Actor("t"), work(Actor("t")).policy, clock)
    assert started.today == DAY
    assert started.now() < started.now()  # the test clock moves on
    assert started.on(DAY + dt.timedelta(days=1)).today == DAY + dt.timedelta(days=1)
    assert started.by(Actor("u")).actor.login == "u"


@pytest.mark.parametrize("hour", [0, 12, 23])
def test_a_pinned_clock_stays_on_its_day(hour):
    assert clock_on(DAY, hour)().astimezone(SHANGHAI).date() == DAY
    # and the working day is Shanghai's whatever the host's zone: 23:30 in Shanghai is 15:30 UTC
    late = dt.datetime.combine(DAY, dt.time(hour, 30), SHANGHAI)
    assert begin(Actor("t"), work(Actor("t")).policy, lambda: late.astimezone(dt.UTC)).today == DAY


def test_no_test_computes_today():
    """A test names its day (`tests.work.DAY`, or a date of its own) instead of computing one."""
    offences = [f"{name}:{text.count(chr(10), 0, m.start()) + 1}" for name, text in _sources("tests")
                if name != "tests/test_work.py" for m in CLOCK.finditer(text) if "today" in m.group(0)]
    assert offences == []
