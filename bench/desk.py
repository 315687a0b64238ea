"""Benchmark: the 三合署 desk's reads over a year of history in 200 communities.

    python bench/desk.py [--communities 200] [--demands 500000] [--db postgres://postgres@127.0.0.1:5432/postgres]

1. builds, in a fresh database, 52 weeks of desk history: --communities communities with their
   residents, about --demands demands (three in four linked to a problem, the rest answered or
   declined on the spot), a problem per three demands, one to three actions each (a few stalled,
   so overdue), residents' feedback (most problems happy, a few reopened and reworked) and the
   weekly records. It is written with `services.bulk.insert` (COPY on PostgreSQL): the point is
   the reads. The busiest community gets about 1,000 problems made happy in the year measured;
2. times, median of 7 runs after a warm-up, for that community: the intake form's similar-problem
   lookup (`desk.similar_problems`), the week's board (`desk.board`), the year's four lists
   (`desk.lists`) and the year's 幸福清单 PDF (`desk_papers.write_lists(data, path, ["happy"])`),
   each against a bare indexed SELECT of the same rows in the same run (the baseline).
Prints the table with the ratios; goals: lookup and board < 50 ms, the PDF < 2 s. Not a test.
"""

from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import json
import random
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

import import_registry as base  # noqa: E402  (the same fresh databases)

DAYS = 52 * 7
HOUSEHOLDS = 150  # per community, three persons each
HAPPY_ROWS = 1_000  # problems the busiest community makes happy in the measured year
RUNS = 7
SURNAMES = "王李张刘陈杨黄赵周吴徐孙朱马胡郭林何高罗施沈顾陆倪黄龚"
GIVEN = ("建国", "丽华", "志明", "秀英", "海峰", "美玲", "国平", "晓东", "桂英", "红梅", "卫东", "佳")


def measured_year(today: dt.date) -> int:
    """The calendar year the history covers most: this one from July, else the last."""
    return today.year if today.month >= 7 else today.year - 1


