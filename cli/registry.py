"""`resettle registry`: import signing sheets, count, look up and record progress.
Parse options, call a service, print: no rules live here."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import click

from cli.common import DATE, EXIT_PARTIAL, EXIT_REJECTED, db_option, fail, run, work
from cli.output import FORMATS, Progress, check_out, render, written
from resettle.rules.household import Status
from services import registry


@click.group("registry")
def registry_group() -> None:
    """初始人员信息库：导入签约交房表、统计、查询、登记进度。"""


IMPORT_LABELS = {
    "rows_read": "读取行数", "duplicate_rows": "重复行", "households_added": "新增户",
    "households_updated": "更新户", "households_unchanged": "未变户", "households_skipped": "跳过户",
    "persons_added": "新增人", "persons_updated": "更新人", "persons_unchanged": "未变人",
    "error_rows": "错误行", "warnings": "警告", "warning_rows": "警告行",
}


@registry_group.command("import")
@click.argument("files", nargs=-1, required=True, type=click.Path(dir_okay=False))
@click.option("--skip-invalid", is_flag=True, help="写入所有没有错误的户，跳过有错误的户")
@click.option("--errors", "errors_path", type=click.Path(dir_okay=False),
              help="问题报告路径（默认在第一个文件旁，名为 <文件名>.errors.xlsx）")
@click.option("--format", "fmt", type=click.Choice(["table", "json"]), default="table")
@db_option
def registry_import(files, skip_invalid, errors_path, fmt, db) -> None:
    """导入签约交房表（.xlsx / .csv），一行一人。默认全有或全无。"""
    from services.registry_import import import_sheets  # pandas: only this command

    progress = Progress()
    report = run(db, lambda: import_sheets(work(), files, skip_invalid=skip_invalid,
                                           progress=progress))
    progress.close()
    report_path = _issue_report(report, files, errors_path)
    summary = report.summary()
    summary["error_report"] = str(report_path) if report_path else None
    if fmt == "json":
        click.echo(json.dumps(summary, ensure_ascii=False, indent=2))
    else:
        click.echo(_import_text(summary))
    if report.outcome == "rejected":
        sys.exit(EXIT_REJECTED)
    if report.outcome == "partial":
        sys.exit(EXIT_PARTIAL)


def _issue_report(report, files, errors_path) -> Path | None:
    """A sheet's problems as an xlsx beside its first file (or where --errors says)."""
    from services.registry_import import write_issue_report

    if not report.issues:
        return None
    first = Path(files[0])
    return written(lambda: write_issue_report(report, errors_path or first.with_name(f"{first.stem}.errors.xlsx")))


def _import_text(s: dict) -> str:
    head = {
        "imported": "导入完成。",
        "unchanged": "与库中记录完全一致，没有任何改动。",
        "rejected": "发现错误，未写入任何数据。请按问题报告修改后重新导入，或用 --skip-invalid 只导入无错误的户。",
        "partial": "已写入无错误的户，有错误的户已跳过。",
    }[s["outcome"]]
    lines = [head, "  ".join(f"{label} {s[key]}" for key, label in IMPORT_LABELS.items())]
    if s["new_communities"]:
        lines.append(f"新建安置社区 {len(s['new_communities'])} 个：{'、'.join(s['new_communities'])}")
    if s["new_villages"]:
        lines.append(f"新建迁出村 {len(s['new_villages'])} 个")
    if s["error_report"]:
        lines.append(f"问题报告：{s['error_report']}")
    return "\n".join(lines)


MOVES_LABELS = {
    "rows_read": "读取行数", "households_allocated": "分房户", "households_moved_in": "入住户",
    "persons_hukou_moved": "户籍迁入人", "rows_unchanged": "已登记过的行", "households_skipped": "跳过户",
    "error_rows": "错误行", "warnings": "警告",
}
MOVES_HEAD = {
    "imported": "登记完成。",
    "unchanged": "表中的分房、入住和户籍迁入都已登记过，没有任何改动。",
    "rejected": "发现错误，未写入任何数据。请按问题报告修改后重新导入，或用 --skip-invalid 只登记无错误的户。",
    "partial": "已登记无错误的户，有错误的户已整户跳过。",
    "preview": "预览：以下是登记的结果，没有写入任何数据。",
}
SHOWN_ISSUES = 20


