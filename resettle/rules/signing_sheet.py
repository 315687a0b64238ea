"""Validation of 签约交房 signing/handover sheets: pure, column-at-a-time, no database.

A million-row sheet must validate in seconds, so each rule runs over a whole column, and a
scalar rule (resettle.rules.*) explains only the rows the fast path rejects; the messages come
from one place. Issues are errors (the household cannot be imported) or warnings (imported,
value noted or left empty).
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass, field

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from resettle.policy import Policy
from resettle.rules import idnumber
from resettle.rules.contact import normalize_phone
from resettle.rules.dates import parse_date
from resettle.rules.household import Dates, order_problem
from resettle.rules.tags import join_tags, split_tags
from resettle.rules.township import clean_name
from resettle.sheets import COLUMNS, HEADER_OF, REPEATED, Sheet, cell_text

ERROR, WARNING = "错误", "警告"
HOUSEHOLD_FIELDS = ("origin_township", "village", "group", "dest_township", "community", "unit",
                    "signed_on", "handed_over_on")
_NUMERIC_ID = re.compile(r"^\d+(\.\d+)?([eE][+]?\d+)?$")
_MOBILE = r"1[3-9][0-9]{9}"
NUMERIC_ID_MESSAGE = ("身份证号被Excel存成了数字，末尾几位已经丢失（Excel只保留15位有效数字）："
                      "请把该列设为“文本”格式，按原件重新录入")


@dataclass
class Issue:
    file: str
    row: int
    agreement_no: str
    column: str
    value: str
    level: str
    message: str
    count: int = 1  # rows this finding stands for: a repeated warning is reported once


FIRST_ROWS = 5  # rows named in a repeated warning's message


def repeated_message(message: str, count: int, rows: list[int]) -> str:
    """A warning found on `count` rows, reported once: the rows a clerk should look at first."""
    if count <= 1:
        return message
    more = "…" if count > len(rows) else ""
    return f"{message}（共 {count:,} 行，首见于第 {'、'.join(map(str, rows))}{more} 行）"


@dataclass
class Checked:
    """Rows that passed, normalised and typed, plus every issue found."""

    rows: pd.DataFrame
    raw: pd.DataFrame | None  # the cells as read, shown in the report
    issues: list[Issue] = field(default_factory=list)
    bad_households: set[str] = field(default_factory=set)
    duplicate_rows: int = 0
    total_rows: int = 0
    # row indexes with an error per column, so later rules don't pile on a cell already named
    failed: dict[str, set] = field(default_factory=dict)
    # per file, a flag per sheet row number: which rows carry a warning (a count, not objects)
    warned: dict[str, np.ndarray] = field(default_factory=dict)

    def add(self, frame: pd.DataFrame, mask, column: str, level: str, message,
            values: pd.Series | None = None) -> None:
        """Record the masked rows' issue; `message` is a string or a per-row Series. Errors are
        one issue per row; a warning is one issue per distinct message and value, with its
        count and first rows, so a warning on every row of a city's sheet stays one line."""
        index = frame.index[np.asarray(mask, dtype=bool)]
        if index.empty:
            return
        hit = frame.loc[index, ["_file", "_row", "agreement_no"]]
        messages = message[index] if isinstance(message, pd.Series) else None
        shown = (values if values is not None else self.raw[column])[index]
        if level == WARNING:
            self._add_repeated(hit, shown, messages, message, column)
            return
        self.failed.setdefault(column, set()).update(index)
        for idx, file, row, agreement in zip(index, hit["_file"], hit["_row"],
                                             hit["agreement_no"], strict=True):
            self.issues.append(Issue(file, int(row), agreement, HEADER_OF[column],
                                     cell_text(shown[idx]), level,
                                     messages[idx] if messages is not None else message))
            if agreement:
                self.bad_households.add(agreement)

    def note_warned(self, files: pd.Series, rows: pd.Series) -> None:
        """Flag rows as warned (for the count of warned rows, however the warnings group)."""
        for file, numbers in pd.Series(np.asarray(rows, dtype=np.int64)).groupby(
                np.asarray(files), sort=False):
            flags = self.warned.get(file)
            top = int(numbers.max()) + 1
            if flags is None or len(flags) < top:
                grown = np.zeros(top, dtype=bool)
                if flags is not None:
                    grown[:len(flags)] = flags
                self.warned[file] = flags = grown
            flags[numbers.to_numpy()] = True

    @property
    def warning_rows(self) -> int:
        return int(sum(flags.sum() for flags in self.warned.values()))

    def _add_repeated(self, hit: pd.DataFrame, shown: pd.Series, messages: pd.Series | None,
                      message: str, column: str) -> None:
        """One issue per (file, message, value), grouped with integer codes: no per-row objects."""
        self.note_warned(hit["_file"], hit["_row"])
        value_codes, values = pd.factorize(shown, use_na_sentinel=False)
        texts, value_codes = _recode(value_codes, [cell_text(v) for v in values])
        key = pd.factorize(hit["_file"])[0].astype(np.int64)
        if messages is not None:
            message_codes, message_texts = pd.factorize(messages, use_na_sentinel=False)
            key = pd.factorize(key * len(message_texts) + message_codes)[0].astype(np.int64)
        key = pd.factorize(key * len(texts) + value_codes)[0]
        order = np.argsort(key, kind="stable")  # sheet order within each group
        ordered = key[order]
        starts = np.flatnonzero(np.r_[True, ordered[1:] != ordered[:-1]])
        counts = np.diff(np.r_[starts, len(ordered)])
        agreement_codes = pd.factorize(hit["agreement_no"])[0][order]
        same_household = (np.minimum.reduceat(agreement_codes, starts)
                          == np.maximum.reduceat(agreement_codes, starts))
        files, rows, agreements = (hit[c].to_numpy() for c in ("_file", "_row", "agreement_no"))
        for start, count, single in zip(starts, counts, same_household, strict=True):
            first = order[start:start + min(count, FIRST_ROWS)]
            at = first[0]
            text = messages.iat[at] if messages is not None else message
            self.issues.append(Issue(
                files[at], int(rows[at]), agreements[at] if single else "", HEADER_OF[column],
                texts[value_codes[at]], WARNING,
                repeated_message(text, int(count), [int(r) for r in rows[first]]), int(count)))


