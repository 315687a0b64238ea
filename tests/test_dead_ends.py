"""The dead ends of issue 14 that one page shows: each test failed before its fix."""

from __future__ import annotations

import io
import re
from urllib.parse import quote

import openpyxl
import pytest

from resettle.models import Household
from services import desk, ledger
from tests.sheets import make_id, person, write_csv
from tests.test_web import ADMIN, IN_SCOPE, PERSON, csrf_of, log_in, make_site
from tests.work import work

HOUSEHOLD = f"/registry/households/{IN_SCOPE}"


@pytest.fixture
async def site(aiohttp_client, db_url, tmp_path):
    return await make_site(aiohttp_client, db_url, tmp_path)


def _step_forms(page: str) -> dict[str, str]:
    """The household page's step forms: step → the form's markup."""
    return {m[1]: m[0] for m in re.finditer(r'<form[^>]*id="step-(\w+)".*?</form>', page, re.S)}


async def _record(client, event: str, on: str, **more) -> None:
    token = await csrf_of(client, HOUSEHOLD)
    version = re.search(r'name="version" value="(\d+)"', await (await client.get(HOUSEHOLD)).text())[1]
    response = await client.post(f"{HOUSEHOLD}/events", allow_redirects=False,
                                 data={"csrf": token, "event": event, "on": on, "version": version, **more})
    assert response.status == 303, await response.text()


async def test_a_household_is_offered_only_the_steps_its_state_allows(site):
    await log_in(site, "township")
    forms = _step_forms(await (await site.get(HOUSEHOLD)).text())
    assert set(forms) == {"handed_over", "withdrawn", "hukou_moved"}
    assert 'name="unit"' not in forms["handed_over"] and 'name="reason"' not in forms["handed_over"]
    assert 'name="reason"' in forms["withdrawn"] and 'name="person"' in forms["hukou_moved"]
    await _record(site, "handed_over", "2024-01-02")
    assert set(_step_forms(await (await site.get(HOUSEHOLD)).text())) == {"allocated", "withdrawn", "hukou_moved"}
    await _record(site, "allocated", "2024-01-03", unit="3号101")
    await _record(site, "moved_in", "2024-01-04")
    page = await (await site.get(HOUSEHOLD)).text()
    forms = _step_forms(page)
    # moved in: no 交房, 分房, 入住 or 退出, no 房号 or 退出原因 field; the members' hukou may still move
    steps = page.split("<h2>登记</h2>")[1].split("<h2>操作记录</h2>")[0]  # (a 分户 below asks its own 房号)
    assert set(forms) == {"hukou_moved"} and 'name="unit"' not in steps and 'name="reason"' not in steps
    assert "登记交房" not in steps


async def test_a_household_history_reads_in_words(site):
    await log_in(site, "township")
    await _record(site, "handed_over", "2024-01-02")
    await _record(site, "allocated", "2024-01-03", unit="3号101")
    page = await (await site.get(HOUSEHOLD)).text()
    history = page.split("操作记录")[1]
    assert "township用户（陈家镇）" in history and "登记分房" in history and "户 A-001" in history
    assert "状态：已交房 → 已分房" in history and "分房日期：2024年1月3日" in history and "房号：3号101" in history
    for raw in ("web:", "allocated", "handed_over", "None", "registry.", "_on"):
        assert raw not in history, raw


async def test_a_household_change_reads_in_words(site):
    from services import household_changes
    from services.household_changes_contracts import Change

    await household_changes.record_event(work(ADMIN), IN_SCOPE, Change(
        kind="birth", on="2024-02-01", name="小宝", id_number=make_id("20240201", 7), relation="孙女"))
    await log_in(site, "township")
    page = await (await site.get(HOUSEHOLD)).text()
    history = page.split("<h2>操作记录</h2>")[1].split("</table>")[0]
    assert "登记出生" in history and "涉及成员：小宝" in history and "在户人数：" in history
    assert "日期：2024年2月1日" in history
    for raw in ("birth", "counts", "member count", "persons", "event", "None"):
        assert raw not in history, raw


async def test_the_audit_page_reads_in_words(site):
    await log_in(site, "township")
    await _record(site, "handed_over", "2024-01-02")
    await log_in(site, "admin")
    page = await (await site.get("/audit")).text()
    log = re.search(r'<table id="history">.*?</table>', page, re.S)[0]
    assert "township用户（陈家镇）" in log and "登记交房" in log and "交房日期：2024年1月2日" in log
    # the import's villages and communities, named with their township
    assert "导入签约交房表" in log and "乡镇：陈家镇" in log and "名称：陈家新苑" in log
    for raw in ("web:", "None", "township_code", "registry.", "handed_over", "{", "310151"):
        assert raw not in log, raw
    # a login finds its user's events, whatever the channel
    assert "登记交房" in await (await site.get("/audit?actor=township")).text()
    # an action filtered by its code is named in the picker too
    assert ">登记交房</option>" in await (await site.get("/audit?action=registry.handed_over")).text()