@registry_group.command("moves")
@click.argument("files", nargs=-1, required=True, type=click.Path(dir_okay=False))
@click.option("--skip-invalid", is_flag=True, help="登记所有没有错误的户，整户跳过有错误的户")
@click.option("--dry-run", is_flag=True, help="只校验，不写入")
@click.option("--errors", "errors_path", type=click.Path(dir_okay=False),
              help="问题报告路径（默认在第一个文件旁，名为 <文件名>.errors.xlsx）")
@click.option("--format", "fmt", type=click.Choice(["table", "json"]), default="table")
@db_option
def registry_moves(files, skip_invalid, dry_run, errors_path, fmt, db) -> None:
    """批量登记分房、入住与户籍迁入（.xlsx / .csv，模板见 resettle registry template moves）。默认全有或全无。"""
    from services.registry_import import ISSUE_COLUMNS
    from services.registry_moves import import_moves

    progress = Progress()
    report = run(db, lambda: import_moves(work(), files, skip_invalid=skip_invalid, dry_run=dry_run,
                                          progress=progress))
    progress.close()
    report_path = _issue_report(report, files, errors_path)
    summary = report.summary()
    summary["error_report"] = str(report_path) if report_path else None
    if fmt == "json":
        summary["issues"] = [vars(i) for i in report.issues]
        click.echo(json.dumps(summary, ensure_ascii=False, indent=2, default=str))
    else:
        click.echo(MOVES_HEAD[report.outcome])
        click.echo("  ".join(f"{label} {summary[key]}" for key, label in MOVES_LABELS.items()))
        if report.issues:
            columns = {k: v for k, v in ISSUE_COLUMNS.items() if k != "file" or len(report.files) > 1}
            click.echo(render([vars(i) for i in report.issues[:SHOWN_ISSUES]], columns, "table"))
            more = len(report.issues) - SHOWN_ISSUES
            click.echo(f"{f'另有 {more} 条问题，' if more > 0 else ''}问题报告：{report_path}")
    if report.error_rows:  # a preview exits as the import would
        sys.exit(EXIT_PARTIAL if skip_invalid else EXIT_REJECTED)


@registry_group.group("template")
def registry_template() -> None:
    """空白导入模板。"""


@registry_template.command("moves")
@click.option("--out", required=True, type=click.Path(dir_okay=False), help=".xlsx 文件")
def registry_template_moves(out) -> None:
    """分房入住表模板（.xlsx）：表头（必填列标 *）、身份证号列为文本格式、填写说明。"""
    from services.registry_moves import write_template

    check_out("xlsx", out)
    click.echo(f"已生成 {written(lambda: write_template(out))}")


STATUS_COLUMNS = {step.value: label for step, label in (
    (Status.SIGNED, "已签约"), (Status.HANDED_OVER, "已交房"), (Status.ALLOCATED, "已分房"),
    (Status.MOVED_IN, "已入住"))}
TOWNSHIP_COLUMNS = {
    "township": "乡镇", "out_households": "迁出户数", "out_persons": "迁出人数",
    **{f"out_{k}": f"迁出{v}" for k, v in STATUS_COLUMNS.items()},
    "in_households": "迁入户数", "in_persons": "迁入人数",
    **{f"in_{k}": f"迁入{v}" for k, v in STATUS_COLUMNS.items()},
}
COMMUNITY_COLUMNS = {
    "community": "安置社区", "township": "所属乡镇", "households": "户数", "persons": "人数",
    "moved_in_households": "已入住户数", "separated_persons": "人户分离人数", **STATUS_COLUMNS,
}


GROUP_COLUMNS = {"aged_60_plus": "老年（60岁及以上）", "aged_80_plus": "高龄（80岁及以上）",
                 "under_18": "未成年（不满18岁）", "disabled": "残疾", "living_alone": "独居"}


