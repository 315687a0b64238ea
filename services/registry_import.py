"""Use case: import 签约交房 sheets into the initial registry (初始人员信息库).

Staged like openIMIS' upload: read, validate every row, then write in one transaction, so the
import ends `imported`, `partial` (--skip-invalid) or `rejected`, with a message per bad row.
A crash or kill mid-write leaves the database as it was.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
from collections.abc import Callable, Iterable, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd
from tortoise.backends.base.client import BaseDBAsyncClient
from tortoise.exceptions import IntegrityError

from resettle.actor import Actor
from resettle.db import as_date, connection, is_postgres, placeholders
from resettle.models import Household, HouseholdEvent
from resettle.policy import Policy
from resettle.rules import idnumber
from resettle.rules.household import STATUS_LABELS, Dates, Status, order_problem
from resettle.rules.household_changes import EventKind
from resettle.rules.permissions import require
from resettle.rules.scope import household_columns, own_township, sees_household
from resettle.rules.signing_sheet import ERROR, WARNING, Checked, Issue, check_sheets, unit_note
from resettle.sheets import HEADER_OF, read_sheet_apart, write_sheets, write_table
from services import audit, groups, ledger
from services import tags as tag_grants
from services.bulk import (
    LOOKUP_CHUNK,
    Chunks,
    allocate_ids,
    among,
    db_date,
    db_stamp,
    factorize_rows,
    has_rows,
    insert,
    select_in,
)
from services.registry import unit_taken
from services.work import Work

Progress = Callable[[str, int, int], None]  # (stage, done, total)
BIG_LOAD = 10_000  # rows added by one import above which planner statistics are refreshed

HOUSEHOLD_COLUMNS = ("created_at", "updated_at", "agreement_no", "origin_township", "village_id",
                     "group", "dest_township", "community_id", "unit", "status", "signed_on",
                     "handed_over_on", "withdrawn_reason", "member_count", "separated_count",
                     "version")
PERSON_COLUMNS = ("id", "created_at", "updated_at", "household_id", "id_number", "name", "relation",
                  "phone", "hukou_township", "tags", "birth_date", "version", "community_id", "counted")
# Sheet fields compared on re-import; an empty optional cell never clears a stored value.
HOUSEHOLD_SHEET_FIELDS = ("origin_township", "village_id", "group", "dest_township",
                          "community_id", "unit", "signed_on", "handed_over_on")
PERSON_SHEET_FIELDS = ("name", "relation", "phone", "hukou_township", "tags")
OPTIONAL = {"group", "unit", "handed_over_on", "phone", "tags"}


class SheetOutcome:
    """What a sheet's report answers, whichever sheet: whether it wrote, and its JSON summary
    (every count; the issues go apart)."""

    outcome: str

    @property
    def written(self) -> bool:
        return self.outcome in ("imported", "partial")

    def summary(self) -> dict:
        data = asdict(self)
        data.pop("issues")
        data["written"] = self.written
        return data


@dataclass
class ImportReport(SheetOutcome):
    files: list[str]
    outcome: str = "imported"  # imported | partial | rejected | unchanged | preview
    rows_read: int = 0
    duplicate_rows: int = 0
    households_added: int = 0
    households_updated: int = 0
    households_unchanged: int = 0
    households_skipped: int = 0
    persons_added: int = 0
    persons_updated: int = 0
    persons_unchanged: int = 0
    lines_opened: int = 0
    error_rows: int = 0
    warnings: int = 0  # warnings reported: a repeated one counts once (see Issue.count)
    warning_rows: int = 0  # sheet rows with at least one warning
    new_communities: list[str] = field(default_factory=list)
    new_villages: list[str] = field(default_factory=list)
    issues: list[Issue] = field(default_factory=list)



ISSUE_SHEET = "问题报告"
ISSUE_COLUMNS = {"file": "文件", "row": "行号", "agreement_no": "协议编号", "column": "列",
                 "value": "值", "level": "级别", "message": "问题"}


def write_issue_report(report: ImportReport, path: str | Path) -> Path:
    """The problem report a clerk works through: one line per problem, in sheet order. The 文件
    column appears only when several files were imported together."""
    columns = dict(ISSUE_COLUMNS)
    if len(report.files) == 1:
        columns.pop("file")
    rows = [vars(issue) for issue in report.issues]
    if Path(path).suffix.lower() == ".xlsx":  # a worksheet named for what it holds, not Sheet1
        return write_sheets([(ISSUE_SHEET, rows, columns)], path)
    return write_table(rows, columns, path)


def _update_sql(conn: BaseDBAsyncClient, table: str, columns: Sequence[str]) -> str:
    """UPDATE of `columns` by id (the last parameter), bumping the row's version."""
    marks = placeholders(conn, len(columns) + 1).split(", ")
    sets = ", ".join(f'"{c}" = {m}' for c, m in zip(columns, marks, strict=False))
    return f'UPDATE "{table}" SET {sets}, version = version + 1 WHERE id = {marks[-1]}'


class _Preview(Exception):
    """Raised at the end of a dry run to roll its writes back."""


