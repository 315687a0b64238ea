"""Working days that know China's public holidays and their make-up working days (调休).

The published years come from the `chinese-calendar` package; the policy file may add or override
days of any year, and a year it gives in full counts as covered. A date in a year no source covers
is counted by weekends only and flagged (`Due.estimated`), never guessed silently. Pure: no database.
"""

from __future__ import annotations

import datetime as dt
import functools
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import NamedTuple

import chinese_calendar

# The years probed for package coverage: far wider than any release publishes.
_PROBE = range(1990, 2101)
# A bound on n: no deadline is years of working days away, and the loop must end on hostile input.
MAX_WORKING_DAYS = 3660


@dataclass(frozen=True)
class YearOverride:
    """The policy file's days for one year: they win over the package; `complete` means the file
    gives the whole year (every holiday and make-up day), so the year counts as covered."""

    holidays: frozenset[dt.date] = frozenset()
    workdays: frozenset[dt.date] = frozenset()
    complete: bool = False


class Due(NamedTuple):
    day: dt.date
    estimated: bool  # some day counted lies in a year no source covers: weekends only


@functools.cache
def _package_days() -> tuple[frozenset[dt.date], frozenset[dt.date], frozenset[int]]:
    holidays = frozenset(chinese_calendar.constants.holidays)
    workdays = frozenset(chinese_calendar.constants.workdays)
    covered = set()
    for year in _PROBE:
        try:
            chinese_calendar.is_workday(dt.date(year, 6, 1))
        except NotImplementedError:  # the package's word for a year it has no data for
            continue
        covered.add(year)
    return holidays, workdays, frozenset(covered)


@dataclass(frozen=True)
class WorkCalendar:
    holidays: frozenset[dt.date] = frozenset()  # the package's days off (weekday or not)
    workdays: frozenset[dt.date] = frozenset()  # the package's make-up working days
    source_years: frozenset[int] = frozenset()
    overrides: dict[int, YearOverride] = field(default_factory=dict)

    @classmethod
    def build(cls, overrides: dict[int, YearOverride] | None = None) -> WorkCalendar:
        """The package's published years plus the policy's overrides."""
        holidays, workdays, years = _package_days()
        return cls(holidays, workdays, years, dict(overrides or {}))

    @classmethod
    def weekends_only(cls, overrides: dict[int, YearOverride] | None = None) -> WorkCalendar:
        """No package data: what a deployment gets for years neither source covers (and tests)."""
        return cls(overrides=dict(overrides or {}))

    def covers(self, year: int) -> bool:
        given = self.overrides.get(year)
        return year in self.source_years or (given is not None and given.complete)

    def is_working_day(self, day: dt.date) -> bool:
        given = self.overrides.get(day.year)
        if given is not None:
            if day in given.workdays:
                return True
            if day in given.holidays:
                return False
        if day.year in self.source_years:
            return day in self.workdays or (day.weekday() < 5 and day not in self.holidays)
        return day.weekday() < 5

    def due(self, start: dt.date, days: int) -> Due:
        """The date `days` working days after `start`, and whether a year crossed is uncovered."""
        if not 0 <= days <= MAX_WORKING_DAYS:
            raise ValueError(f"working days out of range: {days}")
        day, left = start, days
        while left > 0:
            day += dt.timedelta(days=1)
            if self.is_working_day(day):
                left -= 1
        return Due(day, self.estimated(start, day))

    def add_working_days(self, start: dt.date, days: int) -> dt.date:
        return self.due(start, days).day

    def estimated(self, start: dt.date, end: dt.date) -> bool:
        """Whether counting from `start` to `end` crossed a year no source covers."""
        return not all(self.covers(y) for y in range(start.year, end.year + 1))

    def uncovered(self, years: Iterable[int]) -> list[int]:
        return sorted(y for y in set(years) if not self.covers(y))