class History:
    """Desk history as rows, a community at a time: first a plan in local indices, then the rows
    once `bulk.allocate_ids` has handed out ids for it. Days count from the first day (0) to
    today (DAYS - 1); `day` turns one into the value the engine takes."""

    def __init__(self, rng: random.Random, topics: tuple, replies: tuple, day):
        self.rng, self.topics, self.replies, self.day = rng, topics, replies, day

    def plan(self, problems: int, residents: list[tuple[int, str, str]]) -> dict[str, list[tuple]]:
        """Problems with their linked demands, actions, feedback and reopenings; then demands
        answered or declined on the spot, and a few recent ones still waiting."""
        rng, last = self.rng, DAYS - 1
        out: dict[str, list[tuple]] = {table: [] for table in PLAN_TABLES}
        for p in range(problems):
            topic = rng.choice(self.topics)
            opened = rng.randrange(DAYS)
            meeting = opened + rng.randint(1, 7)
            status, scheduled, done, happy, rnd, actions = "open", None, None, None, 1, []
            if meeting <= last:
                status, scheduled = "scheduled", meeting
                for k in range(rng.choices((1, 2, 3), (60, 30, 10))[0]):
                    owner, what, result = topic.plans[k % len(topic.plans)]
                    due = meeting + rng.choice((7, 10, 14, 21, 28))
                    # a few stall, some finish late; what finishes after today is still planned
                    finish = None if rng.random() < 0.04 else rng.randint(meeting + 2, due + 7)
                    finish = finish if finish is not None and finish <= last else None
                    actions.append((owner, what, meeting, due, finish, result))
            if actions and all(a[4] is not None for a in actions):
                status, done = "done", max(a[4] for a in actions)
            # residents raising it within two weeks: all before the work was done; those who
            # would come after today have not come yet
            days = [opened] + [opened + rng.randint(0, 14)
                               for _ in range(rng.choices((0, 1, 2, 3, 4, 5, 7), (45, 25, 13, 7, 5, 3, 2))[0])]
            days = [d for d in (d if done is None or d <= done else rng.randint(opened, done) for d in days)
                    if d <= last]
            linked = len(days)
            demands = list(range(len(out["demand"]), len(out["demand"]) + linked))
            out["demand"] += [self._demand(p, topic, day, residents, "linked") for day in days]
            if done is not None:
                asked = [done + rng.randint(1, 10) for _ in demands]
                given = [(d, day) for d, day in zip(demands, asked, strict=True) if day <= last]
                reopen = len(given) == linked and rng.random() < 0.04
                for n, (d, day) in enumerate(given):
                    rating = "unsatisfied" if reopen and n == 0 else rng.choice(("satisfied", "satisfied", "mostly"))
                    out["feedback"].append((d, p, 1, rating, topic.unhappy if rating == "unsatisfied" else "", day))
                if reopen:  # reworked, and asked again in round 2
                    out["reopening"].append((p, 1, max(asked), topic.unhappy))
                    rnd, done, status = 2, None, "scheduled"
                    decided = max(asked) + rng.randint(1, 7)
                    finish = decided + rng.randint(3, 20)
                    if decided <= last:
                        actions.append((topic.plans[0][0], f"按居民意见返工：{topic.unhappy}", decided, decided + 14,
                                        finish if finish <= last else None, "已返工，居民代表到场验收"))
                    if finish <= last:
                        status, done = "done", finish
                        asked = [finish + rng.randint(1, 10) for _ in demands]
                        given = [(d, day) for d, day in zip(demands, asked, strict=True) if day <= last]
                        out["feedback"] += [(d, p, 2, "satisfied", "", day) for d, day in given]
                if status == "done" and len(given) == linked:
                    status, happy = "happy", max(asked)
            out["problem"].append((topic, status, opened, scheduled, done, happy, rnd))
            out["desk_action"] += [(p, *a) for a in actions]
        for _ in range(round(len(out["demand"]) * 0.35)):
            day = rng.randrange(DAYS)
            if day > last - 5 and rng.random() < 0.4:
                out["demand"].append(self._demand(None, rng.choice(self.topics), day, residents, "received"))
            else:
                reply = rng.choice(self.replies)
                out["demand"].append(self._demand(None, reply, day, residents,
                                                  "declined" if reply.declined else "answered"))
        return out

    def _demand(self, problem: int | None, topic, day: int, residents: list, status: str) -> tuple:
        """Most from a registered resident, some from a caller with a phone number only."""
        rng = self.rng
        person, name, unit, contact = *rng.choice(residents), ""
        if rng.random() < 0.08:
            person, name, unit, contact = None, rng.choice(SURNAMES) + rng.choice(GIVEN), "", \
                f"13{rng.randrange(10**9):09d}"
        channel = rng.choice(("reception", "reception", "reception", "visit", "phone", "hotline", "online"))
        return problem, topic, day, person, name, unit, contact, status, channel

    def rows(self, cid: int, plan: dict[str, list[tuple]], ids: dict, stamp) -> dict[str, list[tuple]]:
        day, pick = self.day, self.rng.choice
        pid, did = ids["problem"], ids["demand"]
        return {
            "problem": [(pid[i], stamp, stamp, t.category, t.title, pick(t.texts), status, day(o), day(s), day(d),
                         day(h), rnd, 1, cid) for i, (t, status, o, s, d, h, rnd) in enumerate(plan["problem"])],
            "demand": [(did[i], stamp, stamp, day(d), channel, t.category, pick(t.texts), name, contact, unit, status,
                        None if status == "received" else day(d), t.reply, 1, cid, None, person,
                        None if p is None else pid[p])
                       for i, (p, t, d, person, name, unit, contact, status, channel) in enumerate(plan["demand"])],
            "desk_action": [(ids["desk_action"][i], stamp, stamp, owner, what, day(decided), day(due),
                             "planned" if finish is None else "completed", day(finish),
                             "" if finish is None else result, 1, cid, pid[p])
                            for i, (p, owner, what, decided, due, finish, result) in enumerate(plan["desk_action"])],
            "feedback": [(ids["feedback"][i], stamp, stamp, rnd, rating, remark, day(given), did[d], pid[p])
                         for i, (d, p, rnd, rating, remark, given) in enumerate(plan["feedback"])],
            "reopening": [(ids["reopening"][i], rnd, day(on), reason, pid[p])
                          for i, (p, rnd, on, reason) in enumerate(plan["reopening"])],
        }