async def import_sheets(work: Work, paths: Iterable[str | Path], *, skip_invalid: bool = False,
                        progress: Progress | None = None, dry_run: bool = False) -> ImportReport:
    """Import signing sheets. `dry_run` does everything but commit: the page shows what an
    import would do (counts, every problem) before anything is written."""
    require(work.actor.role, "registry.import")
    paths = [Path(p) for p in paths]
    sheets = []
    for n, path in enumerate(paths):
        if progress:
            progress("读取表格", n, len(paths))
        sheets.append(await read_sheet_apart(path))
    report = ImportReport(files=[p.name for p in paths])
    if progress:
        progress("逐行校验", 0, 1)
    # Seconds of pandas at city scale: off the event loop, so other requests keep answering.
    checked = await asyncio.to_thread(check_sheets, sheets, work.policy, work.today)
    del sheets
    report.rows_read, report.duplicate_rows = checked.total_rows, checked.duplicate_rows
    with contextlib.suppress(_Preview):
        await _import_checked(work, checked, report, skip_invalid, progress, dry_run)
    if report.outcome == "rejected":
        return report
    _finish_report(report, checked, rejected=False)
    if dry_run:
        report.outcome = "preview"
    elif report.households_added + report.persons_added >= BIG_LOAD:
        await _refresh_statistics()
    return report


async def _import_checked(work: Work, checked: Checked, report: ImportReport, skip_invalid: bool,
                          progress: Progress | None, dry_run: bool) -> None:
    held: list[tuple[int, str, int]] = []  # (community, unit, household) the write gives a held unit
    try:
        await _write_checked(work, checked, report, skip_invalid, progress, dry_run, held)
    except IntegrityError:
        # A backstop behind _community_fixed and _check_held_units (a race, say): the refusal of
        # the unique index of held units in a sentence, as for a single allocation.
        for key in held:
            refusal = await unit_taken(*key)
            if refusal is not None:
                raise refusal from None
        raise


async def _write_checked(work: Work, checked: Checked, report: ImportReport, skip_invalid: bool,
                         progress: Progress | None, dry_run: bool, held: list[tuple[int, str, int]]) -> None:
    actor, policy = work.actor, work.policy
    async with work.transaction() as conn:
        # Scope, townships and progress are judged on the stored rows, before anything else
        # about a stored household is looked at (an error must not tell what lies out of scope).
        stored = await _stored_households(conn, checked, actor, policy)
        existing_people = await _existing_people(conn, checked, actor, policy)
        await _check_heads(conn, checked, stored)
        await _check_held_units(conn, checked, stored, actor)
        if checked.bad_households and not skip_invalid:
            _finish_report(report, checked, rejected=True)
            return
        _count_issues(report, checked)
        rows = checked.rows
        if checked.bad_households:
            rows = rows[~rows["agreement_no"].isin(checked.bad_households)].reset_index(drop=True)
        writer = _Writer(work, conn, report, progress, held)
        await writer.write(rows, existing_people, stored)
        if dry_run:
            raise _Preview


async def _refresh_statistics() -> None:
    """After a bulk load, refresh the planner's statistics (both engines) and PostgreSQL's
    visibility map, so that the counts per township and community are index-only scans right
    away rather than after autovacuum gets round to it."""
    conn = connection()
    first = "VACUUM (ANALYZE) household" if is_postgres(conn) else "ANALYZE household"
    for statement in (first, "ANALYZE person", "ANALYZE entitlement"):  # one by one: a script is a transaction
        await conn.execute_script(statement)


def _count_issues(report: ImportReport, checked: Checked) -> None:
    report.issues = sorted(checked.issues, key=lambda i: (i.file, i.row))
    report.error_rows = len({(i.file, i.row) for i in checked.issues if i.level == ERROR})
    report.warnings = sum(1 for i in checked.issues if i.level == WARNING)
    report.warning_rows = checked.warning_rows
    report.households_skipped = len(checked.bad_households)


def _finish_report(report: ImportReport, checked: Checked, *, rejected: bool) -> ImportReport:
    _count_issues(report, checked)
    if rejected:
        report.outcome = "rejected"
    elif checked.bad_households:
        report.outcome = "partial"
    elif not (report.households_added or report.households_updated or report.persons_added
              or report.persons_updated):
        report.outcome = "unchanged"
    return report