@registry_group.command("stats")
@click.option("--by", type=click.Choice(["township", "community"]), default="township",
              help="按乡镇或按安置社区统计")
@click.option("--groups", is_flag=True, help="一老一小一残：老年、高龄、未成年、残疾、独居人数（按迁入乡镇或安置社区）")
@click.option("--on", "on", type=DATE, help="按该日计算年龄和标签（仅 --groups，默认今天）")
@click.option("--format", "fmt", type=FORMATS, default="table")
@click.option("--out", type=click.Path(dir_okay=False), help="另存为 .xlsx 或 .csv")
@db_option
def registry_stats(by, groups, on, fmt, out, db) -> None:
    """底数统计：各乡镇迁出/迁入户数人数，各安置社区户数、人数、入住与人户分离；--groups 为一老一小一残。"""
    if on and not groups:
        fail("--on 只能和 --groups 一起使用", 2)
    if groups:
        from services.groups import group_counts

        rows = run(db, lambda: group_counts(work(), by=by, on=on))
        place = {"township": "乡镇"} if by == "township" else {"community": "安置社区", "township": "所属乡镇"}
        columns = {**place, **GROUP_COLUMNS}
    else:
        service = registry.township_stats if by == "township" else registry.community_stats
        rows = run(db, lambda: service(work()))
        columns = TOWNSHIP_COLUMNS if by == "township" else COMMUNITY_COLUMNS
    if fmt == "json":
        rows = [{k: v for k, v in r.items() if k in columns or k == "code"} for r in rows]
    click.echo(render(rows, columns, fmt))
    if out:
        from resettle.sheets import write_table

        click.echo(f"已另存为 {write_table(rows, columns, out)}", err=True)


@registry_group.command("show")
@click.argument("key")
@click.option("--format", "fmt", type=click.Choice(["table", "json"]), default="table")
@db_option
def registry_show(key, fmt, db) -> None:
    """按协议编号或身份证号查看一户：成员（证件号已遮蔽）与各步日期。"""
    h = run(db, lambda: registry.show_household(work(), key))
    if fmt == "json":
        click.echo(json.dumps(h, ensure_ascii=False, indent=2))
        return
    click.echo(f"协议编号 {h['agreement_no']}  状态 {h['status_label']}  版本 {h['version']}")
    click.echo(f"迁出 {h['origin_township']}{h['village']}{h['group']}  →  "
               f"迁入 {h['dest_township']}{h['community']} {h['unit']}".rstrip())
    click.echo("\n成员：")
    click.echo(render(h["members"], {"name": "姓名", "id_number": "公民身份号码", "relation": "与户主关系",
                                     "phone": "联系电话", "hukou_township": "户籍地",
                                     "tags": "特殊群体"}, "table"))
    click.echo("\n经过：")
    click.echo(render(h["events"], {"on": "日期", "event": "事项", "note": "说明"}, "table"))


@registry_group.command("record")
@click.argument("agreement_no")
@click.option("--handed-over", type=DATE, help="交房日期")
@click.option("--allocated", type=DATE, help="分房日期（可同时用 --unit 登记房号）")
@click.option("--unit", help="房号")
@click.option("--moved-in", type=DATE, help="入住日期")
@click.option("--withdrawn", "reason", help="退出原因（入住前可退出）")
@click.option("--on", "on", type=DATE, help="退出日期（默认今天）")
@click.option("--hukou-moved", type=DATE, help="户籍迁入迁入乡镇的日期，须配合 --person")
@click.option("--person", help="户籍迁移的成员身份证号")
@click.option("--version", type=int, help="按页面上看到的版本号保存，他人已修改则拒绝")
@db_option
def registry_record(agreement_no, handed_over, allocated, unit, moved_in, reason, on, hukou_moved,
                    person, version, db) -> None:
    """登记一户的进度：交房、分房、入住、退出，或某成员户籍迁入。"""
    steps = [(Status.HANDED_OVER, handed_over), (Status.ALLOCATED, allocated),
             (Status.MOVED_IN, moved_in), (Status.WITHDRAWN, reason), ("hukou", hukou_moved)]
    chosen = [(s, v) for s, v in steps if v]
    if len(chosen) != 1:
        fail("请且只请给出一项：--handed-over、--allocated、--moved-in、--withdrawn 或 --hukou-moved", 2)
    step, value = chosen[0]
    if unit and step is not Status.ALLOCATED:
        fail("--unit 只能和 --allocated 一起使用", 2)
    if step == "hukou":
        if not person:
            fail("--hukou-moved 需要用 --person 指明成员身份证号", 2)
        result = run(db, lambda: registry.record_hukou_moved(work(), agreement_no, person, value))
        click.echo(f"已登记：{result['name']}的户籍于{result['hukou_moved_on']}迁入")
        return

    async def record():
        w = work()
        when = (on or w.today) if step is Status.WITHDRAWN else value
        return await registry.record_step(w, agreement_no, step, when, unit=unit,
                                          reason=reason if step is Status.WITHDRAWN else "", expected_version=version)
    result = run(db, record)
    click.echo(f"已登记：{result['agreement_no']} 现为{result['status_label']}（版本 {result['version']}）")