async def _preview(client, rows) -> str:
    """Upload a sheet and wait for its preview: the upload's id."""
    token = await csrf_of(client, "/registry/import")
    with write_csv(client.tmp / "up.csv", rows).open("rb") as handle:
        text = await (await client.post("/registry/import", data={"csrf": token, "sheet": handle})).text()
    return re.search(r"/registry/import/([\w-]+)/confirm", text)[1]


async def test_a_rejected_import_offers_to_skip_on_the_same_upload(site):
    await log_in(site, "township")
    upload = await _preview(site, [person("N-100", "新甲", make_id("19550505", 5), origin="陈家镇"),
                                   person("N-101", "", make_id("19560606", 6), origin="陈家镇")])
    token = await csrf_of(site, "/registry/import")
    page = await (await site.post(f"/registry/import/{upload}/confirm", data={"csrf": token})).text()
    assert "未写入任何数据" in page and "勾选" not in page  # no box to tick that is not there
    form = re.search(r'<form method="post" action="(/registry/import/[\w-]+/confirm)"[^>]*id="skip">(.*?)</form>',
                     page, re.S)
    assert form[1] == f"/registry/import/{upload}/confirm"
    fields = dict(re.findall(r'<input type="hidden" name="(\w+)" value="([^"]*)"', form[2]))
    assert fields["skip_invalid"] == "1" and "跳过有错误的 1 户" in form[2]
    done = await (await site.post(form[1], data=fields)).text()
    assert "已导入没有错误的户" in done
    assert await Household.exists(agreement_no="N-100") and not await Household.exists(agreement_no="N-101")


async def test_the_error_report_is_an_xlsx_with_a_chinese_sheet(site):
    await log_in(site, "township")
    upload = await _preview(site, [person("N-101", "", make_id("19560606", 6), origin="陈家镇")])
    report = await site.get(f"/registry/import/{upload}/errors.xlsx")
    assert report.status == 200
    assert report.headers["Content-Type"] == "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
    # named for the uploaded sheet: up.csv → up-问题报告.xlsx
    assert report.headers["Content-Disposition"] == f"attachment; filename*=UTF-8''{quote('up-问题报告.xlsx')}"
    book = openpyxl.load_workbook(io.BytesIO(await report.read()), read_only=True)
    assert book.sheetnames == ["问题报告"]
    assert [c.value for c in next(book["问题报告"].iter_rows(max_row=1))][:3] == ["行号", "协议编号", "列"]


async def test_an_admins_desk_picker_opens_on_a_community_with_work(site):
    await desk.intake(work(ADMIN), "陈家新苑", channel="统一接待", category="物业维修", text="电梯坏了",
                      resident=PERSON[IN_SCOPE])
    await log_in(site, "admin")
    for path in ("/desk", "/desk/intake", "/desk/meeting", "/desk/lists"):
        response = await site.get(path)
        page = await response.text()
        assert response.status == 200 and "请选择安置社区" in page, path
        options = re.findall(r'<option value="([^"]+)"\s*(selected)?>([^<]+)</option>', page)
        assert len(options) == 3, path  # every community of the district
        assert [(key, label) for key, selected, label in options if selected] == [
            ("陈家镇/陈家新苑", "陈家镇 · 陈家新苑（在办1件）")], path
        # the picker leads to the page of the community picked
        assert (await site.get(f"{path}?community=陈家镇/陈家新苑")).status == 200


async def test_a_persons_ledger_history_reads_in_words(site):
    await ledger.set_tags(work(ADMIN), PERSON[IN_SCOPE], "低保", "新认定低保")  # opens the 低保 line
    await log_in(site, "township")
    page = await (await site.get(f"/ledger/persons/{PERSON[IN_SCOPE]}")).text()
    said = [c for c in re.findall(r'<td class="changes" data-label="经过">(.*?)</td>', page, re.S) if c.strip()]
    assert said and any("建立事项" in cell and "原因：新认定低保" in cell for cell in said), said
    for raw in ("ledger.", "T", "+00:00", "matter_code", "None"):
        assert not any(raw in cell for cell in said), raw
