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

from resettle.policy import Policy
from resettle.rules import idnumber
from resettle.rules.contact import normalize_phone
from resettle.rules.dates import parse_date
from resettle.rules.household import Dates, order_problem
from resettle.rules.township import clean_name
from resettle.sheets import COLUMNS, HEADER_OF, Sheet, cell_text

ERROR, WARNING = "错误", "警告"
HOUSEHOLD_FIELDS = ("origin_township", "village", "group", "dest_township", "community", "unit",
                    "signed_on", "handed_over_on")
_TAG_SPLIT = re.compile(r"[、,，;；\s]+")
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


@dataclass
class Checked:
    """Rows that passed, normalised and typed, plus every issue found."""

    rows: pd.DataFrame
    raw: pd.DataFrame  # the cells as read, shown in the report
    issues: list[Issue] = field(default_factory=list)
    bad_households: set[str] = field(default_factory=set)
    duplicate_rows: int = 0
    total_rows: int = 0
    # row indexes with an error per column, so later rules don't pile on a cell already named
    failed: dict[str, set] = field(default_factory=dict)

    def add(self, frame: pd.DataFrame, mask, column: str, level: str, message,
            values: pd.Series | None = None) -> None:
        """Record an issue for each masked row; `message` is a string or a per-row Series."""
        index = frame.index[np.asarray(mask, dtype=bool)]
        if index.empty:
            return
        hit = frame.loc[index, ["_file", "_row", "agreement_no"]]
        if level == ERROR:
            self.failed.setdefault(column, set()).update(index)
        messages = message[index] if isinstance(message, pd.Series) else None
        shown = (values if values is not None else self.raw[column])[index]
        for idx, file, row, agreement in zip(index, hit["_file"], hit["_row"],
                                             hit["agreement_no"], strict=True):
            self.issues.append(Issue(file, int(row), agreement, HEADER_OF[column],
                                     cell_text(shown[idx]), level,
                                     messages[idx] if messages is not None else message))
            if level == ERROR and agreement:
                self.bad_households.add(agreement)


def _as_text(column: pd.Series, typed: bool) -> pd.Series:
    if typed:
        return column.map(cell_text).astype("str")
    return column.astype("str").str.strip()


