"""The `resettle` command through click's CliRunner, on the test database."""

import json
import re
from pathlib import Path

import pytest
from click.testing import CliRunner

from cli.main import main
from tests.sheets import make_id, person, write_csv

README = (Path(__file__).parent.parent / "README.md").read_text(encoding="utf-8")


@pytest.fixture
def cli(db_url, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
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
    for name, command in group.commands.items():
        if hasattr(command, "commands"):
            yield from _commands(command, (*prefix, name))
        else:
            yield " ".join((*prefix, name))


@pytest.mark.parametrize("command", sorted(_commands(main)))
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