async def _existing_people(conn: BaseDBAsyncClient, checked: Checked, actor: Actor,
                           policy: Policy) -> dict[str, dict]:
    """Persons of this sheet already in the registry; an ID registered to another household
    is an error for the row of the new one (naming that household only if the actor may see it).
    A sheet's 户籍地 in the destination is a hukou move (see _Writer._write_people); a recorded
    move wins over the sheet, and a moved-in household's hukou cannot leave the destination, its
    lines having been handed off as it stood."""
    if not await has_rows(conn, "person"):
        return {}
    ids = checked.rows["id_number"].tolist()
    found = await select_in(
        conn, 'SELECT p.id, p.id_number, p.name, p.relation, p.phone, p.hukou_township, p.hukou_moved_on, '
              'p.tags, p.household_id, h.agreement_no, h.origin_township, h.dest_township, h.community_id, '
              'h.status FROM person p JOIN household h ON h.id = p.household_id',
        "p.id_number", ids)
    people = await asyncio.to_thread(lambda: {row["id_number"]: row for row in found})
    rows = checked.rows
    owner = await asyncio.to_thread(
        lambda: rows["id_number"].map(lambda i: people[i]["agreement_no"] if i in people else None))
    clash = owner.notna() & (owner != rows["agreement_no"])
    recorded = await _recorded_moves(conn, [(people[i], key) for i, key in zip(
        rows.loc[clash, "id_number"], rows.loc[clash, "agreement_no"], strict=True)])
    await _keep_recorded_heads(conn, checked, people, owner.notna() & ~clash)
    settled: list = []

    def judge() -> None:  # in a worker thread, as _stored_households
        for idx in rows.index[clash]:
            row = rows.loc[idx]
            other = people[row["id_number"]]
            where = f"协议编号{owner[idx]}的户" if sees_household(actor, other) else "另一户（不在您的管辖范围内）"
            event = recorded.get(other["id"])
            if event is not None:
                # a 分户 or a join recorded since the sheet was made: the registry's record wins
                checked.issues.append(Issue(
                    row["_file"], int(row["_row"]), row["agreement_no"], HEADER_OF["id_number"],
                    row["id_number"], WARNING, f"{row['name']}已于{event['on']}{EVENT_MOVES[event['kind']]}"
                    f"{where}，以登记的为准，本行未采用"))
                checked.note_warned(pd.Series([row["_file"]]), pd.Series([row["_row"]]))
                settled.append(idx)
                continue
            checked.issues.append(Issue(
                row["_file"], int(row["_row"]), row["agreement_no"], HEADER_OF["id_number"],
                row["id_number"], ERROR, f"此身份证号已登记在{where}中，同一人不能属于两户"))
            checked.bad_households.add(row["agreement_no"])
        for person in people.values():
            person["hukou_moved_on"] = as_date(person["hukou_moved_on"])
        same = rows[owner.notna() & ~clash]
        stored = same["id_number"].map(lambda i: people[i]["hukou_township"])
        for row in same[same["hukou"] != stored].to_dict("records"):
            before = people[row["id_number"]]
            dest = policy.township(before["dest_township"]).name
            if before["hukou_moved_on"] is not None:
                checked.issues.append(Issue(
                    row["_file"], int(row["_row"]), row["agreement_no"], HEADER_OF["hukou"],
                    policy.township(row["hukou"]).name, WARNING, f"{before['name']}的户籍已于"
                    f"{before['hukou_moved_on']}登记迁入{dest}，户籍地以登记的为准，表中的户籍地未采用"))
                checked.note_warned(pd.Series([row["_file"]]), pd.Series([row["_row"]]))
            elif before["status"] == Status.MOVED_IN and before["hukou_township"] == before["dest_township"]:
                checked.issues.append(Issue(
                    row["_file"], int(row["_row"]), row["agreement_no"], HEADER_OF["hukou"],
                    policy.township(row["hukou"]).name, ERROR, f"户籍地与已登记的“{dest}”不同：该户已入住，"
                    "民生保障事项已按户籍在迁入乡镇对接，户籍地不能通过导入签约交房表改回"
                    "（本系统只登记户籍迁入迁入乡镇，如确有误请联系区集中居住办）"))
                checked.bad_households.add(row["agreement_no"])
    if people:
        await asyncio.to_thread(judge)
    if settled:
        checked.rows = rows.drop(index=settled).reset_index(drop=True)
    return people


# how a person came to be in another household than the sheet's, as a warning says it
EVENT_MOVES = {EventKind.SPLIT: "分户至", EventKind.JOIN: "登记加入"}
EVENT_LEFT = (EventKind.SPLIT, EventKind.LEAVE)


async def _recorded_moves(conn: BaseDBAsyncClient, clashes: list[tuple[dict, str]]) -> dict[int, dict]:
    """Of persons a sheet lists under another household than their own, those household events
    moved out of the sheet's household (a 分户 or a leave recorded on it) and into the one they
    are in now (a 分户 or a join recorded on it): person id -> the latest event of their arrival.
    Anyone else is in two households at once, as before."""
    if not clashes:
        return {}
    sheet = {r["agreement_no"]: r["id"] for r in await select_in(
        conn, "SELECT id, agreement_no FROM household", "agreement_no", sorted({key for _, key in clashes}))}
    wanted = {p["id"]: (p["household_id"], sheet.get(key)) for p, key in clashes if key in sheet}
    households = sorted({h for pair in wanted.values() for h in pair})
    arrived: dict[int, dict] = {}
    left: set[int] = set()
    for start in range(0, len(households), LOOKUP_CHUNK):
        for event in await HouseholdEvent.filter(
                household_id__in=households[start:start + LOOKUP_CHUNK],
                kind__in=sorted({*EVENT_MOVES, *EVENT_LEFT})).order_by("on", "id").values(
                "household_id", "kind", "on", "persons"):
            for person_id in event["persons"]:
                now, before = wanted.get(person_id, (None, None))
                if event["household_id"] == now and event["kind"] in EVENT_MOVES:
                    arrived[person_id] = event
                elif event["household_id"] == before and event["kind"] in EVENT_LEFT:
                    left.add(person_id)
    return {person_id: event for person_id, event in arrived.items() if person_id in left}