# ---------------------------------------------------------------- households that change


@registry_group.group("change")
def change_group() -> None:
    """户内成员变动：出生、死亡、迁入、迁出、户主变更、分户；窗口申请的确认与退回。"""


CHANGE_FORMAT = click.option("--format", "fmt", type=click.Choice(["table", "json"]), default="table")
ON = click.option("--on", "on", type=DATE, help="日期（默认今天；不早于签约日期）")
NOTE = click.option("--note", default="", help="说明（迁入、迁出时为原因，如 婚入、外迁）")
VERSION = click.option("--version", type=int, help="按页面上看到的该户版本号保存，他人已修改则拒绝")
NEW_HEAD = (click.option("--head", help="原户主死亡或迁出时，新户主的身份证号"),
            click.option("--old-relation", default="", help="户主变更后原户主与新户主的关系"))


def _event(agreement_no: str, kind: str, fields: dict, fmt: str, db, *, persons: dict | None = None) -> None:
    """Resolve the members named by ID, then record the event (or file the request)."""
    from services import household_changes as changes
    from services.contracts import ContractError, parse
    from services.household_changes_contracts import Change

    async def go():
        w = work()
        data = {"kind": kind, "on": (fields.pop("on", None) or w.today).isoformat(),
                **{k: v for k, v in fields.items() if v not in (None, "", ())}}
        for name, keys in (persons or {}).items():
            if isinstance(keys, tuple):
                data[name] = [await changes.member_id(w, agreement_no, k) for k in keys]
            elif keys:
                data[name] = await changes.member_id(w, agreement_no, keys)
        try:
            change = parse(Change, data)
        except ContractError as exc:
            fail(exc.message, 2)
        return await changes.record_event(w, agreement_no, change)
    result = run(db, go)
    if fmt == "json":
        click.echo(json.dumps(result, ensure_ascii=False, indent=2))
        return
    click.echo(f"已登记{result['kind_label']}：协议编号 {result['agreement_no']}，{result['on']}"
               f"（该户版本 {result['version']}）")
    detail = result["detail"]
    for key, label in (("lines_opened", "开立事项"), ("lines_closed", "关闭事项")):
        if detail.get(key):
            click.echo(f"  {label}：{'、'.join(detail[key])}")
    for label, codes in (detail.get("lines") or {}).items():
        click.echo(f"  事项{label}：{'、'.join(codes)}")
    if result.get("new_agreement_no"):
        click.echo(f"  新户协议编号：{result['new_agreement_no']}")


def _new_person(func):
    for option in reversed((
            click.option("--name", required=True, help="姓名"),
            click.option("--id-number", required=True, help="公民身份号码"),
            click.option("--relation", required=True, help="与户主关系（政策文件中的称谓）"),
            click.option("--phone", default="", help="联系电话"),
            click.option("--tags", default="", help="特殊群体标签，如 低保、残疾"))):
        func = option(func)
    return func


