"""The `resettle` command through click's CliRunner, on the test database."""

import asyncio
import functools
import json
import re
from pathlib import Path

import pandas as pd
import pytest
from click.testing import CliRunner
from openpyxl import load_workbook

import services.work
from cli.main import main
from resettle.db import open_db
from services.desk_papers import LIST_NAMES, section_title
from tests.sheets import make_id, person, write_csv
from tests.test_desk_papers import DECISIONS, HEAD, WEEK, pdf_text, seed_desk, seed_residents
from tests.test_funding_papers import desk_problem
from tests.work import DAY, clock_on

README = (Path(__file__).parent.parent / "README.md").read_text(encoding="utf-8")


@pytest.fixture
def cli(db_url, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    # every command's unit of work (`cli.common.work`) begins on the test's day
    monkeypatch.setattr(services.work, "begin", functools.partial(services.work.begin, clock=clock_on(DAY)))
    runner = CliRunner()

    def invoke(*args):
        return runner.invoke(main, [*args, "--db", db_url], catch_exceptions=False)
    invoke.db_url = db_url
    return invoke


def test_demo_then_stats_add_up(cli):
    result = cli("demo", "--households", "60")
    assert result.exit_code == 0, result.output
    assert "接下来可以试试" in result.output
    rows = json.loads(cli("registry", "stats", "--format", "json").output)
    total = rows[-1]
    assert total["township"] == "合计"
    assert total["out_households"] == total["in_households"] == sum(r["out_households"] for r in rows[:-1])
    assert {"township", "out_households", "out_persons", "in_households", "in_persons"} <= total.keys()
    communities = json.loads(cli("registry", "stats", "--by", "community", "--format", "json").output)
    assert communities[-1]["households"] == total["in_households"]
    assert communities[-1]["persons"] == total["in_persons"]
    assert "三合署：" in result.output
    suggested = next(line.strip() for line in result.output.splitlines() if "resettle desk lists" in line)
    lists = cli(*suggested.split()[1:], "--format", "json")
    assert lists.exit_code == 0 and json.loads(lists.output)["demands"]
    assert "社区治理项目：" in result.output
    for line in result.output.splitlines():
        if "resettle funding" in line:
            assert cli(*line.split()[1:]).exit_code == 0, line
    projects = json.loads(cli("funding", "list", "--year", str(DAY.year), "--format", "json").output)
    assert {p["status"] for p in projects} >= {"draft", "submitted", "verified", "approved", "completed"}
    again = cli("demo", "--households", "5")
    assert again.exit_code == 1 and "演示只在空库上运行" in again.output


def test_import_exit_statuses_and_report(cli, tmp_path):
    good = write_csv(tmp_path / "good.csv", [person("A-001", "张三", make_id("19600101", 1))])
    result = cli("registry", "import", str(good), "--format", "json")
    assert result.exit_code == 0
    summary = json.loads(result.output)
    for key in ("households_added", "households_updated", "households_unchanged", "persons_added",
                "persons_updated", "persons_unchanged", "error_rows", "warnings", "new_communities"):
        assert key in summary
    assert summary["households_added"] == 1
    assert "没有任何改动" in cli("registry", "import", str(good)).output

    bad_rows = [person("B-002", "李四", make_id("19600101", 2)), person("C-003", "", make_id("19600101", 3))]
    bad = write_csv(tmp_path / "bad.csv", bad_rows)
    result = cli("registry", "import", str(bad))
    assert result.exit_code == 3 and "未写入任何数据" in result.output
    report = tmp_path / "bad.errors.xlsx"
    import pandas as pd
    frame = pd.read_excel(report, dtype=str, engine="calamine")
    assert list(frame.columns) == ["行号", "协议编号", "列", "值", "级别", "问题"]
    assert frame.iloc[0].tolist()[:3] == ["5", "C-003", "姓名"]

    result = cli("registry", "import", str(bad), "--skip-invalid", "--errors", str(tmp_path / "e.csv"))
    assert result.exit_code == 4 and (tmp_path / "e.csv").exists()


def test_show_and_record(cli, tmp_path):
    cli("registry", "import", str(write_csv(tmp_path / "s.csv", [
        person("A-001", "张三", make_id("19600101", 1), handed="2023-06-01")])))
    shown = cli("registry", "show", "A-001")
    assert "310230********" in shown.output and make_id("19600101", 1) not in shown.output
    refused = cli("registry", "record", "A-001", "--moved-in", "2023-08-01")
    assert refused.exit_code == 1
    assert refused.output.strip() == "错误：该户尚未分房，不能直接登记入住"
    ok = cli("registry", "record", "A-001", "--allocated", "2023/7/1", "--unit", "1号101室")
    assert ok.exit_code == 0 and "已分房" in ok.output
    page = json.loads(cli("registry", "show", "A-001", "--format", "json").output)
    assert page["unit"] == "1号101室" and page["status"] == "allocated"
    assert cli("registry", "record", "A-001").exit_code == 2
    assert cli("registry", "record", "A-001", "--moved-in", "2023-13-01").exit_code == 2


def test_record_refuses_a_unit_another_household_holds(cli, tmp_path):
    cli("registry", "import", str(write_csv(tmp_path / "s.csv", [
        person("A-001", "张三", make_id("19600101", 1), handed="2023-06-01"),
        person("A-002", "李四", make_id("19600101", 2), handed="2023-06-01")])))
    assert cli("registry", "record", "A-001", "--allocated", "2023-07-01", "--unit", "1号101室").exit_code == 0
    refused = cli("registry", "record", "A-002", "--allocated", "2023-07-01", "--unit", "1号 101室")
    assert refused.exit_code == 1
    assert refused.output.strip() == ("错误：陈家新苑的房号1号101室已分给协议编号A-001的户（已分房），"
                                      "同一套房同一时间只能分给一户")


def test_unreadable_input_is_one_line_not_a_traceback(cli, tmp_path):
    (tmp_path / "x.txt").write_text("hello")
    result = cli("registry", "import", str(tmp_path / "x.txt"))
    assert result.exit_code == 1
    assert result.output.strip() == "错误：x.txt：只支持 .xlsx 和 .csv 文件"


def test_db_migrate_is_idempotent(cli):
    first = cli("db", "migrate")
    assert first.exit_code == 0
    assert "无需迁移" in cli("db", "migrate").output


def test_fixtures_generate(cli, tmp_path):
    result = cli_no_db(["fixtures", "generate", "--households", "20", "--out", str(tmp_path / "g.csv"),
                        "--error-rate", "0.5"])
    assert result.exit_code == 0
    counts = re.search(r"(\d+) 户 (\d+) 人，预置错误 (\d+) 处", result.output)
    assert counts and int(counts[1]) == 20 and int(counts[3]) > 0


def cli_no_db(args):
    return CliRunner().invoke(main, args, catch_exceptions=False)


def _commands(group, prefix=()):
    """Every leaf command, asked as click asks (the top group loads its areas lazily)."""
    import click

    for name in group.list_commands(click.Context(group)):
        command = group.get_command(click.Context(group), name)
        if isinstance(command, click.Group):
            yield from _commands(command, (*prefix, name))
        else:
            yield " ".join((*prefix, name))


COMMANDS = sorted(_commands(main))
assert len(COMMANDS) > 40  # an empty set would pass the test below without asking anything


@pytest.mark.parametrize("command", COMMANDS)
def test_every_command_is_documented_in_the_readme(command):
    assert f"resettle {command}" in README


def test_users_commands(cli, tmp_path):
    runner = CliRunner()
    db = ["--db", cli.db_url]
    add = runner.invoke(main, ["users", "add", "wang", "--name", "王信息员", "--role", "township",
                               "--township", "城桥", "--password-stdin", *db], input="long-enough-1\n")
    assert add.exit_code == 0 and "王信息员" in add.output
    short = runner.invoke(main, ["users", "add", "li", "--name", "李", "--role", "office", "--password-stdin", *db],
                          input="short\n")
    assert short.exit_code == 1 and "密码至少8位" in short.output
    no_township = runner.invoke(main, ["users", "add", "zhao", "--name", "赵", "--role", "township",
                                       "--password-stdin", *db], input="long-enough-1\n")
    assert no_township.exit_code == 1 and "--township" in no_township.output
    listed = json.loads(runner.invoke(main, ["users", "list", "--format", "json", *db]).output)
    assert listed == [{"login": "wang", "name": "王信息员", "role": "township", "role_label": "乡镇信息员",
                       "township": "城桥镇", "community": "", "carriage": "", "department": "", "active": True}]
    token = runner.invoke(main, ["users", "token", "wang", *db]).output.strip()
    assert len(token) >= 40 and "\n" not in token
    passwd = runner.invoke(main, ["users", "passwd", "wang", "--password-stdin", *db], input="another-pass-2\n")
    assert passwd.exit_code == 0
    assert runner.invoke(main, ["users", "disable", "wang", *db]).exit_code == 0
    assert json.loads(runner.invoke(main, ["users", "list", "--format", "json", *db]).output)[0]["active"] is False
    assert runner.invoke(main, ["users", "token", "wang", *db]).exit_code == 1


def test_ledger_commands(cli, tmp_path):
    head = make_id("19600101", 1)
    cli("registry", "import", str(write_csv(tmp_path / "s.csv", [
        person("A-001", "张三", head, handed="2024-01-02", tags="低保")])))
    cli("registry", "record", "A-001", "--allocated", "2024-02-01")
    cli("registry", "record", "A-001", "--moved-in", "2024-03-01")
    lines = json.loads(cli("ledger", "show", head, "--format", "json").output)
    db_line = next(line for line in lines if line["matter"] == "最低生活保障")
    assert (db_line["routing"], db_line["responsible_township"], db_line["status"]) == ("FOLLOWS", "城桥镇", "open")
    handoffs = json.loads(cli("ledger", "handoffs", "--township", "陈家镇", "--incoming", "--format", "json").output)
    assert {h["kind"] for h in handoffs} == {"transfer", "notice"}
    assert {"id", "kind", "status", "from_township", "to_township", "household", "due", "overdue"} <= handoffs[0].keys()
    assert all(h["overdue"] for h in handoffs)  # moved in long ago
    overdue = json.loads(cli("ledger", "handoffs", "--overdue", "--format", "json").output)
    assert len(overdue) == len(handoffs)
    transfer = next(h["id"] for h in handoffs if h["kind"] == "transfer" and h["matter"] == "最低生活保障")
    bulk = cli("ledger", "accept", str(transfer), "999999")
    assert bulk.exit_code == 4 and f"{transfer}：已接收" in bulk.output and "999999：未接收" in bulk.output
    assert cli("ledger", "complete", str(transfer)).exit_code == 0
    lines = json.loads(cli("ledger", "show", head, "--format", "json").output)
    assert next(line for line in lines if line["matter"] == "最低生活保障")["responsible_township"] == "陈家镇"
    assert cli("ledger", "reject", str(transfer)).exit_code == 1
    tagged = cli("ledger", "tags", head, "--set", "党员", "--reason", "低保到期")
    assert tagged.exit_code == 0 and "党组织关系" in tagged.output
    shown = json.loads(cli("ledger", "show", head, "--format", "json").output)
    line = next(x for x in shown if x["matter_code"] == "XJQ")
    assert "FOLLOWS" in cli("ledger", "routing", str(line["id"]), "--to", "FOLLOWS", "--reason", "个案").output
    assert "已关闭" in cli("ledger", "close", head, "--reason", "死亡").output
    pdf = cli("ledger", "report", "--township", "陈家镇", "--out", str(tmp_path / "r.pdf"))
    assert pdf.exit_code == 0 and (tmp_path / "r.pdf").read_bytes()[:4] == b"%PDF"
    sheet = cli("ledger", "report", "--township", "城桥镇", "--with", "陈家镇", "--out", str(tmp_path / "r.xlsx"))
    assert sheet.exit_code == 0 and "1 个乡镇" in sheet.output


@pytest.fixture
def desk_cli(cli, tmp_path):
    """The CLI on a database holding a week of 三合署 work in 陈家新苑, made through the services."""
    async def seed():
        async with open_db(cli.db_url):
            await seed_desk(tmp_path)
    asyncio.run(seed())
    return cli


def test_desk_lists_in_every_format_add_up(desk_cli, tmp_path):
    where = ("--community", "陈家新苑", "--week", WEEK)
    data = json.loads(desk_cli("desk", "lists", *where, "--format", "json").output)
    keys = {"demands": {"id", "status", "category", "channel", "problem"},
            "problems": {"id", "status", "demands", "households", "actions", "satisfaction"},
            "actions": {"id", "problem", "owner", "due", "status", "overdue"},
            "happy": {"id", "status", "demands", "households", "actions", "satisfaction"}}
    for name, wanted in keys.items():
        assert data[name] and all(wanted <= row.keys() for row in data[name]), name
    counts = {name: len(data[name]) for name in keys}
    actions = json.loads(desk_cli("desk", "lists", *where, "--list", "actions", "--format", "json").output)
    assert actions == data["actions"] and sum(a["overdue"] for a in actions) == 1
    assert data["happy"][0]["satisfaction"] == 1.0

    made = desk_cli("desk", "lists", *where, "--format", "xlsx", "--out", str(tmp_path / "l.xlsx"))
    assert made.exit_code == 0 and "幸福清单（1条）" in made.output
    sheets = pd.read_excel(tmp_path / "l.xlsx", sheet_name=None, dtype=str, engine="calamine")
    assert [len(sheets[LIST_NAMES[name]]) for name in keys] == list(counts.values())
    assert desk_cli("desk", "lists", *where, "--format", "pdf", "--out", str(tmp_path / "l.pdf")).exit_code == 0
    text = pdf_text(tmp_path / "l.pdf")
    assert all(section_title(name, count) in text for name, count in counts.items())
    table = desk_cli("desk", "lists", *where).output
    assert all(section_title(name, count) in table for name, count in counts.items()) and "3号楼电梯故障" in table
    csv_rows = desk_cli("desk", "lists", *where, "--list", "demands", "--format", "csv").output.strip().splitlines()
    assert len(csv_rows) == counts["demands"] + 1 and csv_rows[0].startswith("编号,受理日期")
    saved = desk_cli("desk", "lists", *where, "--list", "happy", "--format", "json", "--out", str(tmp_path / "h.json"))
    assert saved.exit_code == 0 and json.loads((tmp_path / "h.json").read_text()) == data["happy"]
    month = json.loads(desk_cli("desk", "lists", "--community", "陈家新苑", "--month", DAY.strftime("%Y-%m"),
                                "--format", "json").output)
    assert month["period"] == f"{DAY.year}年{DAY.month}月" and len(month["happy"]) == 1

    for wrong, message in [(("--format", "xlsx"), "--format xlsx 需要用 --out 指定文件"),
                           (("--format", "pdf", "--out", "l.xlsx"), "--out 应为 .pdf 文件"),
                           (("--format", "csv"), "CSV 一次只能输出一张清单"),
                           (("--out", "x.txt"), "表格只显示在屏幕上")]:
        refused = desk_cli("desk", "lists", *where, *wrong)
        assert refused.exit_code == 2 and message in refused.output, wrong
    bad_week = desk_cli("desk", "lists", "--community", "陈家新苑", "--week", "2026-W99")
    assert bad_week.exit_code == 2 and "2026年没有第99周" in bad_week.output
    two = desk_cli("desk", "lists", *where, "--year", "2026")
    assert two.exit_code == 2 and "请指定一个周期" in two.output
    assert "找不到安置社区" in desk_cli("desk", "lists", "--community", "不存在", "--week", WEEK).output


def test_desk_minutes_notice_and_summary(desk_cli, tmp_path):
    made = desk_cli("desk", "minutes", "--community", "陈家新苑", "--week", WEEK, "--out", str(tmp_path / "m.pdf"))
    assert made.exit_code == 0 and "例会纪要" in made.output
    assert DECISIONS in pdf_text(tmp_path / "m.pdf")
    assert desk_cli("desk", "minutes", "--community", "陈家新苑", "--week", WEEK, "--out", "m.xlsx").exit_code == 2
    made = desk_cli("desk", "notice", "--community", "陈家新苑", "--week", WEEK, "--out", str(tmp_path / "n.pdf"))
    assert made.exit_code == 0 and "幸福清单 1 件" in made.output
    assert "幸福清单公示（1件）" in pdf_text(tmp_path / "n.pdf")
    assert desk_cli("desk", "notice", "--community", "陈家新苑", "--year", str(DAY.year), "--out",
                    str(tmp_path / "y.pdf")).exit_code == 0

    month = ("--township", "陈家镇", "--month", DAY.strftime("%Y-%m"))
    data = json.loads(desk_cli("desk", "summary", *month, "--format", "json").output)
    assert data["title"] == "陈家镇" and data["total"]["community"] == "合计"
    ours = next(r for r in data["rows"] if r["community"] == "陈家新苑")
    assert {"demands", "solved", "median_days", "satisfaction", "overdue_actions", "reopen_rate"} <= ours.keys()
    assert ours["solved"] == 1 and data["total"]["demands"] == sum(r["demands"] for r in data["rows"])
    table = desk_cli("desk", "summary", *month).output
    assert "一月一汇" in table and "66.7%" in table and "合计" in table
    assert data["escalated_total"].keys() == {"opened", "closed", "open"}  # 督办, as on the page and paper
    escalations = table[table.index("督办（按乡镇）"):].splitlines()
    assert escalations[1].split() == ["乡镇", "当月督办", "当月办结", "月末仍在督办"]
    assert escalations[-1].split() == ["合计", *(str(data["escalated_total"][k]) for k in ("opened", "closed", "open"))]
    for fmt in ("xlsx", "pdf"):
        made = desk_cli("desk", "summary", *month, "--format", fmt, "--out", str(tmp_path / f"s.{fmt}"))
        assert made.exit_code == 0 and (tmp_path / f"s.{fmt}").exists()
    assert len(pd.read_excel(tmp_path / "s.xlsx", dtype=str, engine="calamine")) == len(data["rows"]) + 1
    one = json.loads(desk_cli("desk", "summary", "--community", "陈家新苑", "--month", month[-1],
                              "--format", "json").output)
    assert [r["community"] for r in one["rows"]] == ["陈家新苑"]
    both = desk_cli("desk", "summary", *month, "--community", "陈家新苑")
    assert both.exit_code == 2 and "只能给出一个" in both.output


def test_desk_import_demands(cli, tmp_path):
    async def seed():
        async with open_db(cli.db_url):
            await seed_residents(tmp_path)
    asyncio.run(seed())
    template = tmp_path / "模板.xlsx"
    assert cli_no_db(["desk", "template", "--out", str(template)]).exit_code == 0
    good = [DAY, "走访", "物业维修", "楼道漏水", "张三英", HEAD, "", ""]
    book = load_workbook(template)
    for r, row in enumerate([good, [DAY, "走访", "物业维修", "楼道漏水", "访客乙", "", "", ""]], 2):
        for c, value in enumerate(row, 1):
            book["需求"].cell(r, c, value)
    book.save(tmp_path / "visits.xlsx")
    where = ("--community", "陈家新苑")

    refused = cli("desk", "import-demands", str(tmp_path / "visits.xlsx"), *where)
    assert refused.exit_code == 3 and "未写入任何需求" in refused.output
    assert "非本社区登记居民须留联系电话" in refused.output
    assert (tmp_path / "visits.errors.xlsx").exists()
    preview = cli("desk", "import-demands", str(tmp_path / "visits.xlsx"), *where, "--dry-run", "--format", "json")
    assert preview.exit_code == 3 and json.loads(preview.output)["outcome"] == "preview"
    partial = cli("desk", "import-demands", str(tmp_path / "visits.xlsx"), *where, "--skip-invalid", "--format",
                  "json", "--errors", str(tmp_path / "e.csv"))
    assert partial.exit_code == 4 and (tmp_path / "e.csv").exists()
    report = json.loads(partial.output)
    assert (report["outcome"], report["added"], report["error_rows"]) == ("partial", 1, 1)
    assert report["issues"] == [{"row": 3, "column": "联系电话", "value": "", "level": "错误",
                                 "message": "非本社区登记居民须留联系电话"}]
    clean = tmp_path / "clean.csv"
    clean.write_text("受理日期,渠道,类别,诉求内容,姓名,身份证号\n"
                     f"{DAY},12345热线,环境卫生,垃圾房异味,张三英,{HEAD}\n", encoding="utf-8")
    done = cli("desk", "import-demands", str(clean), *where)
    assert done.exit_code == 0 and "导入完成" in done.output and "写入需求 1 条" in done.output
    lists = json.loads(cli("desk", "lists", *where, "--week", WEEK, "--list", "demands", "--format", "json").output)
    assert sorted(d["channel"] for d in lists) == ["hotline", "visit"]


@pytest.fixture
def funding_cli(cli, tmp_path):
    """The CLI on 陈家新苑 with 4 households moved in (recorded through the CLI) and 城桥镇's
    城桥新苑 with one."""
    rows = [person(f"A-{i:03d}", f"户主{i}", make_id("19600101", i), handed="2024-01-02") for i in range(1, 5)]
    rows.append(person("B-001", "城桥户主", make_id("19700101", 1), dest="城桥镇", community="城桥新苑",
                       handed="2024-01-02"))
    assert cli("registry", "import", str(write_csv(tmp_path / "seed.csv", rows))).exit_code == 0
    for agreement in ("A-001", "A-002", "A-003", "A-004", "B-001"):
        assert cli("registry", "record", agreement, "--allocated", "2024-02-01").exit_code == 0
        assert cli("registry", "record", agreement, "--moved-in", "2024-03-01").exit_code == 0
    return cli


YEAR = str(DAY.year)
SUBSIDY = ("funding", "draft", "--community", "陈家新苑", "--kind", "operation", "--item", "YY01",
           "--title", "物业服务补贴", "--year", YEAR)


def test_funding_workflow_through_the_cli(funding_cli, tmp_path):
    cli = funding_cli
    drafted = cli(*SUBSIDY, "--amount", "1,440")  # 360元 × 4 households, the standard exactly
    assert drafted.exit_code == 0, drafted.output
    assert "资格审查：符合申报条件" in drafted.output and "✓ 该安置社区至" in drafted.output
    project = re.search(r"项目 (\d+)", drafted.output)[1]
    assert f"resettle funding submit {project}" in drafted.output
    assert "等待区房管局核定" in cli("funding", "submit", project).output
    verified = cli("funding", "verify", project, "--amount", "1000.01")
    assert verified.exit_code == 0 and "区级承担 50%：500.01元，乡镇承担 500.00元" in verified.output
    approved = cli("funding", "approve", project, "--amount", "1000.01", "--version", "3")
    assert approved.exit_code == 0, approved.output
    assert "已审定 1,000.01元" in approved.output and "剩余 29,999,499.99元" in approved.output
    assert cli("funding", "show", project, "--sheet", str(tmp_path / "s.pdf")).exit_code == 0
    sheet = pdf_text(tmp_path / "s.pdf")
    assert "社区治理项目审定单" in sheet and "500.01元" in sheet and "500.00元" in sheet and "50%" in sheet
    done = cli("funding", "complete", project, "--spent", "999", "--on", DAY.isoformat())
    assert done.exit_code == 0 and "实际支出 999.00元" in done.output

    shown = json.loads(cli("funding", "show", project, "--format", "json").output)
    assert shown["qualification"]["qualifies"] is True and shown["qualification"]["reasons"]
    assert [h["action"] for h in shown["history"]] == ["funding.draft", "funding.submitted", "funding.verified",
                                                       "funding.approved", "funding.completed"]
    assert all({"at", "actor", "action", "changes"} <= h.keys() for h in shown["history"])
    table = cli("funding", "show", project).output
    assert "已验收" in table and "✓ 不超过年度标准每户360.00元×已入住4户=1,440.00元" in table and "审定" in table

    listed = json.loads(cli("funding", "list", "--year", YEAR, "--format", "json").output)
    assert len(listed) == 1
    row = listed[0]
    assert {"id", "township", "community", "kind", "status", "requested", "verified", "approved", "district_share",
            "township_share", "ratio"} <= row.keys()
    assert (row["id"], row["township"], row["community"], row["kind"], row["status"]) == (
        int(project), "陈家镇", "陈家新苑", "operation", "completed")
    assert (row["requested"], row["verified"], row["approved"], row["district_share"], row["township_share"],
            row["ratio"]) == (144_000, 100_001, 100_001, 50_001, 50_000, 0.5)
    csv_rows = cli("funding", "list", "--year", YEAR, "--format", "csv").output.strip().splitlines()
    assert csv_rows[0].startswith("编号,年度,乡镇")
    assert csv_rows[1].endswith(",1440.00,1000.01,1000.01,500.01,500.00,50%")
    assert "已验收" in cli("funding", "list", "--year", YEAR, "--township", "陈家镇").output
    assert json.loads(cli("funding", "list", "--year", YEAR, "--status", "draft", "--format", "json").output) == []

    summary = json.loads(cli("funding", "summary", "--year", YEAR, "--format", "json").output)
    assert summary["rows"] == [{"township": "陈家镇", "township_code": "310151110", "kind": "operation",
                                "kind_label": "日常运营管理类", "projects": 1, "approved": 100_001,
                                "district_share": 50_001, "township_share": 50_000}]
    assert (summary["envelope"], summary["committed"]) == (3_000_000_000, 50_001)
    assert summary["total"]["district_share"] == summary["committed"]
    assert "合计" in cli("funding", "summary", "--year", YEAR).output
    saved = cli("funding", "summary", "--year", YEAR, "--out", str(tmp_path / "s.xlsx"))
    assert saved.exit_code == 0 and "1 个已审定项目" in saved.output
    frame = pd.read_excel(tmp_path / "s.xlsx", engine="calamine")
    assert frame["区级承担（元）"].tolist() == [500.01, 500.01] and frame["乡镇承担（元）"].tolist() == [500.0, 500.0]
    both = cli("funding", "summary", "--year", YEAR, "--format", "json", "--out", str(tmp_path / "s.pdf"))
    assert json.loads(both.stdout) == summary and "已生成" in both.stderr
    assert "各乡镇区级与乡镇承担金额" in pdf_text(tmp_path / "s.pdf")


def test_funding_refusals_in_chinese(funding_cli, tmp_path, monkeypatch):
    cli = funding_cli
    over = cli(*SUBSIDY, "--amount", "1440.01")
    assert over.exit_code == 0 and "资格审查：不符合申报条件" in over.output  # a draft is kept, with the reasons
    assert "✗ 申请金额超过年度标准每户360.00元×已入住4户=1,440.00元" in over.output
    project = re.search(r"项目 (\d+)", over.output)[1]
    refused = cli("funding", "submit", project)
    assert refused.exit_code == 1
    assert refused.output.strip() == "错误：项目不符合申报条件：申请金额超过年度标准每户360.00元×已入住4户=1,440.00元"
    three = cli("funding", "update", project, "--version", "1", "--amount", "1439.999")
    assert three.exit_code == 2 and "申请金额“1439.999”应为以元为单位、最多两位小数的数字" in three.output
    fixed = cli("funding", "update", project, "--version", "1", "--amount", "1440")
    assert fixed.exit_code == 0 and "符合申报条件" in fixed.output and "（版本 2）" in fixed.output
    stale = cli("funding", "update", project, "--version", "1", "--amount", "1")
    assert stale.exit_code == 1 and "刚被其他人修改过" in stale.output
    draft_sheet = cli("funding", "show", project, "--sheet", str(tmp_path / "d.pdf"))
    assert draft_sheet.exit_code == 1 and "尚未经核定部门核定，没有可审定的金额，不能出具审定单" in draft_sheet.output
    assert cli("funding", "show", project, "--sheet", "d.xlsx").exit_code == 2
    assert cli("funding", "summary", "--year", YEAR, "--out", "s.csv").exit_code == 2
    assert cli("funding", "verify", project, "--amount", "1").output.strip() == "错误：项目“草稿”，不能核定"
    assert "找不到编号为999的项目" in cli("funding", "show", "999").output

    from resettle.policy import load_policy
    monkeypatch.setitem(load_policy().funding.envelopes, int(YEAR), 50_000)  # 500元 of district money
    cli("funding", "submit", project)
    assert cli("funding", "verify", project, "--amount", "1440").exit_code == 0
    preview = cli("funding", "show", project, "--sheet", str(tmp_path / "p.pdf"))
    assert preview.exit_code == 0 and "不足以承担本项目区级部分" in pdf_text(tmp_path / "p.pdf")
    broke = cli("funding", "approve", project, "--amount", "1440")
    assert broke.exit_code == 1
    assert broke.output.strip() == (f"错误：{YEAR}年区级资金总额500.00元已承诺0.00元，剩余500.00元，"
                                    "不足本项目区级承担的720.00元")
    assert cli("funding", "approve", project, "--amount", "1000").exit_code == 0
    assert "剩余0.00元" in cli("funding", "summary", "--year", YEAR).output.replace(" ", "")


def test_case_by_case_through_the_cli(funding_cli):
    cli = funding_cli

    async def seed():
        async with open_db(cli.db_url):
            return await desk_problem("陈家新苑", "缺少电动自行车充电桩", HEAD, make_id("19600101", 2))
    problem = asyncio.run(seed())
    meeting = ("--deliberation-body", "居民代表会议", "--deliberation-date", f"{YEAR}-01-15", "--attendance", "21",
               "--votes-for", "15", "--votes-against", "2")
    where = ("funding", "draft", "--community", "陈家新苑", "--kind", "case_by_case", "--title", "充电桩",
             "--year", YEAR, "--amount", "120000", "--department", "区民政局")
    lonely = cli(*where, *meeting)
    assert "✗ 一事一议须关联至少一个三合署问题清单中的问题作为依据" in lonely.output
    drafted = json.loads(cli(*where, *meeting, "--problem", str(problem), "--format", "json").output)
    assert drafted["qualification"]["qualifies"] and drafted["kind"] == "case_by_case"
    assert drafted["evidence"]["households"] == 2 and drafted["deliberation"]["votes_for"] == 15
    project = str(drafted["id"])
    cli("funding", "submit", project)
    returned = cli("funding", "return", project, "--reason", "请补充报价单")
    assert returned.exit_code == 0 and "已退回" in returned.output and "请补充报价单" in returned.output
    assert "退回原因：请补充报价单" in cli("funding", "show", project).output
    assert "写明原因" in cli("funding", "reject", project, "--reason", " ").output
    cli("funding", "submit", project)
    cli("funding", "verify", project, "--amount", "100000")
    rejected = cli("funding", "reject", project, "--reason", "与已建项目重复")
    assert rejected.exit_code == 0 and "未通过" in rejected.output
    shown = json.loads(cli("funding", "show", project, "--format", "json").output)
    assert shown["status"] == "rejected" and shown["reason"] == "与已建项目重复"
    assert [h["action"] for h in shown["history"]][-1] == "funding.rejected"


def test_help_names_every_area_without_loading_it():
    """`resettle --help` lists the areas from cli.main.AREAS, whose short help must be what each
    group says of itself, and loads none of them (no pandas, reportlab or ORM at start)."""
    import subprocess
    import sys

    import click

    from cli.main import AREAS

    for name, (_, _, short) in AREAS.items():
        assert main.get_command(click.Context(main), name).get_short_help_str(limit=200) == short, name
    probe = ("import sys; from click.testing import CliRunner; from cli.main import main; "
             "out = CliRunner().invoke(main, ['--help']).output; "
             "print(sorted(m for m in ('pandas', 'reportlab', 'tortoise', 'services') if m in sys.modules)); "
             "print(out)")
    shown = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True).stdout
    assert shown.startswith("[]\n") and all(short in shown for _, _, short in AREAS.values())