async def _keep_recorded_heads(conn: BaseDBAsyncClient, checked: Checked, people: dict[str, dict],
                               mine: pd.Series) -> None:
    """A member's 与户主关系 that a recorded change of 户主 set (a head event, or a head's death or
    leave naming a new head) wins over the sheet's: a warning, and the row takes the stored one,
    so an old sheet neither undoes the change nor leaves the household without its 户主."""
    rows = checked.rows
    stored = await asyncio.to_thread(  # per row in Python: in a worker thread, as judge()
        lambda: rows["id_number"].map(lambda i: people[i]["relation"] if i in people else None))
    differs = rows.index[mine & (stored != rows["relation"])]
    if differs.empty:
        return
    changed = {r["object_id"] for r in await select_in(
        conn, "SELECT e.object_id FROM (SELECT object_id FROM audit_event WHERE action = 'registry.head' "
              "AND object_type = 'person') e", "e.object_id",
        [str(people[i]["id"]) for i in rows.loc[differs, "id_number"]])}
    for idx in differs:
        row = rows.loc[idx]
        if str(people[row["id_number"]]["id"]) not in changed:
            continue
        checked.issues.append(Issue(
            row["_file"], int(row["_row"]), row["agreement_no"], HEADER_OF["relation"], row["relation"], WARNING,
            f"{row['name']}的与户主关系已按户主变更登记为“{stored[idx]}”，以登记的为准，表中的未采用"))
        checked.note_warned(pd.Series([row["_file"]]), pd.Series([row["_row"]]))
        rows.loc[idx, "relation"] = stored[idx]


async def _check_heads(conn: BaseDBAsyncClient, checked: Checked, stored: dict[str, dict]) -> None:
    """A household ends with exactly one 户主, counting its stored members beside the sheet's:
    a stored 户主 the sheet leaves out of that household stays 户主 (the sheet's rows decide
    only for themselves)."""
    keys = {row["id"]: key for key, row in stored.items() if key not in checked.bad_households}
    if not keys:
        return
    heads = await select_in(
        conn, "SELECT p.household_id, p.id_number, p.name FROM "
              "(SELECT household_id, id_number, name FROM person WHERE relation = '户主') p",
        "p.household_id", list(keys))

    def judge() -> None:  # in a worker thread, as _stored_households
        rows = checked.rows
        listed = rows[among(rows["id_number"], [head["id_number"] for head in heads])]
        on_sheet = set(zip(listed["id_number"], listed["agreement_no"], strict=True))
        kept: dict[str, list[str]] = {}
        for head in heads:
            key = keys[head["household_id"]]
            if (head["id_number"], key) not in on_sheet:
                kept.setdefault(key, []).append(head["name"])
        # a household whose sheet rows lost their 户主 (a row a household event settled) and
        # that keeps none of its own: named below as having no 户主
        stored_here = rows[rows["agreement_no"].isin(set(keys.values()) - kept.keys())]
        headed = set(stored_here.loc[stored_here["relation"] == "户主", "agreement_no"])
        for key in set(stored_here["agreement_no"]) - headed:
            kept[key] = []
        if not kept:
            return
        mine = rows[rows["agreement_no"].isin(kept)]
        first = mine.drop_duplicates("agreement_no").set_index("agreement_no")
        sheet_heads = mine[mine["relation"] == "户主"]
        named = sheet_heads.groupby("agreement_no")["name"].agg(list)
        at_head = sheet_heads.drop_duplicates("agreement_no").set_index("agreement_no")
        for key, names in kept.items():
            own = named.get(key, [])
            if len(names) + len(own) == 1:
                continue
            at = at_head.loc[key] if own else first.loc[key]
            message = (f"该户已登记户主{'、'.join(names)}（不在表中），表中又填了户主{'、'.join(own)}；"
                       "一户只能有1个户主（更换户主请在表中一并写上原户主，改填其与户主关系）"
                       if own else "导入后该户没有户主")
            checked.issues.append(Issue(at["_file"], int(at["_row"]), key, HEADER_OF["relation"],
                                        at["relation"], ERROR, message))
            checked.bad_households.add(key)
    await asyncio.to_thread(judge)


HELD = (Status.ALLOCATED.value, Status.MOVED_IN.value)


async def _check_held_units(conn: BaseDBAsyncClient, checked: Checked, stored: dict[str, dict],
                            actor: Actor) -> None:
    """A sheet's 房号 is provisional until allocation: one already held by another household of
    the community is a warning naming the holder (if the actor may see it), not an error."""
    rows = checked.rows
    households = rows.loc[rows["unit"] != "", ["agreement_no", "dest_township", "community", "unit",
                                               "_file", "_row"]].drop_duplicates("agreement_no")
    households = households[~households["agreement_no"].isin(checked.bad_households) & ~among(
        households["agreement_no"], [key for key, h in stored.items() if h["allocated_on"] is not None])]  # unit stays
    if households.empty or not await has_rows(conn, "community"):
        return
    communities = pd.DataFrame(await conn.execute_query_dict("SELECT id, township_code, name FROM community"))
    households = households.merge(communities, how="inner", left_on=["dest_township", "community"],
                                  right_on=["township_code", "name"])
    if households.empty:
        return
    marks = ", ".join(f"'{status}'" for status in HELD)
    holders = pd.DataFrame(await select_in(
        conn, "SELECT h.agreement_no, h.community_id, h.unit, h.status, h.origin_township, h.dest_township "
              "FROM (SELECT agreement_no, community_id, unit, status, origin_township, dest_township "
              f"FROM household WHERE status IN ({marks}) AND unit <> '') h",
        "h.community_id", sorted(set(households["id"].tolist()))))
    if holders.empty:
        return
    clash = households.merge(holders.drop_duplicates(["community_id", "unit"]), how="inner",
                             left_on=["id", "unit"], right_on=["community_id", "unit"], suffixes=("", "_held"))
    clash = clash[clash["agreement_no"] != clash["agreement_no_held"]]
    for h in clash.to_dict("records"):
        holder = {"agreement_no": h["agreement_no_held"], "community_id": h["community_id"],
                  "origin_township": h["origin_township"], "dest_township": h["dest_township_held"]}
        label = STATUS_LABELS[Status(h["status"])]
        other = (f"协议编号{holder['agreement_no']}（{label}）" if sees_household(actor, holder)
                 else f"另一户（{label}，不在您的管辖范围内）")
        checked.issues.append(Issue(h["_file"], int(h["_row"]), h["agreement_no"], HEADER_OF["unit"],
                                    h["unit"], WARNING, unit_note(other)))
    checked.note_warned(clash["_file"], clash["_row"])