@change_group.command("birth")
@click.argument("agreement_no")
@_new_person
@ON
@NOTE
@VERSION
@CHANGE_FORMAT
@db_option
def change_birth(agreement_no, name, id_number, relation, phone, tags, on, note, version, fmt, db) -> None:
    """出生：新增成员并按事项目录开立台账（已入住的户随即发出对接单）。"""
    _event(agreement_no, "birth", {"on": on, "name": name, "id_number": id_number, "relation": relation,
                                   "phone": phone, "tags": tags, "note": note, "version": version}, fmt, db)


@change_group.command("join")
@click.argument("agreement_no")
@_new_person
@click.option("--hukou-township", default="", help="户籍所在乡镇（默认与户主相同）")
@ON
@NOTE
@VERSION
@CHANGE_FORMAT
@db_option
def change_join(agreement_no, name, id_number, relation, phone, tags, hukou_township, on, note, version, fmt,
                db) -> None:
    """迁入（婚入、回迁）：新增成员或迁回曾迁出的人，开立台账并发出入住时应发的对接单。"""
    _event(agreement_no, "join", {"on": on, "name": name, "id_number": id_number, "relation": relation,
                                  "phone": phone, "tags": tags, "hukou_township": hukou_township, "note": note,
                                  "version": version}, fmt, db)


@change_group.command("death")
@click.argument("agreement_no")
@click.option("--person", required=True, help="死亡成员的身份证号")
@NEW_HEAD[0]
@NEW_HEAD[1]
@ON
@NOTE
@VERSION
@CHANGE_FORMAT
@db_option
def change_death(agreement_no, person, head, old_relation, on, note, version, fmt, db) -> None:
    """死亡：成员注销，其事项以“死亡”关闭，未办结的对接单撤回。"""
    _event(agreement_no, "death", {"on": on, "old_relation": old_relation, "note": note, "version": version},
           fmt, db, persons={"person": person, "head": head})


@change_group.command("leave")
@click.argument("agreement_no")
@click.option("--person", required=True, help="迁出成员的身份证号")
@click.option("--to", "to_township", default="", help="迁往的区内乡镇；不填为迁出本区")
@click.option("--hukou-moves", is_flag=True, help="户籍随迁")
@NEW_HEAD[0]
@NEW_HEAD[1]
@ON
@NOTE
@VERSION
@CHANGE_FORMAT
@db_option
def change_leave(agreement_no, person, to_township, hukou_moves, head, old_relation, on, note, version, fmt,
                 db) -> None:
    """迁出：迁出本区则事项全部关闭；迁往区内乡镇则事随人走（及户籍随迁时随户籍）的事项转出，人走事留的保留。"""
    _event(agreement_no, "leave", {"on": on, "to_township": to_township, "hukou_moves": hukou_moves,
                                   "old_relation": old_relation, "note": note, "version": version},
           fmt, db, persons={"person": person, "head": head})


@change_group.command("head")
@click.argument("agreement_no")
@click.option("--person", required=True, help="新户主的身份证号")
@click.option("--old-relation", required=True, help="原户主与新户主的关系")
@ON
@NOTE
@VERSION
@CHANGE_FORMAT
@db_option
def change_head(agreement_no, person, old_relation, on, note, version, fmt, db) -> None:
    """户主变更：变更后恰有一位户主，户主类事项随之转给新户主。"""
    _event(agreement_no, "head", {"on": on, "old_relation": old_relation, "note": note, "version": version},
           fmt, db, persons={"person": person})


@change_group.command("split")
@click.argument("agreement_no")
@click.option("--person", "persons", multiple=True, required=True, help="分出成员的身份证号（可多次给出）")
@click.option("--head", required=True, help="新户户主的身份证号（须是分出的成员）")
@click.option("--unit", default="", help="新户的房号（原户已分房时必填）")
@ON
@NOTE
@VERSION
@CHANGE_FORMAT
@db_option
def change_split(agreement_no, persons, head, unit, on, note, version, fmt, db) -> None:
    """分户：所选成员分为同一安置社区的新户（协议编号加后缀，如 A-001-1），台账随人。"""
    _event(agreement_no, "split", {"on": on, "unit": unit, "note": note, "version": version}, fmt, db,
           persons={"persons": tuple(persons), "head": head})


