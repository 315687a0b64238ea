"""`resettle funding`: community-governance projects from draft to completion, and their papers.
Parse options, call a service, print: no rules live here."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import click

from cli.common import COMMUNITY, DATE, db_option, fail, run, work
from cli.output import FORMATS, render, written
from resettle.errors import DomainError
from resettle.history import action_label
from resettle.rules.funding import ProjectKind, ProjectStatus, yuan
from services import funding, funding_papers


@click.group("funding")
def funding_group() -> None:
    """社区治理项目：申报、核定、审定、区乡两级分担，审定单与年度资金汇总。"""


def _fen(text: str, what: str) -> int:
    """元 as typed (12,345.6) → fen; an amount that is not one is a wrong option."""
    try:
        return funding.fen(text, what)
    except DomainError as exc:
        fail(exc.message, 2)


def _verdict(q: dict) -> str:
    return "\n".join([f"资格审查：{'符合申报条件' if q['qualifies'] else '不符合申报条件'}",
                      *(f"  {'✓' if c['ok'] else '✗'} {c['text']}" for c in q["checks"])])


def _project_head(p: dict) -> str:
    return f"项目 {p['id']}「{p['title']}」{p['status_label']}（版本 {p['version']}）"


def _split(district: int, township: int, ratio_label: str) -> str:
    return f"区级承担 {ratio_label}：{yuan(district)}，乡镇承担 {yuan(township)}"


def _show_text(p: dict) -> str:
    proof = p["evidence"]
    item = "一事一议" if p["kind"] == "case_by_case" else f"{p['kind_label']} {p['item']}"
    amounts = [f"申请 {yuan(p['requested'])}"]
    if p["verified"] is not None:
        amounts.append(f"核定 {yuan(p['verified'])}（{p['verified_by']} {p['verified_on']}）")
    if p["approved"] is not None:
        amounts.append(f"审定 {yuan(p['approved'])}（{p['approved_by']} {p['approved_on']}）")
    if p["spent"] is not None:
        amounts.append(f"实际支出 {yuan(p['spent'])}（{p['completed_on']}验收）")
    lines = [_project_head(p),
             f"{p['township']} {p['community']} · {item} · {p['year']}年 · 核定部门 {p['department']} · "
             f"已入住 {p['moved_in_households']} 户",
             " · ".join(amounts)]
    if p["approved"] is not None:
        lines.append(_split(p["district_share"], p["township_share"], p["ratio_label"]))
    elif p["split_preview"]:
        preview = p["split_preview"]
        lines.append("按核定金额试算：" + _split(preview["district_share"], preview["township_share"],
                                           preview["ratio_label"]))
    if p["reason"]:
        lines.append(f"{'退回' if p['status'] == 'returned' else '不予通过'}原因：{p['reason']}")
    lines += [_verdict(p["qualification"]),
              f"申报依据：三合署问题 {len(proof['problems'])} 个，{proof['households']} 户居民反映"
              if proof["problems"] else "申报依据：未引用三合署问题",
              *(f"  问题{problem['id']} {problem['title']}" for problem in proof["problems"]),
              "经过：",
              render([{**h, "actor": h["actor_name"], "action": action_label(h["action"])} for h in p["history"]],
                     {"at": "时间", "actor": "操作人", "action": "事项"}, "table")]
    return "\n".join(lines)


PROJECT_ID = click.argument("project_id", metavar="ID", type=int)
VERSION = click.option("--version", type=int, help="按看到的版本号保存，他人已修改则拒绝")
KINDS = click.Choice([k.value for k in ProjectKind])


def _deliberation_options(func):
    for option in reversed((
            click.option("--deliberation-body", default="", help="一事一议：议事机构，如“居民代表会议”"),
            click.option("--deliberation-date", type=DATE, help="一事一议：议事日期"),
            click.option("--attendance", type=int, default=0, help="一事一议：到会人数"),
            click.option("--votes-for", type=int, default=0, help="一事一议：赞成票数"),
            click.option("--votes-against", type=int, default=0, help="一事一议：反对票数"))):
        func = option(func)
    return func


def _deliberation(body: str, held_on: dt.date | None, attendance: int, votes_for: int,
                  votes_against: int) -> dict | None:
    """The 一事一议 record from its options, or None when none was given."""
    if not (body or held_on or attendance or votes_for or votes_against):
        return None
    return {"body": body, "held_on": held_on.isoformat() if held_on else None, "attendance": attendance,
            "votes_for": votes_for, "votes_against": votes_against}


def _drafted(project: dict, fmt: str, verb: str) -> None:
    if fmt == "json":
        click.echo(json.dumps(project, ensure_ascii=False, indent=2, default=str))
        return
    click.echo(f"{verb}{_project_head(project)}\n{_verdict(project['qualification'])}")
    click.echo(f"可以提交：resettle funding submit {project['id']}" if project["qualification"]["qualifies"]
               else f"不符合申报条件，用 resettle funding update {project['id']} --version {project['version']} "
                    "修改后才能提交。")


PROBLEMS = click.option("--problem", "problems", type=int, multiple=True,
                        help="作为依据的三合署问题编号（可多次给出）")
DRAFT_FORMAT = click.option("--format", "fmt", type=click.Choice(["table", "json"]), default="table")


@funding_group.command("draft")
@COMMUNITY
@click.option("--kind", required=True, type=KINDS,
              help="construction 一次性建设类、operation 日常运营管理类、case_by_case 一事一议")
@click.option("--item", default="", help="项目目录编号，如 YY01（一事一议不填）")
@click.option("--title", required=True, help="项目名称")
@click.option("--year", required=True, type=int, help="项目年度")
@click.option("--amount", required=True, help="申请金额（元，最多两位小数）")
@click.option("--area", type=int, help="建筑面积（平方米），按面积设上限的目录项目须填")
@click.option("--department", default="", help="一事一议的核定部门")
@click.option("--description", default="", help="项目说明")
@PROBLEMS
@_deliberation_options
@DRAFT_FORMAT
@db_option
def funding_draft(community, kind, item, title, year, amount, area, department, description, problems,
                  deliberation_body, deliberation_date, attendance, votes_for, votes_against, fmt, db) -> None:
    """起草一个项目（草稿）并显示资格审查结论；符合条件后用 resettle funding submit 提交。"""
    requested = _fen(amount, "申请金额")
    deliberation = _deliberation(deliberation_body, deliberation_date, attendance, votes_for, votes_against)
    project = run(db, lambda: funding.draft(
        work(), community=community, kind=kind, item=item, title=title, year=year, requested=requested,
        area_m2=area, department=department, description=description, problems=list(problems),
        deliberation=deliberation))
    _drafted(project, fmt, "已起草")


@funding_group.command("update")
@PROJECT_ID
@click.option("--version", required=True, type=int, help="看到的版本号，他人已修改则拒绝")
@click.option("--amount", help="申请金额（元）")
@click.option("--title", help="项目名称")
@click.option("--item", help="项目目录编号")
@click.option("--year", type=int, help="项目年度")
@click.option("--area", type=int, help="建筑面积（平方米）")
@click.option("--department", help="一事一议的核定部门")
@click.option("--description", help="项目说明")
@PROBLEMS
@_deliberation_options
@DRAFT_FORMAT
@db_option
def funding_update(project_id, version, amount, title, item, year, area, department, description, problems,
                   deliberation_body, deliberation_date, attendance, votes_for, votes_against, fmt, db) -> None:
    """修改草稿或退回的项目（只改给出的项，--problem 追加依据），并重新显示资格审查结论。"""
    changes = {key: value for key, value in (("title", title), ("item", item), ("year", year), ("area_m2", area),
                                             ("department", department), ("description", description))
               if value is not None}
    if amount is not None:
        changes["requested"] = _fen(amount, "申请金额")
    deliberation = _deliberation(deliberation_body, deliberation_date, attendance, votes_for, votes_against)
    if deliberation:
        changes["deliberation"] = deliberation
    project = run(db, lambda: funding.update(work(), project_id, version=version, problems=list(problems),
                                             **changes))
    _drafted(project, fmt, "已修改")


@funding_group.command("submit")
@PROJECT_ID
@VERSION
@db_option
def funding_submit(project_id, version, db) -> None:
    """提交项目（提交时重新审查资格，不符合条件的不能提交），等待核定部门核定。"""
    p = run(db, lambda: funding.submit(work(), project_id, version=version))
    click.echo(f"已提交：{_project_head(p)}，等待{p['department']}核定")


@funding_group.command("verify")
@PROJECT_ID
@click.option("--amount", required=True, help="核定金额（元），不超过申请金额")
@VERSION
@db_option
def funding_verify(project_id, amount, version, db) -> None:
    """核定：核定部门确定金额（不超过申请金额），等待区财政局审定。"""
    verified = _fen(amount, "核定金额")
    p = run(db, lambda: funding.verify(work(), project_id, verified, version=version))
    preview = p["split_preview"]
    click.echo(f"已核定 {yuan(p['verified'])}：{_project_head(p)}\n按现行比例试算："
               + _split(preview["district_share"], preview["township_share"], preview["ratio_label"]))


@funding_group.command("approve")
@PROJECT_ID
@click.option("--amount", required=True, help="审定金额（元），不超过核定金额")
@VERSION
@db_option
def funding_approve(project_id, amount, version, db) -> None:
    """审定：区财政局确定金额（不超过核定金额），按比例分担并计入当年区级资金，超出剩余额度的拒绝。"""
    approved = _fen(amount, "审定金额")

    async def approve():
        w = work()
        p = await funding.approve(w, project_id, approved, version=version)
        return p, await funding.envelope(w, p["year"])
    p, envelope = run(db, approve)
    click.echo(f"已审定 {yuan(p['approved'])}：{_project_head(p)}\n"
               + _split(p["district_share"], p["township_share"], p["ratio_label"])
               + f"\n{p['year']}年区级资金已承诺 {yuan(envelope['committed'])}，剩余 {yuan(envelope['remaining'])}")


def _send_back(to: str, label: str):
    @PROJECT_ID
    @click.option("--reason", required=True, help="原因")
    @VERSION
    @db_option
    def command(project_id, reason, version, db) -> None:
        p = run(db, lambda: funding.send_back(work(), project_id, to, reason, version=version))
        click.echo(f"已{label}：{_project_head(p)}，原因：{p['reason']}")
    command.__doc__ = {"returned": "退回乡镇修改后重新提交（写明原因）：核定前由核定部门，核定后由区财政局。",
                       "rejected": "不予通过（写明原因）：核定前由核定部门，核定后由区财政局。"}[to]
    return command


funding_group.command("return")(_send_back("returned", "退回"))
funding_group.command("reject")(_send_back("rejected", "不予通过"))


@funding_group.command("complete")
@PROJECT_ID
@click.option("--spent", required=True, help="实际支出（元），不超过审定金额")
@click.option("--on", "on", type=DATE, help="验收日期（默认今天）")
@VERSION
@db_option
def funding_complete(project_id, spent, on, version, db) -> None:
    """验收：乡镇登记验收日期与实际支出。"""
    amount = _fen(spent, "实际支出")
    p = run(db, lambda: funding.complete(work(), project_id, spent=amount, on=on, version=version))
    click.echo(f"已验收：{_project_head(p)}，实际支出 {yuan(p['spent'])}（审定 {yuan(p['approved'])}）")


@funding_group.command("show")
@PROJECT_ID
@click.option("--format", "fmt", type=click.Choice(["table", "json"]), default="table")
@click.option("--sheet", type=click.Path(dir_okay=False), help="另存审定单（.pdf）")
@db_option
def funding_show(project_id, fmt, sheet, db) -> None:
    """查看一个项目：金额、分担、资格审查、申报依据与经过；--sheet 打印审定单（待审定的为预览）。"""
    if sheet and Path(sheet).suffix.lower() != ".pdf":
        fail("--sheet 应为 .pdf 文件", 2)

    async def show():
        w = work()
        p = await funding.show(w, project_id)
        return w, p, await funding.envelope(w, p["year"]) if sheet else None
    w, p, envelope = run(db, show)
    click.echo(json.dumps(p, ensure_ascii=False, indent=2, default=str) if fmt == "json" else _show_text(p))
    if sheet:
        path = written(lambda: funding_papers.write_approval_sheet(p, sheet, policy=w.policy, on=w.today,
                                                                   envelope=envelope))
        click.echo(f"已生成审定单 {path}", err=True)


@funding_group.command("list")
@click.option("--year", required=True, type=int, help="项目年度")
@click.option("--status", type=click.Choice([s.value for s in ProjectStatus]), help="只看这一状态")
@click.option("--township", help="只看这个乡镇")
@click.option("--format", "fmt", type=FORMATS, default="table")
@db_option
def funding_list(year, status, township, fmt, db) -> None:
    """列出一年的项目：状态、申请/核定/审定金额与区乡分担。"""
    found = run(db, lambda: funding.list_projects(work(), year=year, status=status, township=township,
                                                  limit=1_000_000))
    items = found["items"] if fmt == "json" else funding_papers.project_rows(found["items"])
    click.echo(render(items, funding_papers.PROJECT_COLUMNS, fmt))


@funding_group.command("summary")
@click.option("--year", required=True, type=int, help="年度")
@click.option("--format", "fmt", type=click.Choice(["table", "json"]), default="table")
@click.option("--out", type=click.Path(dir_okay=False), help="另存为 .xlsx 或 .pdf（含图表）")
@db_option
def funding_summary(year, fmt, out, db) -> None:
    """年度资金汇总：分乡镇、分类别的审定金额与区级、乡镇承担，当年区级资金总额、已承诺与剩余。"""
    if out and Path(out).suffix.lower() not in (".xlsx", ".pdf"):
        fail("--out 只能是 .xlsx 或 .pdf 文件", 2)
    async def summary():
        w = work()
        return w, await funding.summary(w, year)
    w, data = run(db, summary)
    if out:
        path = written(lambda: funding_papers.write_summary(data, out, on=w.today))
        click.echo(f"已生成 {path}：{year}年 {data['total']['projects']} 个已审定项目", err=fmt == "json")
    if fmt == "json":
        click.echo(json.dumps(data, ensure_ascii=False, indent=2))
    elif not out:
        click.echo(f"{year}年社区治理项目资金汇总（单位：元）\n"
                   + render(funding_papers.summary_rows(data, funding_papers.plain_yuan),
                            funding_papers.SUMMARY_COLUMNS, "table")
                   + f"\n区级资金总额 {yuan(data['envelope'])}，已承诺 {yuan(data['committed'])}，"
                     f"剩余 {yuan(data['remaining'])}")