class _Writer:
    def __init__(self, work: Work, conn: BaseDBAsyncClient, report: ImportReport, progress: Progress | None,
                 held: list[tuple[int, str, int]]):
        self.work, self.conn, self.report = work, conn, report
        self.actor, self.policy, self.today = work.actor, work.policy, work.today
        self.progress = progress
        self.held = held  # (community, unit, household) of stored households written holding a unit
        self.stamp = db_stamp(conn, work.now())
        self.events: list[tuple[str, object, dict]] = []

    def _tick(self, stage: str, total: int) -> Callable[[int], None]:
        done = 0

        def step(n: int) -> None:
            nonlocal done
            done += n
            if self.progress:
                self.progress(stage, done, total)
        return step

    async def write(self, rows: pd.DataFrame, people: dict[str, dict],
                    stored: dict[str, dict]) -> None:
        if rows.empty:
            return
        for table, township, name, new_names in (
                ("village", "origin_township", "village", self.report.new_villages),
                ("community", "dest_township", "community", self.report.new_communities)):
            # pandas over every row (here and below) runs in a worker thread: at city scale each
            # step is a fraction of a second the event loop would otherwise stand still for
            codes, pairs = await asyncio.to_thread(factorize_rows, rows[township], rows[name])
            ids = await self._places(table, pairs, new_names)
            rows[f"{table}_id"] = np.array([ids[pair] for pair in pairs], dtype=np.int64)[codes]
        households = await asyncio.to_thread(rows.drop_duplicates, "agreement_no")
        known = await asyncio.to_thread(among, households["agreement_no"], stored)
        ids = await self._add_households(households[~known], rows)
        touched = await self._update_households(households[known], stored)
        ids.update({key: row["id"] for key, row in stored.items()})
        touched |= await self._write_people(rows, people, ids, stored)
        await self._recount(touched)
        if self.events or self.report.households_added or self.report.persons_added:
            self.events.append(("import", ",".join(self.report.files), {
                key: value for key, value in self.report.summary().items()
                if key not in ("outcome", "written", "issues")}))
        await audit.record_many(self.work, "registry.import", self.events)

    async def _places(self, table: str, pairs: list[tuple[str, str]], new_names: list[str]) -> dict:
        """Villages and communities are created on first sight; returns (township, name) -> id."""
        conn = self.conn
        wanted = set(pairs)
        known = {(r["township_code"], r["name"]): r["id"] for r in await conn.execute_query_dict(
            f'SELECT id, township_code, name FROM "{table}"')}
        missing = sorted(wanted - known.keys())
        if missing:
            await insert(conn, table, ("created_at", "updated_at", "township_code", "name"),
                          [(self.stamp, self.stamp, code, name) for code, name in missing])
            known = {(r["township_code"], r["name"]): r["id"] for r in await conn.execute_query_dict(
                f'SELECT id, township_code, name FROM "{table}"')}
            new_names += [f"{self.policy.township(code).name}{name}" for code, name in missing]
            self.events += [(table, known[key], {"township_code": [None, key[0]], "name": [None, key[1]]})
                            for key in missing]
        return {key: known[key] for key in wanted}

    async def _add_households(self, new: pd.DataFrame, rows: pd.DataFrame) -> dict[str, int]:
        if new.empty:
            return {}
        conn = self.conn
        ids = await allocate_ids(conn, "household", len(new))
        keys = new["agreement_no"]

        def counts() -> tuple[list[int], list[int]]:
            members = rows.groupby("agreement_no").size()
            separated = (rows["hukou"] != rows["dest_township"]).groupby(rows["agreement_no"]).sum()
            return keys.map(members).tolist(), keys.map(separated).tolist()
        member_counts, separated_counts = await asyncio.to_thread(counts)
        stamp = self.stamp

        def records(start: int, stop: int) -> list[tuple]:
            # Python lists, not pandas rows (iterating Arrow-backed rows costs microseconds each),
            # a chunk at a time.
            part = new.iloc[start:stop]
            signed, handed = part["signed_on"].tolist(), part["handed_over_on"].tolist()
            return list(zip(
                ids[start:stop], itertools.repeat(stamp), itertools.repeat(stamp),
                part["agreement_no"].tolist(), part["origin_township"].tolist(),
                part["village_id"].tolist(), part["group"].tolist(), part["dest_township"].tolist(),
                part["community_id"].tolist(), part["unit"].tolist(),
                [Dates(s, h).status.value for s, h in zip(signed, handed, strict=True)],
                [db_date(conn, d) for d in signed], [db_date(conn, d) for d in handed],
                itertools.repeat(""), member_counts[start:stop], separated_counts[start:stop],
                itertools.repeat(1)))
        await insert(conn, "household", ("id", *HOUSEHOLD_COLUMNS), Chunks.rows(len(new), records),
                      self._tick("写入户", len(new)))
        self.report.households_added = len(new)
        return dict(zip(keys.tolist(), ids, strict=True))

    async def _update_households(self, changed: pd.DataFrame, stored: dict[str, dict]) -> set[int]:
        conn, stamp = self.conn, self.stamp

        def judge() -> tuple[list[tuple], list[tuple], list[tuple[int, str, int]]]:
            # audit.diff per household: a second of Python for a city-scale re-import, in a worker
            # thread; the database is written on the event loop below
            updates, events, held = [], [], []
            kept = [stored[key] for key in changed["agreement_no"].tolist()]
            unit_free = np.array([k["allocated_on"] is None for k in kept], dtype=bool)  # see below
            maybe = _may_differ(changed, kept, {k: k for k in HOUSEHOLD_SHEET_FIELDS if k != "unit"}) | (
                _may_differ(changed, kept, {"unit": "unit"}) & unit_free)
            for h in changed[maybe].to_dict("records"):
                before = stored[h["agreement_no"]]
                after = _sheet_household(h)
                if before["allocated_on"] is not None:
                    after.pop("unit", None)  # the unit recorded at allocation wins over the sheet
                changes = audit.diff(before, after)
                if not changes:
                    continue
                merged = {**before, **after}
                status = _dates(merged).status.value
                if status != before["status"]:
                    changes["status"] = [before["status"], status]
                if status in HELD and ("community_id" in changes or "unit" in changes):
                    held.append((merged["community_id"], merged["unit"], before["id"]))
                values = [merged[k] for k in HOUSEHOLD_SHEET_FIELDS]
                values[6], values[7] = db_date(conn, values[6]), db_date(conn, values[7])
                updates.append((*values, status, stamp, before["id"]))
                events.append(("household", h["agreement_no"], changes))
            return updates, events, held
        updates, events, held = await asyncio.to_thread(judge)
        self.events += events
        self.held += held
        if updates:
            await conn.execute_many(
                _update_sql(conn, "household", (*HOUSEHOLD_SHEET_FIELDS, "status", "updated_at")),
                updates)
        self.report.households_updated = len(updates)
        self.report.households_unchanged += len(changed) - len(updates)
        return {update[-1] for update in updates}

    async def _write_people(self, rows: pd.DataFrame, people: dict[str, dict],
                            ids: dict[str, int], stored: dict[str, dict]) -> set[int]:
        conn = self.conn
        known = await asyncio.to_thread(among, rows["id_number"], people)
        fresh = rows[~known]
        household_ids = await asyncio.to_thread(fresh["agreement_no"].map, ids)
        person_ids = await allocate_ids(conn, "person", len(fresh))

        def records(start: int, stop: int) -> list[tuple]:
            # Built a chunk at a time: a million tuples of Python strings would cost ~1 GiB.
            part = fresh.iloc[start:stop]
            return list(zip(
                person_ids[start:stop], itertools.repeat(self.stamp), itertools.repeat(self.stamp),
                household_ids.iloc[start:stop].tolist(),
                *(part[c].tolist() for c in ("id_number", "name", "relation", "phone", "hukou", "tags")),
                [db_date(conn, idnumber.birth_date(n)) for n in part["id_number"].tolist()],
                itertools.repeat(1), part["community_id"].tolist(),
                # a new household is never withdrawn; a stored one's persons are synced in _recount
                itertools.repeat(True)))
        await insert(conn, "person", PERSON_COLUMNS, Chunks.rows(len(fresh), records),
                      self._tick("写入人员", len(fresh)))
        self.report.persons_added = len(fresh)
        # 事项台账: every new person's lines open with the origin township responsible.
        persons = await asyncio.to_thread(lambda: pd.DataFrame({
            "person_id": person_ids, "id_number": fresh["id_number"].to_numpy(),
            "relation": fresh["relation"].to_numpy(), "tags": fresh["tags"].to_numpy(),
            "origin_township": fresh["origin_township"].to_numpy(), "signed_on": fresh["signed_on"].to_numpy()}))
        self.report.lines_opened = await ledger.open_lines_bulk(
            conn, persons, self.policy, self.work.now(), self._tick("建立事项台账", len(fresh) * 5))
        # the sheet's basic tags become grants from the signing date, by the import's actor
        await tag_grants.grant_imported(self.work, conn, person_ids, fresh["tags"].tolist(),
                                        fresh["signed_on"].tolist())
        stamp, today = self.stamp, self.today

        def judge() -> tuple[set[int], list[int], list[tuple], list[tuple], list[int], list[tuple[int, int]]]:
            # per known person in Python: in a worker thread, as in _update_households
            touched = set(household_ids[among(fresh["agreement_no"], stored)].tolist())
            moved_in = [key for key, h in stored.items() if h["status"] == Status.MOVED_IN]
            joined = np.asarray(person_ids, dtype=np.int64)[among(fresh["agreement_no"], moved_in)]
            updates, events, retagged, hukou_moved = [], [], [], []
            mine = rows[known]
            maybe = _may_differ(mine, [people[i] for i in mine["id_number"].tolist()], {
                "name": "name", "relation": "relation", "phone": "phone", "hukou": "hukou_township", "tags": "tags"})
            for p in mine[maybe].itertuples(index=False):
                before = people[p.id_number]
                after = {"name": p.name, "relation": p.relation, "phone": p.phone,
                         "hukou_township": p.hukou, "tags": p.tags}
                after = {k: v for k, v in after.items() if not (k in OPTIONAL and v == "")}
                if before["hukou_moved_on"] is not None:
                    del after["hukou_township"]  # a recorded hukou move wins over the sheet (warned)
                elif p.hukou != before["hukou_township"] and p.hukou == before["dest_township"]:
                    # the sheet tells of a move to the destination: recorded as
                    # services.registry.record_hukou_moved does, dated the import
                    after["hukou_moved_on"] = today
                    hukou_moved.append((before["id"], before["household_id"]))
                changes = audit.diff(before, after)
                if not changes:
                    continue
                merged = {**before, **after}
                updates.append((*(merged[k] for k in PERSON_SHEET_FIELDS),
                                db_date(conn, merged["hukou_moved_on"]), stamp, before["id"]))
                events.append(("person", before["id"], changes))
                if "hukou_township" in changes:
                    touched.add(before["household_id"])
                if "tags" in changes:
                    retagged.append(before["id"])
            return touched, joined.tolist(), updates, events, retagged, hukou_moved
        touched, joined, updates, events, retagged, hukou_moved = await asyncio.to_thread(judge)
        self.events += events
        if updates:
            await conn.execute_many(
                _update_sql(conn, "person", (*PERSON_SHEET_FIELDS, "hukou_moved_on", "updated_at")), updates)
        self.report.persons_updated = len(updates)
        self.report.persons_unchanged = int(known.sum()) - len(updates)
        # What moved-in households' new lines need, as for any line opening after the move-in.
        await ledger.send_new_lines(self.work, conn, joined, today)
        if hukou_moved:
            households = {h.id: h for h in await Household.filter(id__in={h for _, h in hukou_moved})}
            for person_id, household_id in hukou_moved:
                await ledger.send_hukou_transfers(self.work, conn, households[household_id], person_id, today)
        if retagged:
            await tag_grants.sync_imported(self.work, conn, retagged)
            await ledger.sync_tag_lines(self.work, conn, retagged, today, "签约交房表更新特殊群体标签")
        return touched

    async def _recount(self, household_ids: set[int]) -> None:
        if household_ids:
            await recount(self.conn, sorted(household_ids))