REQUEST_COLUMNS = {"id": "编号", "agreement_no": "协议编号", "community": "安置社区", "kind_label": "变动",
                   "on": "日期", "who": "成员", "status_label": "状态", "requested_by": "申请人", "reason": "退回原因"}


@change_group.command("requests")
@click.option("--status", type=click.Choice(["requested", "confirmed", "refused"]), default="requested",
              help="申请状态（默认待确认）")
@click.option("--format", "fmt", type=FORMATS, default="table")
@db_option
def change_requests(status, fmt, db) -> None:
    """窗口提交的出生、死亡申请，最早的在前。"""
    from services import household_changes as changes

    found = run(db, lambda: changes.list_requests(work(), status))
    rows = [{**r, "who": r["detail"].get("name", "")} for r in found["items"]]
    if fmt == "json":
        click.echo(json.dumps(found, ensure_ascii=False, indent=2))
        return
    click.echo(render(rows, REQUEST_COLUMNS, fmt))
    if found["total"] > len(rows):
        click.echo(f"共 {found['total']} 条，只列出前 {len(rows)} 条", err=True)


def _decide(request_id: int, step: str, reason: str, version, db) -> None:
    from services import household_changes as changes

    result = run(db, lambda: changes.decide_request(work(), request_id, step, reason=reason,
                                                    expected_version=version))
    click.echo(f"申请 {result['id']}（{result['agreement_no']} {result['kind_label']}）{result['status_label']}")


@change_group.command("confirm")
@click.argument("request_id", type=click.IntRange(1, 2**31 - 1))
@click.option("--version", type=int, help="看到的申请版本号")
@db_option
def change_confirm(request_id, version, db) -> None:
    """确认窗口申请：按申请登记该变动。"""
    _decide(request_id, "confirm", "", version, db)


@change_group.command("refuse")
@click.argument("request_id", type=click.IntRange(1, 2**31 - 1))
@click.option("--reason", required=True, help="退回原因")
@click.option("--version", type=int, help="看到的申请版本号")
@db_option
def change_refuse(request_id, reason, version, db) -> None:
    """退回窗口申请，写明原因；该户不作任何改动。"""
    _decide(request_id, "refuse", reason, version, db)


@registry_group.group("tags")
def tags_group() -> None:
    """特殊群体标签：认定、续期、关闭、复核清单，以及按年龄更新动态标签。"""


@tags_group.command("refresh")
@click.option("--on", "on", type=DATE, help="按该日的年龄（默认今天）")
@click.option("--format", "fmt", type=click.Choice(["table", "json"]), default="table")
@db_option
def tags_refresh(on, fmt, db) -> None:
    """按年龄更新动态标签（高龄、老年、未成年、学龄前）所对应的事项台账：跨过年龄界限的人开立或关闭事项。可重复运行。"""
    from services import tags

    result = run(db, lambda: tags.refresh(work(), on))
    if fmt == "json":
        click.echo(json.dumps(result, ensure_ascii=False, indent=2))
        return
    click.echo(f"{result['on']}：核对 {result['persons_checked']} 人，开立事项 {result['lines_opened']} 项，"
               f"关闭事项 {result['lines_closed']} 项")


@tags_group.command("show")
@click.argument("key")
@click.option("--format", "fmt", type=click.Choice(["table", "json"]), default="table")
@db_option
def tags_show(key, fmt, db) -> None:
    """查看一人的标签：基础标签（有效期、认定人、复核与关闭记录）和当天的动态标签。"""
    from services import tags

    result = run(db, lambda: tags.person_tags(work(), key))
    if fmt == "json":
        click.echo(json.dumps(result, ensure_ascii=False, indent=2))
        return
    click.echo(f"{result['name']}（{result['id_number']}）  动态标签：{'、'.join(result['dynamic']) or '无'}")
    click.echo(render(result["basic"], {"id": "编号", "tag": "标签", "owner": "负责部门", "valid_from": "有效期起",
                                        "valid_to": "有效期止", "state_label": "状态", "reason": "原因"}, "table"))