@pytest.mark.parametrize("command", [["users", "list"], ["registry", "stats"], ["registry", "show", "A-001"],
                                     ["ledger", "handoffs"], ["ledger", "show", "1"]])
def test_a_command_that_reads_no_sheet_loads_no_sheet_or_paper_library(command, tmp_path):
    """The registry's, ledger's and accounts' commands that read no sheet and print no paper pay
    for neither pandas and pyarrow nor reportlab and openpyxl: they start in what tortoise and the
    models cost. (The desk's and funding's groups still load their papers' modules.)"""
    import subprocess
    import sys

    probe = ("import sys; from click.testing import CliRunner; from cli.main import main; "
             f"result = CliRunner().invoke(main, {command!r} + ['--db', sys.argv[1]]); "
             "print(sorted(m for m in ('pandas', 'pyarrow', 'numpy', 'reportlab', 'openpyxl', 'python_calamine') "
             "if m in sys.modules)); print(result.exit_code, result.output)")
    shown = subprocess.run([sys.executable, "-c", probe, f"sqlite:///{tmp_path / 'r.db'}"], capture_output=True,
                           text=True, check=True).stdout
    assert shown.startswith("[]\n"), shown
    assert shown.split("\n")[1].split()[0] in ("0", "1") and "Usage:" not in shown, shown  # it ran