async def recount(conn: BaseDBAsyncClient, household_ids: list[int]) -> None:
    """Refresh the kept member and 人户分离 counts of some households from their present persons
    (one who died or left stays on the household's rows: household_changes sets left_on), and
    what its persons carry for the group counts (a re-import may change the community)."""
    await groups.sync_counted(conn, household_ids)
    sql = ("UPDATE household SET member_count = (SELECT COUNT(*) FROM person p "
           "WHERE p.household_id = household.id AND p.left_on IS NULL), separated_count = (SELECT COUNT(*) "
           "FROM person p WHERE p.household_id = household.id AND p.left_on IS NULL "
           "AND p.hukou_township <> household.dest_township)")
    if is_postgres(conn):
        await conn.execute_query(f"{sql} WHERE id = ANY($1)", [household_ids])
        return
    for start in range(0, len(household_ids), LOOKUP_CHUNK):
        chunk = household_ids[start:start + LOOKUP_CHUNK]
        await conn.execute_query(f"{sql} WHERE id IN ({placeholders(conn, len(chunk))})", chunk)


def _may_differ(sheet: pd.DataFrame, stored: list[dict], fields: dict[str, str]) -> np.ndarray:
    """The rows with a value (blank optional cells aside) unlike the stored one's, a column at a
    time: a superset of those `audit.diff` finds changed, so that a re-import looks at the
    changed rows one by one, not at each of a city's rows."""
    found = np.zeros(len(sheet), dtype=bool)
    for column, key in fields.items():
        values = sheet[column].to_numpy(dtype=object)
        differ = np.asarray(values != np.array([row[key] for row in stored], dtype=object), dtype=bool)
        if key in OPTIONAL:
            differ &= pd.notna(values) & (values != "")
        found |= differ
    return found