def _recode(codes: np.ndarray, texts: list[str]) -> tuple[list[str], np.ndarray]:
    """Codes of distinct raw values -> codes of distinct texts (1 and "1" read as one value)."""
    text_codes, unique = pd.factorize(np.asarray(texts, dtype=object))
    return list(unique), text_codes[codes]


def _as_text(column: pd.Series, typed: bool) -> pd.Series:
    if typed:
        column = column.map(cell_text)
    if column.name not in REPEATED:
        column = column.astype("str")
        # stripping allocates a new column; most sheets have nothing to strip
        return column.str.strip() if _matches(column, r"^\s|\s$").any() else column
    if isinstance(column.dtype, pd.CategoricalDtype):
        codes, uniques = column.cat.codes.to_numpy(), column.cat.categories.astype("str")
    else:
        codes, uniques = pd.factorize(column.astype("str"), use_na_sentinel=False)
    stripped = pd.Index(uniques).str.strip()
    categories, remap = np.unique(np.asarray(stripped, dtype=object), return_inverse=True)
    return pd.Series(pd.Categorical.from_codes(remap[codes], categories=categories),
                     index=column.index, name=column.name)


@dataclass
class Mapped:
    values: pd.Series  # the rule's result per row (None where it failed)
    problems: pd.Series  # the rule's message per row (None where it passed)
    keys: np.ndarray  # an integer per row that is equal exactly when the results are equal


def _matches(column: pd.Series, pattern: str) -> pd.Series:
    """Regex test in Arrow's native engine (pandas' str dtype runs Python per cell here)."""
    result = pc.match_substring_regex(pa.array(column.astype("str").array), pattern)
    return pd.Series(np.asarray(pc.fill_null(result, False)), index=column.index)


def _map_unique(column: pd.Series, func) -> Mapped:
    """Apply a scalar rule once per distinct value.

    Sheets repeat the same township, village, date and tag cells thousands of times, so the
    rule runs per distinct value and numpy spreads the answers back over the rows."""
    codes, uniques = pd.factorize(column, use_na_sentinel=False)
    results = np.empty(len(uniques), dtype=object)
    problems = np.empty(len(uniques), dtype=object)
    for i, value in enumerate(uniques):
        try:
            results[i] = func(value)
        except ValueError as exc:
            problems[i] = str(exc)
    same, _ = pd.factorize(results, use_na_sentinel=False)
    return Mapped(pd.Series(results[codes], index=column.index, dtype=object),
                  pd.Series(problems[codes], index=column.index, dtype=object), same[codes])


