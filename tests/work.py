"""The unit of work tests run in: the fixture policy and a day the test names. No test computes
"today" from the wall clock; a web test pins the application's clock the same way
(`init_app(clock=clock_on(DAY))`)."""

from __future__ import annotations

import datetime as dt
import itertools

from resettle.actor import Actor
from resettle.policy import load_policy
from resettle.rules.dates import SHANGHAI
from services.work import Work

DAY = dt.date(2026, 6, 17)  # a Wednesday of an ordinary working week


def clock_on(day: dt.date, hour: int = 10):
    """A clock starting at `hour` o'clock (Shanghai time, the product's) of `day`, a millisecond
    later at each reading, so timestamps keep their order."""
    start = dt.datetime.combine(day, dt.time(hour), SHANGHAI).astimezone(dt.UTC)
    ticks = itertools.count()
    return lambda: start + dt.timedelta(milliseconds=next(ticks))


def work(actor: Actor, on: dt.date = DAY) -> Work:
    return Work(actor, load_policy(), on, clock_on(on))