def _sheet_household(h: dict) -> dict:
    return {k: h[k] for k in HOUSEHOLD_SHEET_FIELDS
            if not (k in OPTIONAL and (h[k] is None or h[k] == ""))}


def _dates(household: dict) -> Dates:
    return Dates(household["signed_on"], household["handed_over_on"], household["allocated_on"],
                 household["moved_in_on"], household["withdrawn_on"])


def _refuse(checked: Checked, rows: pd.DataFrame, column: str, message: str, value: str = "") -> None:
    """An error on each of `rows`, skipping their households."""
    for file, row, agreement in zip(rows["_file"], rows["_row"], rows["agreement_no"], strict=True):
        checked.issues.append(Issue(file, int(row), agreement, HEADER_OF[column], value, ERROR, message))
        checked.bad_households.add(agreement)


def _outside(actor: Actor, policy: Policy) -> str:
    if (township := own_township(actor)) is not None:
        name = policy.township(township).name
        return f"既不从{name}迁出，也不迁入{name}"
    return "不在您的管辖范围内"


TOWNSHIP_FIXED = ("{header}与已登记的“{stored}”不同：迁出、迁入乡镇不能通过导入签约交房表更改，"
                  "须由区集中居住办另行办理（本系统尚无此项操作，请联系区集中居住办）")