def _map_unique(column: pd.Series, func) -> tuple[pd.Series, pd.Series]:
    """Apply a scalar rule once per distinct value: (results, error messages or None).

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
    return (pd.Series(results[codes], index=column.index, dtype=object),
            pd.Series(problems[codes], index=column.index, dtype=object))


def check_sheets(sheets: list[Sheet], policy: Policy, today: dt.date) -> Checked:
    frames = []
    for sheet in sheets:
        frame = sheet.frame.copy()
        for name in frame.columns:
            if name not in ("signed_on", "handed_over_on", "id_number"):
                frame[name] = _as_text(frame[name], sheet.numeric_cells)
        frame["_row"] = sheet.row_numbers
        frame["_file"] = sheet.path.name
        frame["_typed"] = sheet.numeric_cells
        frames.append(frame)
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
    frame = frame[~np.asarray(dup, dtype=bool)].copy()

    _check_required_text(out, frame)
    _check_ids(out, frame, today)
    _check_phone(out, frame)
    _check_relation(out, frame, policy)
    _check_townships(out, frame, policy)
    _check_dates(out, frame)
    _check_tags(out, frame, policy)
    _check_households(out, frame)

    keep = ~frame["agreement_no"].isin(out.bad_households) & (frame["agreement_no"] != "")
    out.rows = frame.loc[keep, ["agreement_no", "name", "id_number", "relation", "phone",
                                "origin_township", "village", "group", "dest_township",
                                "community", "unit", "signed_on", "handed_over_on", "hukou",
                                "tags", "_row", "_file"]].reset_index(drop=True)
    return out


def _check_required_text(out: Checked, frame: pd.DataFrame) -> None:
    for column in ("agreement_no", "name", "village", "community"):
        out.add(frame, frame[column] == "", column, ERROR, f"{HEADER_OF[column]}不能为空")
    for column in ("village", "community"):
        frame[column] = _map_unique(frame[column], clean_name)[0]


def _check_ids(out: Checked, frame: pd.DataFrame, today: dt.date) -> None:
    raw = frame["id_number"]
    numeric = raw.map(lambda v: isinstance(v, int | float) and not isinstance(v, bool)) \
        if frame["_typed"].any() else pd.Series(False, index=frame.index)
    text = raw.map(cell_text).astype("str") if frame["_typed"].any() else raw.astype("str")
    canonical = text.str.fullmatch(r"[0-9]{17}[0-9X]")  # \\d would admit full-width digits
    ids = text.where(canonical, text[~canonical].map(idnumber.normalize)).astype("str")
    numeric |= ids.str.contains(r"[eE]\+?\d", regex=True) & ids.str.match(_NUMERIC_ID.pattern)
    out.add(frame, numeric, "id_number", ERROR, NUMERIC_ID_MESSAGE)
    ok = idnumber.valid_mask(ids.tolist(), today) | numeric.to_numpy()
    bad = ~ok
    if bad.any():
        messages = ids[bad].map(lambda v: idnumber.problem(v, today))
        out.add(frame, bad, "id_number", ERROR, messages.reindex(frame.index))
    frame["id_number"] = ids

    # One person, one household; one row per person within a household.
    usable = ~frame.index.isin(list(out.failed.get("id_number", ())))
    pairs = frame.loc[usable, ["id_number", "agreement_no"]].drop_duplicates()
    multi = pairs["id_number"][pairs["id_number"].duplicated(keep=False)]
    out.add(frame, frame["id_number"].isin(set(multi)) & usable, "id_number", ERROR,
            "同一身份证号出现在多个协议编号中，请核实此人属于哪一户")
    twice = frame.duplicated(subset=["id_number", "agreement_no"], keep=False) & usable
    out.add(frame, twice & ~frame["id_number"].isin(set(multi)), "id_number", ERROR,
            "同一户内此身份证号出现了不止一次，且各行内容不同")


def _check_phone(out: Checked, frame: pd.DataFrame) -> None:
    phone = frame["phone"]
    fast = phone.str.fullmatch(_MOBILE) | (phone == "")
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
        codes, problems = _map_unique(frame[column], match)
        out.add(frame, problems.notna() & ~empty, column, ERROR, problems)
        frame[column] = codes
    codes, problems = _map_unique(frame["hukou"], lambda t: match(t) if t else None)
    out.add(frame, problems.notna(), "hukou", ERROR, problems)
    frame["hukou"] = codes.where(codes.notna(), frame["origin_township"])
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

    signed, problems = _map_unique(frame["signed_on"], parse_required)
    out.add(frame, problems.notna(), "signed_on", ERROR, problems)
    handed, problems = _map_unique(frame["handed_over_on"], parse_optional)
    out.add(frame, problems.notna(), "handed_over_on", ERROR, problems)
    frame["signed_on"], frame["handed_over_on"] = signed, handed
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
        tags = [t for t in _TAG_SPLIT.split(text) if t]
        unknown = [t for t in tags if t not in policy.tags]
        return "、".join(dict.fromkeys(tags)), "、".join(unknown)

    pairs, _ = _map_unique(frame["tags"], split)
    unknown = pairs.map(lambda p: p[1])
    out.add(frame, unknown != "", "tags", WARNING,
            unknown.map(lambda u: f"未知的特殊群体标签：{u}（已照录，请核对政策文件中的标签）"))
    frame["tags"] = pairs.map(lambda p: p[0])


def _check_households(out: Checked, frame: pd.DataFrame) -> None:
    """All rows of one household agree on the household fields (counted with integer codes:
    pandas' drop_duplicates per column costs seconds on a million rows)."""
    households, keys = pd.factorize(frame["agreement_no"])
    households = households.astype(np.int64)
    for column in HOUSEHOLD_FIELDS:
        usable = ~frame.index.isin(list(out.failed.get(column, ()))) & (frame["agreement_no"] != "").to_numpy()
        values, _ = pd.factorize(frame[column], use_na_sentinel=False)
        width = int(values.max(initial=0)) + 1
        pairs = np.unique(households[usable] * width + values[usable])
        variants = np.bincount(pairs // width, minlength=len(keys))
        split = variants > 1
        if split.any():
            out.add(frame, split[households] & usable, column, ERROR,
                    f"同一协议编号的各行{HEADER_OF[column]}不一致，请统一后重新导入")