def check_sheets(sheets: list[Sheet], policy: Policy, today: dt.date) -> Checked:
    frames = []
    for sheet in sheets:
        frame = sheet.frame.reset_index(drop=True)  # copy-on-write: columns are shared, not copied
        for name in frame.columns:
            if name not in ("signed_on", "handed_over_on", "id_number"):
                frame[name] = _as_text(frame[name], sheet.numeric_cells)
        frame["_row"] = sheet.row_numbers
        frame["_file"] = sheet.path.name
        frame["_typed"] = sheet.numeric_cells
        frames.append(frame)
    if len(frames) == 1:
        raw, frame = sheets[0].frame.reset_index(drop=True), frames[0]
    else:
        raw = pd.concat([sheet.frame for sheet in sheets], ignore_index=True)
        frame = pd.concat(frames, ignore_index=True)
    out = Checked(rows=frame, raw=raw, total_rows=len(frame))

    # Exact duplicates (every column the same) count once. Only rows sharing an ID cell can be
    # duplicates, so the whole-row comparison runs on those few.
    dup = np.zeros(len(frame), dtype=bool)
    candidates = frame["id_number"].duplicated(keep=False).to_numpy()
    if candidates.any():
        dup[candidates] = frame.loc[candidates, list(COLUMNS)].duplicated().to_numpy()
    out.add(frame, dup, "id_number", WARNING, "与前面某一行完全相同，只计一次")
    out.duplicate_rows = int(np.sum(dup))
    if dup.any():
        frame = frame[~dup]

    _check_required_text(out, frame)
    _check_ids(out, frame, today)
    _check_phone(out, frame)
    _check_relation(out, frame, policy)
    _check_townships(out, frame, policy)
    _check_dates(out, frame)
    _check_tags(out, frame, policy)
    _check_households(out, frame)
    _check_units(out, frame)

    keep = ~frame["agreement_no"].isin(out.bad_households) & (frame["agreement_no"] != "")
    out.rows = frame.loc[keep, ["agreement_no", "name", "id_number", "relation", "phone",
                                "origin_township", "village", "group", "dest_township",
                                "community", "unit", "signed_on", "handed_over_on", "hukou",
                                "tags", "_row", "_file"]].reset_index(drop=True)
    out.raw = None  # the cells as read are only needed while rules add issues
    return out


def _check_required_text(out: Checked, frame: pd.DataFrame) -> None:
    for column in ("agreement_no", "name", "village", "community"):
        out.add(frame, frame[column] == "", column, ERROR, f"{HEADER_OF[column]}不能为空")
    for column in ("village", "community"):
        mapped = _map_unique(frame[column], clean_name)
        frame[column], frame["_key_" + column] = mapped.values, mapped.keys


def _check_ids(out: Checked, frame: pd.DataFrame, today: dt.date) -> None:
    raw = frame["id_number"]
    numeric = raw.map(lambda v: isinstance(v, int | float) and not isinstance(v, bool)) \
        if frame["_typed"].any() else pd.Series(False, index=frame.index)
    text = raw.map(cell_text).astype("str") if frame["_typed"].any() else raw.astype("str")
    canonical = _matches(text, r"^[0-9]{17}[0-9X]$").to_numpy()  # [0-9], not \d: \d admits full-width digits
    ids = text
    if not canonical.all():  # fold only the cells typed another way (x, full-width, spaces)
        folded = [idnumber.normalize(v) for v in text[~canonical]]
        cells = pa.array(text.array)
        ids = pd.Series(pc.replace_with_mask(cells, pa.array(~canonical), pa.array(folded, type=cells.type)),
                        index=text.index, dtype="str")
    numeric |= _matches(ids, _NUMERIC_ID.pattern) & _matches(ids, r"[eE]\+?[0-9]")
    out.add(frame, numeric, "id_number", ERROR, NUMERIC_ID_MESSAGE)
    ok = idnumber.valid_mask(ids, today) | numeric.to_numpy()
    bad = ~ok
    if bad.any():
        messages = ids[bad].map(lambda v: idnumber.problem(v, today))
        out.add(frame, bad, "id_number", ERROR, messages.reindex(frame.index))
    frame["id_number"] = ids

    # One person, one household; one row per person within a household.
    # Only rows whose ID appears more than once need a closer look.
    usable = ~frame.index.isin(list(out.failed.get("id_number", ())))
    repeated = frame["id_number"].duplicated(keep=False).to_numpy() & usable
    if repeated.any():
        suspects = frame.loc[repeated, ["id_number", "agreement_no"]]
        pairs = suspects.drop_duplicates()
        multi = set(pairs["id_number"][pairs["id_number"].duplicated(keep=False)])
        in_two = frame["id_number"].isin(multi).to_numpy() & repeated
        out.add(frame, in_two, "id_number", ERROR, "同一身份证号出现在多个协议编号中，请核实此人属于哪一户")
        out.add(frame, repeated & ~in_two, "id_number", ERROR, "同一户内此身份证号出现了不止一次，且各行内容不同")