def _community_fixed(before: dict, h: dict) -> str | None:
    """Why a sheet may not re-home a stored household, if it may not: once allocated, the unit is
    held in the stored community (the sheet's 房号 is provisional only until allocation)."""
    if before["status"] not in HELD or h["community"] == before["community"]:
        return None
    return (f"{HEADER_OF['community']}与已登记的“{before['community']}”不同：该户"
            f"{STATUS_LABELS[Status(before['status'])]}，已分房或入住的户不能通过导入签约交房表更换安置社区"
            "（本系统尚无换房操作，请联系区集中居住办）")


def households_reached(actor: Actor, households: pd.DataFrame) -> np.ndarray:
    """`sees_household` (the scope rule) over a frame of households, a flag per row (a column it
    lacks admits none)."""
    columns = household_columns(actor)
    if columns is None:
        return np.ones(len(households), dtype=bool)
    flags = np.zeros(len(households), dtype=bool)
    for column, value in columns:
        if column in households:
            flags |= (households[column] == value).to_numpy(dtype=bool, na_value=False)
    return flags


async def _stored_households(conn: BaseDBAsyncClient, checked: Checked, actor: Actor,
                             policy: Policy) -> dict[str, dict]:
    """Households of this sheet already in the registry, and the rules that need them. An
    import adds only households in the actor's scope and changes only stored households the
    actor may change, judged on the stored row (`resettle.rules.scope`, the rule
    every other look-up uses); it never moves a household to another origin or destination
    township. Sheet dates that contradict a step recorded since (交房 after 分房, say) are an
    error for that household."""
    rows = checked.rows.drop_duplicates("agreement_no")
    found = await select_in(
        conn, 'SELECT id, agreement_no, origin_township, village_id, "group", dest_township, '
              'community_id, unit, status, signed_on, handed_over_on, allocated_on, moved_in_on, '
              'withdrawn_on, version, (SELECT name FROM community c WHERE c.id = household.community_id) '
              'AS community FROM household',
        "agreement_no", rows["agreement_no"].tolist()) if await has_rows(conn, "household") else []
    stored = {}

    # per household in Python: in a worker thread, so a city-scale re-import does not stand the
    # event loop still (the same for the other checks against stored rows)
    def judge() -> None:
        for row in found:
            for key in ("signed_on", "handed_over_on", "allocated_on", "moved_in_on", "withdrawn_on"):
                row[key] = as_date(row[key])
            stored[row["agreement_no"]] = row
        known = among(rows["agreement_no"], stored)
        new = rows[~known]
        outside = new["agreement_no"][~households_reached(actor, new)]
        if len(outside):  # judged on the sheet: there is no stored row yet
            _refuse(checked, checked.rows[checked.rows["agreement_no"].isin(outside)], "origin_township",
                    f"该户{_outside(actor, policy)}，请由相关乡镇或区集中居住办导入")
        foreign = []
        mine = rows[known]
        kept = [stored[key] for key in mine["agreement_no"].tolist()]
        # only households out of scope or unlike the stored row can be refused or warned about
        look = ~np.array([sees_household(actor, before) for before in kept], dtype=bool) | _may_differ(mine, kept, {
            k: k for k in ("origin_township", "dest_township", "community", "unit", "signed_on", "handed_over_on")})
        for h in mine[look].to_dict("records"):
            before = stored[h["agreement_no"]]
            if not sees_household(actor, before):  # nothing more is said about a household out of scope
                foreign.append(h["agreement_no"])
                continue
            moved = [column for column in ("origin_township", "dest_township") if h[column] != before[column]]
            for column in moved:
                checked.issues.append(Issue(
                    h["_file"], int(h["_row"]), h["agreement_no"], HEADER_OF[column],
                    policy.township(h[column]).name, ERROR,
                    TOWNSHIP_FIXED.format(header=HEADER_OF[column], stored=policy.township(before[column]).name)))
                checked.bad_households.add(h["agreement_no"])
            if moved:
                continue
            refused = _community_fixed(before, h)
            if refused:
                checked.issues.append(Issue(h["_file"], int(h["_row"]), h["agreement_no"], HEADER_OF["community"],
                                            h["community"], ERROR, refused))
                checked.bad_households.add(h["agreement_no"])
                continue
            if before["allocated_on"] is not None and h["unit"] and h["unit"] != before["unit"]:
                checked.issues.append(Issue(h["_file"], int(h["_row"]), h["agreement_no"],
                                            HEADER_OF["unit"], h["unit"], WARNING,
                                            f"该户已于{before['allocated_on']}分房，房号以登记的"
                                            f"“{before['unit']}”为准，表中的房号未采用"))
                checked.note_warned(pd.Series([h["_file"]]), pd.Series([h["_row"]]))
            sheet = {k: h[k] for k in ("signed_on", "handed_over_on") if h[k] is not None}
            problem = order_problem(_dates({**before, **sheet}))
            if problem:
                checked.issues.append(Issue(h["_file"], int(h["_row"]), h["agreement_no"],
                                            HEADER_OF["signed_on"], str(h["signed_on"]), ERROR,
                                            f"{problem}，与已登记的进度矛盾"))
                checked.bad_households.add(h["agreement_no"])
        if foreign:
            refused = checked.rows[checked.rows["agreement_no"].isin(foreign)]
            for agreement, part in refused.groupby("agreement_no", sort=False):
                _refuse(checked, part, "agreement_no", f"此协议编号已登记为{_outside(actor, policy)}的户，"
                        "不能通过导入更改；请由相关乡镇或区集中居住办导入", agreement)
    await asyncio.to_thread(judge)
    return stored