@tags_group.command("grant")
@click.argument("key")
@click.argument("tag")
@click.option("--from", "valid_from", type=DATE, help="有效期起（默认今天）")
@click.option("--to", "valid_to", type=DATE, help="有效期止（默认按复核周期）")
@db_option
def tags_grant(key, tag, valid_from, valid_to, db) -> None:
    """认定一人的基础标签（如低保、残疾），有效期默认为字典中的复核周期。"""
    from services import tags

    result = run(db, lambda: tags.grant(work(), key, tag, valid_from=valid_from, valid_to=valid_to))
    click.echo(f"已认定“{result['tag']}”（编号 {result['id']}），有效期 {result['valid_from']} 至 {result['valid_to']}")


@tags_group.command("renew")
@click.argument("grant_id", type=int)
@click.option("--to", "valid_to", type=DATE, help="新的有效期止（默认按复核周期）")
@click.option("--version", type=int, help="按看到的版本号保存，他人已处理则拒绝")
@db_option
def tags_renew(grant_id, valid_to, version, db) -> None:
    """复核后续期一条基础标签。"""
    from services import tags

    result = run(db, lambda: tags.renew(work(), grant_id, valid_to=valid_to, expected_version=version))
    click.echo(f"已续期“{result['tag']}”至 {result['valid_to']}")


@tags_group.command("close")
@click.argument("grant_id", type=int)
@click.option("--reason", required=True, help="关闭原因（必填）")
@click.option("--version", type=int, help="按看到的版本号保存，他人已处理则拒绝")
@db_option
def tags_close(grant_id, reason, version, db) -> None:
    """关闭一条基础标签：只由它带来的事项一并关闭，未完成的对接单撤回。"""
    from services import tags

    result = run(db, lambda: tags.close(work(), grant_id, reason, expected_version=version))
    click.echo(f"已关闭“{result['tag']}”（{result['closed_on']}）")


@tags_group.command("review")
@click.option("--owner", default="", help="负责部门，如 区民政局（默认全部）")
@click.option("--state", type=click.Choice(["expired", "due"]), help="只看已到期或临近复核的")
@click.option("--limit", type=click.IntRange(1, 1000), default=50)
@click.option("--offset", type=click.IntRange(0), default=0)
@click.option("--format", "fmt", type=FORMATS, default="table")
@db_option
def tags_review(owner, state, limit, offset, fmt, db) -> None:
    """复核清单：本人已死亡、迁出或所在户已退出的（待关闭）在前，其余已到期或临近到期的到期早的在前。"""
    from services import tags

    result = run(db, lambda: tags.review_list(work(), owner=owner, state=state or "", limit=limit, offset=offset))
    items = [{**i, "gone": i["gone"] or ""} for i in result["items"]] if fmt != "json" else result["items"]
    click.echo(render(items, {"id": "编号", "tag": "标签", "owner": "负责部门", "name": "姓名",
                                        "id_number": "公民身份号码", "community": "安置社区",
                                        "valid_to": "有效期止", "state_label": "状态", "gone": "待关闭"}, fmt))
    if fmt == "table":
        click.echo(f"共 {result['total']} 条", err=True)


@registry_group.command("roster")
@click.argument("group", type=click.Choice(["aged_60_plus", "aged_80_plus", "under_18", "disabled", "living_alone"]))
@click.option("--on", "on", type=DATE, help="按该日计算（默认今天）")
@click.option("--out", type=click.Path(dir_okay=False), required=True, help="名册文件：.xlsx 或 .pdf")
@db_option
def registry_roster(group, on, out, db) -> None:
    """一老一小一残名册（证件号、电话已遮蔽）：另存为 .xlsx 或 .pdf。"""
    from services.groups import roster, write_roster

    if not out.lower().endswith((".xlsx", ".pdf")):
        fail("名册只能另存为 .xlsx 或 .pdf", 2)
    result = run(db, lambda: roster(work(), group, on=on))
    click.echo(f"已另存为 {write_roster(result, out)}（{len(result['items'])} 人）", err=True)