PLAN_TABLES = ("problem", "demand", "desk_action", "feedback", "reopening")  # in the order they are written
COLUMNS = {
    "village": ("id", "created_at", "updated_at", "township_code", "name"),
    "community": ("id", "created_at", "updated_at", "township_code", "name"),
    "household": ("id", "created_at", "updated_at", "agreement_no", "origin_township", "group", "dest_township",
                  "unit", "status", "signed_on", "withdrawn_reason", "member_count", "separated_count", "version",
                  "community_id", "village_id"),
    "person": ("id", "created_at", "updated_at", "id_number", "name", "relation", "phone", "hukou_township", "tags",
               "version", "household_id"),
    "problem": ("id", "created_at", "updated_at", "category", "title", "description", "status", "opened_on",
                "scheduled_on", "done_on", "happy_on", "round", "version", "community_id"),
    "demand": ("id", "created_at", "updated_at", "received_on", "channel", "category", "text", "resident_name",
               "contact", "unit", "status", "closed_on", "answer", "version", "community_id", "entitlement_id",
               "person_id", "problem_id"),
    "desk_action": ("id", "created_at", "updated_at", "owner", "text", "decided_on", "due", "status", "completed_on",
                    "result", "version", "community_id", "problem_id"),
    "feedback": ("id", "created_at", "updated_at", "round", "rating", "remark", "given_on", "demand_id",
                 "problem_id"),
    "reopening": ("id", "round", "on", "reason", "problem_id"),
    "desk_week": ("id", "created_at", "updated_at", "week", "reception_attendance", "meeting_on",
                  "meeting_attendance", "decisions", "version", "community_id"),
}