def _check_phone(out: Checked, frame: pd.DataFrame) -> None:
    phone = frame["phone"]
    fast = _matches(phone, f"^{_MOBILE}$") | (phone == "")
    if (~fast).any():
        folded = phone[~fast].map(normalize_phone)
        values = folded.map(lambda pair: pair[0])
        junk = ~folded.map(lambda pair: pair[1])
        out.add(frame, junk.reindex(frame.index, fill_value=False), "phone", WARNING,
                "联系电话不是有效的手机号或固定电话，已留空")
        frame.loc[values.index, "phone"] = values


def _check_relation(out: Checked, frame: pd.DataFrame, policy: Policy) -> None:
    relation = frame["relation"]
    out.add(frame, relation == "", "relation", ERROR, "与户主关系不能为空")
    unknown = (relation != "") & ~relation.isin(policy.relations)
    out.add(frame, unknown, "relation", WARNING, "与户主关系不在常用称谓中，已按原样登记")
    heads = (relation == "户主").groupby(frame["agreement_no"]).sum()
    wrong = heads[(heads != 1) & (heads.index != "")]
    if len(wrong):
        first = frame[frame["agreement_no"].isin(wrong.index)].drop_duplicates("agreement_no")
        counts = first["agreement_no"].map(wrong)
        messages = counts.map(lambda n: "该户没有户主" if n == 0 else f"该户有{n}个户主，应只有1个")
        out.add(frame, frame.index.isin(first.index), "relation", ERROR, messages.reindex(frame.index))


def _check_townships(out: Checked, frame: pd.DataFrame, policy: Policy) -> None:
    def match(text: str) -> str:
        township = policy.match_township(text)
        if township is None:
            raise ValueError(f"“{text}”不是政策文件中的乡镇，请写乡镇全称，如城桥镇")
        return township.code

    for column in ("origin_township", "dest_township"):
        empty = frame[column] == ""
        out.add(frame, empty, column, ERROR, f"{HEADER_OF[column]}不能为空")
        mapped = _map_unique(frame[column], match)
        out.add(frame, mapped.problems.notna() & ~empty, column, ERROR, mapped.problems)
        frame[column], frame["_key_" + column] = mapped.values, mapped.keys
    mapped = _map_unique(frame["hukou"], lambda t: match(t) if t else None)
    out.add(frame, mapped.problems.notna(), "hukou", ERROR, mapped.problems)
    frame["hukou"] = mapped.values.where(mapped.values.notna(), frame["origin_township"])
    role_names = {"out": "迁出", "in": "迁入"}
    for column, role in (("origin_township", "out"), ("dest_township", "in")):
        allowed = {t.code for t in policy.townships if role in t.roles}
        odd = frame[column].notna() & ~frame[column].isin(allowed)
        out.add(frame, odd, column, WARNING, f"该乡镇在政策文件中未标为{role_names[role]}乡镇")


def _check_dates(out: Checked, frame: pd.DataFrame) -> None:
    def parse_optional(value: object) -> dt.date | None:
        return None if value is None or cell_text(value) == "" else parse_date(value)

    def parse_required(value: object) -> dt.date:
        if value is None or cell_text(value) == "":
            raise ValueError("签约日期不能为空")
        return parse_date(value)

    dates = {}
    for column, parse in (("signed_on", parse_required), ("handed_over_on", parse_optional)):
        mapped = _map_unique(frame[column], parse)
        out.add(frame, mapped.problems.notna(), column, ERROR, mapped.problems)
        dates[column] = mapped.values
        frame[column], frame["_key_" + column] = mapped.values, mapped.keys
    signed, handed = dates["signed_on"], dates["handed_over_on"]
    both = (signed.notna() & handed.notna()).to_numpy()
    early = np.zeros(len(frame), dtype=bool)
    early[both] = handed.to_numpy()[both] < signed.to_numpy()[both]
    if early.any():  # the rule itself words the message
        messages = pd.Series([order_problem(Dates(s, h)) for s, h in
                              zip(signed[early], handed[early], strict=True)],
                             index=frame.index[early], dtype=object)
        out.add(frame, early, "handed_over_on", ERROR, messages.reindex(frame.index))


def _check_tags(out: Checked, frame: pd.DataFrame, policy: Policy) -> None:
    def split(text: str) -> tuple[str, str]:
        tags = split_tags(text)
        return join_tags(tags), "、".join(t for t in tags if t not in policy.tags)

    def unknown(text: str) -> str | None:
        odd = split(text)[1]
        return f"未知的特殊群体标签：{odd}（已照录，请核对政策文件中的标签）" if odd else None

    warnings = _map_unique(frame["tags"], unknown).values
    out.add(frame, warnings.notna(), "tags", WARNING, warnings)
    frame["tags"] = _map_unique(frame["tags"], lambda t: split(t)[0]).values


def _check_households(out: Checked, frame: pd.DataFrame) -> None:
    """All rows of one household agree on the household fields (counted with integer codes:
    pandas' drop_duplicates per column costs seconds on a million rows)."""
    households, keys = pd.factorize(frame["agreement_no"])
    households = households.astype(np.int64)
    for column in HOUSEHOLD_FIELDS:
        usable = ~frame.index.isin(list(out.failed.get(column, ()))) & (frame["agreement_no"] != "").to_numpy()
        key = "_key_" + column
        values = frame[key].to_numpy() if key in frame else pd.factorize(frame[column], use_na_sentinel=False)[0]
        lowest = np.full(len(keys), np.iinfo(np.int64).max)
        highest = np.full(len(keys), -1)
        np.minimum.at(lowest, households[usable], values[usable])
        np.maximum.at(highest, households[usable], values[usable])
        split = highest > lowest  # two different values within one household
        if split.any():
            out.add(frame, split[households] & usable, column, ERROR,
                    f"同一协议编号的各行{HEADER_OF[column]}不一致，请统一后重新导入")


def unit_note(holder: str) -> str:
    """Why a provisional 房号 is worth a look: another household was given it."""
    return f"房号与同一安置社区的{holder}相同；签约表上的房号只是暂定，以分房登记为准，请核对"


def _check_units(out: Checked, frame: pd.DataFrame) -> None:
    """One unit for two households of one community: a warning (the sheet's 房号 is provisional
    until allocation, which is where one household per unit is enforced)."""
    households = frame[(frame["unit"] != "") & (frame["agreement_no"] != "")].drop_duplicates("agreement_no")
    place = ["dest_township", "community", "unit"]
    shared = households[households.duplicated(place, keep=False) & households["dest_township"].notna()]
    if shared.empty:
        return
    keys = list(zip(*(shared[c].astype("str") for c in place), strict=True))  # the few shared
    groups: dict[tuple, list[str]] = {}
    for key, agreement in zip(keys, shared["agreement_no"], strict=True):
        groups.setdefault(key, []).append(agreement)

    def others(key: tuple, agreement: str) -> str:
        named = [a for a in groups[key] if a != agreement]
        return "协议编号" + "、".join(named[:3]) + (f"等{len(named)}户" if len(named) > 3 else "")

    messages = pd.Series([unit_note(others(key, agreement))
                          for key, agreement in zip(keys, shared["agreement_no"], strict=True)],
                         index=shared.index, dtype=object)
    out.add(frame, frame.index.isin(shared.index), "unit", WARNING, messages.reindex(frame.index))