async def build(communities: int, demands: int, seed: int = 7) -> dict:
    """The history, written with bulk.insert in one transaction. Returns the row counts and the
    busiest community."""
    from tortoise.transactions import in_transaction

    from resettle.db import connection, is_postgres
    from resettle.policy import load_policy
    from resettle.rules.desk import iso_week, week_start
    from services import bulk
    from services.demo import ANSWERED_TOPICS, DECLINED_TOPICS, PROBLEM_TOPICS

    rng, today = random.Random(seed), dt.date.today()
    towns = [t for t in load_policy().townships if "in" in t.roles]
    first = today - dt.timedelta(days=DAYS - 1)
    year = measured_year(today)
    covered = (min(today, dt.date(year, 12, 31)) - max(first, dt.date(year, 1, 1))).days + 1
    # 2.21 linked demands per problem and 35% more answered or declined: a problem per ~2.98
    # demands; ~88% of the problems opened in the covered part of the year are happy within it
    busiest = round(HAPPY_ROWS / 0.88 * DAYS / covered)
    average = max(2, round((demands / 2.98 - busiest) / max(1, communities - 1)))
    counts = dict.fromkeys(PLAN_TABLES, 0)
    start = time.perf_counter()
    async with in_transaction() as tx:
        stamp = bulk.db_stamp(tx, dt.datetime.now(dt.UTC))
        values = [bulk.db_date(tx, first + dt.timedelta(days=n)) for n in range(DAYS + 28)]  # dues run past today
        history = History(rng, PROBLEM_TOPICS, ANSWERED_TOPICS + DECLINED_TOPICS,
                          lambda n: None if n is None else values[n])

        async def write(table: str, rows: list[tuple]) -> None:
            await bulk.insert(tx, table, COLUMNS[table], rows)

        def town(n: int):
            return towns[n % len(towns)]

        await write("village", [(1, stamp, stamp, towns[0].code, "基准村")])
        cids = list(await bulk.allocate_ids(tx, "community", communities))
        await write("community", [(cid, stamp, stamp, town(n).code, f"{town(n).name}第{n + 1}安置社区")
                                  for n, cid in enumerate(cids)])
        hids = list(await bulk.allocate_ids(tx, "household", communities * HOUSEHOLDS))
        # one unit per household of a community: a unit holds one household once moved in
        units = [f"{i // 24 + 1}号{i // 4 % 6 + 1}0{i % 4 + 1}室" for i in (n % HOUSEHOLDS for n in range(len(hids)))]
        signed = bulk.db_date(tx, first - dt.timedelta(days=400))
        await write("household", [(hid, stamp, stamp, f"BENCH-{hid:07d}", towns[0].code, "",
                                   town(n // HOUSEHOLDS).code, units[n], "moved_in", signed, "", 3, 0, 1,
                                   cids[n // HOUSEHOLDS], 1) for n, hid in enumerate(hids)])
        residents: dict[int, list[tuple[int, str, str]]] = {cid: [] for cid in cids}
        people = []
        for n, person in enumerate(await bulk.allocate_ids(tx, "person", len(hids) * 3)):
            name = SURNAMES[n % len(SURNAMES)] + GIVEN[n // len(SURNAMES) % len(GIVEN)]
            people.append((person, stamp, stamp, f"{person:018d}", name, "户主" if n % 3 == 0 else "家庭成员", "",
                           towns[0].code, "", 1, hids[n // 3]))
            residents[cids[n // 3 // HOUSEHOLDS]].append((person, name, units[n // 3]))
        await write("person", people)
        del people

        for n, cid in enumerate(cids):
            plan = history.plan(busiest if n == 0 else rng.randint(average // 2, average * 3 // 2), residents[cid])
            ids = {table: await bulk.allocate_ids(tx, table, len(plan[table])) for table in PLAN_TABLES}
            for table, rows in history.rows(cid, plan, ids, stamp).items():
                await write(table, rows)
                counts[table] += len(rows)
        # the weeks' records, each with its Thursday meeting once it has taken place
        weeks = [iso_week(today - dt.timedelta(weeks=w)) for w in range(51, -1, -1)]
        weeks = [(week, week_start(week) + dt.timedelta(days=3)) for week in weeks]
        attendance = json.dumps({"居委会": ["王丽华"], "业委会": ["黄志明"], "物业": ["刘强"]}, ensure_ascii=False)
        wids = await bulk.allocate_ids(tx, "desk_week", len(cids) * len(weeks))
        await write("desk_week", [(wids[n], stamp, stamp, week, attendance,
                                   bulk.db_date(tx, meeting) if meeting <= today else None, attendance,
                                   "按议程逐项商议", 1, cid)
                                  for n, (cid, (week, meeting)) in enumerate((c, w) for c in cids for w in weeks)])
    seconds = time.perf_counter() - start
    conn = connection()
    await conn.execute_script("VACUUM ANALYZE" if is_postgres(conn) else "ANALYZE")
    happy = await conn.execute_query_dict("SELECT COUNT(*) AS n FROM problem WHERE status = 'happy'")
    return {"seconds": seconds, "community_id": cids[0], "communities": communities, **counts,
            "happy": happy[0]["n"]}


def numbered(conn, sql: str) -> str:
    """`?` markers as PostgreSQL's $1, $2, …"""
    from resettle.db import is_postgres

    if not is_postgres(conn):
        return sql
    parts = sql.split("?")
    return "".join(f"{part}${n}" for n, part in enumerate(parts[:-1], 1)) + parts[-1]


async def median_ms(call) -> float:
    await call()  # warm-up: caches, the policy, the font
    timings = []
    for _ in range(RUNS):
        start = time.perf_counter()
        await call()
        timings.append((time.perf_counter() - start) * 1000)
    return statistics.median(timings)


async def reads(community_id: int, workdir: Path) -> dict:
    """The four reads of the busiest community, each against a bare SELECT of the same rows."""
    from resettle.actor import Actor
    from resettle.db import connection
    from resettle.models import Community
    from resettle.policy import load_policy
    from resettle.rules.desk import iso_week, period, week_start
    from services import bulk, desk_papers, desk_views
    from services.demo import PROBLEM_TOPICS
    from services.work import begin

    conn = connection()
    community = await Community.get(id=community_id)
    clerk = begin(Actor("bench:desk", role="desk", township=community.township_code, community_id=community.id),
                  load_policy())
    today = clerk.today
    year = period(year=str(measured_year(today)))
    starts = week_start(iso_week(today))
    topic = PROBLEM_TOPICS[0]

    def d(day: dt.date):
        return bulk.db_date(conn, day)

    async def bare(*queries: tuple[str, list]) -> int:
        rows = 0
        for sql, args in queries:
            rows += len(await conn.execute_query_dict(numbered(conn, sql), [community.id, *args]))
        return rows

    lookup_sql = ("SELECT id, title, description, status FROM problem WHERE community_id = ? AND category = ? "
                  "AND status IN ('open', 'scheduled', 'done') ORDER BY id DESC LIMIT 500", [topic.category])
    board_sql = (("SELECT * FROM demand WHERE community_id = ? AND received_on >= ? AND received_on < ? "
                  "ORDER BY id DESC", [d(starts), d(starts + dt.timedelta(days=7))]),
                 ("SELECT * FROM problem WHERE community_id = ? AND status = 'done' ORDER BY done_on, id", []),
                 ("SELECT * FROM desk_action WHERE community_id = ? AND status = 'planned' AND due < ? "
                  "ORDER BY due, id LIMIT 200", [d(starts + dt.timedelta(days=7))]),
                 ("SELECT COUNT(*) AS n FROM problem WHERE community_id = ? AND status = 'open'", []))
    lists_sql = (("SELECT * FROM demand WHERE community_id = ? AND received_on >= ? AND received_on < ? "
                  "ORDER BY received_on, id", [d(year.start), d(year.end)]),
                 ("SELECT * FROM problem WHERE community_id = ? AND opened_on < ? "
                  "AND (happy_on IS NULL OR happy_on >= ?) ORDER BY opened_on, id", [d(year.end), d(year.start)]),
                 ("SELECT * FROM desk_action WHERE community_id = ? AND decided_on < ? "
                  "AND (completed_on IS NULL OR completed_on >= ?) ORDER BY due, id", [d(year.end), d(year.start)]))
    happy_sql = ("SELECT * FROM problem WHERE community_id = ? AND happy_on >= ? AND happy_on < ? "
                 "ORDER BY happy_on, id", [d(year.start), d(year.end)])

    data = await desk_views.lists(clerk, None, year)
    pdf = workdir / "happy.pdf"

    async def paper() -> None:
        desk_papers.write_lists(data, pdf, ["happy"])

    async def lists_and_paper() -> None:
        desk_papers.write_lists(await desk_views.lists(clerk, None, year), pdf, ["happy"])

    board = await desk_views.board(clerk)
    result = {
        "community": community.name, "year": year.label,
        "lookup": {"rows": await bare(lookup_sql), "candidates_returned": len(
            await desk_views.similar_problems(clerk, None, topic.category, topic.texts[0])),
            "ms": await median_ms(lambda: desk_views.similar_problems(clerk, None, topic.category, topic.texts[0])),
            "bare_ms": await median_ms(lambda: bare(lookup_sql))},
        "board": {"rows": len(board["demands"]) + len(board["awaiting_feedback"]) + len(board["actions_due"]),
                  "ms": await median_ms(lambda: desk_views.board(clerk)),
                  "bare_ms": await median_ms(lambda: bare(*board_sql))},
        "lists": {"rows": sum(len(data[k]) for k in ("demands", "problems", "actions")),
                  "ms": await median_ms(lambda: desk_views.lists(clerk, None, year)),
                  "bare_ms": await median_ms(lambda: bare(*lists_sql))},
        "pdf": {"rows": len(data["happy"]), "ms": await median_ms(paper),
                "bare_ms": await median_ms(lambda: bare(happy_sql))},
        "lists_pdf": {"rows": len(data["happy"]), "ms": await median_ms(lists_and_paper),
                      "bare_ms": await median_ms(lambda: bare(*lists_sql, happy_sql))},
    }
    return result


async def run(url: str, communities: int, demands: int) -> tuple[dict, dict]:
    from resettle.db import open_db

    async with open_db(url):
        built = await build(communities, demands)
        with tempfile.TemporaryDirectory() as workdir:
            measured = await reads(built["community_id"], Path(workdir))
    return built, measured


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--communities", type=int, default=200)
    parser.add_argument("--demands", type=int, default=500_000)
    parser.add_argument("--db", help="PostgreSQL server URL (a database is created and dropped); default SQLite")
    parser.add_argument("--workdir", default="/tmp/resettle-bench")
    args = parser.parse_args()
    workdir = Path(args.workdir)
    workdir.mkdir(parents=True, exist_ok=True)
    url = base.fresh_database(args.db, workdir, "desk")
    try:
        built, r = asyncio.run(run(url, args.communities, args.demands))
    finally:
        base.drop_database(args.db, url)
    print(f"engine        {'PostgreSQL' if args.db else 'SQLite'}")
    print(f"history       {built['communities']} communities × 52 weeks: {built['demand']:,} demands, "
          f"{built['problem']:,} problems ({built['happy'] / built['problem']:.0%} happy), "
          f"{built['desk_action']:,} actions, {built['feedback']:,} feedback, {built['reopening']:,} reopenings "
          f"(bulk insert {built['seconds']:.1f} s)")
    print(f"measured      {r['community']}, the busiest; lists of {r['year']}; median of {RUNS} runs\n")
    print(f"{'read':34s} {'rows':>6s} {'service':>10s} {'bare SELECT':>12s} {'ratio':>7s}  goal")
    for key, label, goal in (("lookup", "similar-problem lookup", "< 50 ms"), ("board", "week's board", "< 50 ms"),
                             ("lists", "year's four lists", ""),
                             ("pdf", "幸福清单 PDF (write_lists)", "< 2000 ms"),
                             ("lists_pdf", "year's lists + 幸福清单 PDF", "< 2000 ms")):
        row = r[key]
        print(f"{label:34s} {row['rows']:>6,} {row['ms']:>7.1f} ms {row['bare_ms']:>9.1f} ms "
              f"{row['ms'] / row['bare_ms']:>6.1f}×  {goal}")


if __name__ == "__main__":
    main()
