"""Requests as an attacker or a careless client sends them (issue 12): bodies bounded before they
are read, partial updates that keep what they leave out, private and short-lived uploads, and
hostile query values, file names and IDs answered with a Chinese 400, never a 500."""

import asyncio
import io
import json
import logging
import os
import re
import stat
import time
import unicodedata
from urllib.parse import unquote

import aiohttp
import pytest
from aiohttp import web
from aiohttp.payload import AsyncIterablePayload

from resettle.models import AuditEvent
from services import audit, desk, funding
from tests.sheets import make_id, person, write_csv
from tests.test_web import ADMIN, HEAD_ID, IN_SCOPE, csrf_of, log_in, make_site
from tests.work import DAY, work
from web import keys, logs, registry_api, registry_pages, uploads
from web.app import init_app

MB = 1024 * 1024


@pytest.fixture
async def site(aiohttp_client, db_url, tmp_path):
    return await make_site(aiohttp_client, db_url, tmp_path)


def auth(site, role="admin") -> dict:
    return {"Authorization": f"Bearer {site.tokens[role]}"}


async def flood(total: int, sent: list):
    """`total` bytes of a form field, chunk by chunk, counting what the client managed to send."""
    yield b"csrf=x&login="
    chunk = b"a" * (64 * 1024)
    for _ in range(total // len(chunk)):
        sent.append(len(chunk))
        yield chunk


def in_folder(site) -> list:
    return sorted(p.relative_to(site.app[keys.UPLOADS]) for p in site.app[keys.UPLOADS].rglob("*"))


# ---------------------------------------------------------------- bodies bounded before they are read


async def test_a_huge_anonymous_post_to_login_is_refused_unread(site):
    started, sent = time.monotonic(), []
    response = await site.post("/login", data=flood(50 * MB, sent),
                               headers={"Content-Type": "application/x-www-form-urlencoded"})
    assert response.status == 413 and "太大" in await response.text()
    declared = await site.post("/login", data=b"login=" + b"a" * (64 * 1024),
                               headers={"Content-Type": "application/x-www-form-urlencoded"})
    assert declared.status == 413
    assert time.monotonic() - started < 10
    assert (await site.get("/healthz")).status == 200  # the server still answers


async def test_a_huge_anonymous_post_to_a_page_goes_to_login_unread(site, monkeypatch):
    read = []
    real = web.BaseRequest.read

    async def spy(request):  # what request.post() and request.json() read through
        read.append(request.path)
        return await real(request)
    monkeypatch.setattr(web.BaseRequest, "read", spy)
    for body in (flood(50 * MB, []), b"csrf=x&event=" + b"a" * (2 * MB)):
        response = await site.post("/registry/households/A-001/events", data=body, allow_redirects=False,
                                   headers={"Content-Type": "application/x-www-form-urlencoded"})
        assert response.status == 302 and response.headers["Location"] == "/login"
    # a public path that takes no POST: 405 with the body unread
    response = await site.post("/healthz", data=flood(5 * MB, []),
                               headers={"Content-Type": "application/x-www-form-urlencoded"})
    assert response.status == 405 and read == []
    assert (await site.get("/healthz")).status == 200


async def test_forms_and_json_have_a_small_limit(site):
    await log_in(site, "office")
    token = await csrf_of(site, "/registry/households/A-001")
    form = await site.post("/registry/households/A-001/events", data={"csrf": token, "reason": "长" * MB})
    assert form.status == 413 and "提交的内容太大（上限 1 MB）" in await form.text()
    for body in (json.dumps({"event": "withdrawn", "reason": "x" * (2 * MB)}).encode(), flood(3 * MB, [])):
        response = await site.post("/api/v1/households/A-001/events", data=body, headers={
            **auth(site), "Content-Type": "application/json"})
        assert response.status == 413
        assert (await response.json())["error"]["message"] == "提交的内容太大（上限 1 MB），未作处理"
    # the biggest real form still fits: the desk's meeting page with 20 units of 50 attendees
    # each, both lists, and a decision of the longest text the desk keeps
    await log_in(site, "desk")
    page = await site.get("/desk/meeting")
    fields = dict(re.findall(r'name="([^"]+)" value="([^"]*)"', await page.text()))
    names = "、".join(["欧阳明华"] * 50)
    form = {**fields, "decisions": "决" * desk.TEXT_MAX,
            **{f"{kind}:单位{i}": names for kind in ("reception", "meeting") for i in range(20)}}
    response = await site.post("/desk/meeting", data=form, allow_redirects=False)
    assert response.status in (303, 400) and "太大" not in await response.text()


async def test_an_upload_over_the_sheet_limit_is_refused_and_nothing_stays(site, monkeypatch):
    monkeypatch.setattr(registry_api.imports, "body_limit", 100_000)
    monkeypatch.setattr(registry_pages.import_upload, "body_limit", 100_000)
    rows = [person(f"N-{i}", "某", make_id("19580808", i % 999 + 1)) for i in range(1500)]
    sheet = write_csv(site.tmp / "big.csv", rows)
    assert sheet.stat().st_size > 100_000

    async def streamed():  # no Content-Length: only counting the bytes written can stop it
        with sheet.open("rb") as handle:
            while chunk := handle.read(8192):
                yield chunk
    with aiohttp.MultipartWriter("form-data") as body:
        part = body.append_payload(AsyncIterablePayload(streamed()))
        part.set_content_disposition("form-data", name="sheet", filename="big.csv")
    response = await site.post("/api/v1/imports", data=body, headers=auth(site, "office"))
    assert response.status == 413 and "上传的文件太大" in (await response.json())["error"]["message"]
    with sheet.open("rb") as handle:  # declared length: refused before reading
        response = await site.post("/api/v1/imports", data={"sheet": handle}, headers=auth(site, "office"))
    assert response.status == 413
    await log_in(site, "office")
    token = await csrf_of(site, "/registry/import")
    with sheet.open("rb") as handle:
        response = await site.post("/registry/import", data={"csrf": token, "sheet": handle})
    assert response.status == 413 and "太大" in await response.text()
    assert in_folder(site) == []


async def test_an_api_upload_takes_one_sheet_and_small_options_only(site, monkeypatch):
    """Per-part bounds hold the whole body: a second sheet, a huge option or an unknown part is
    refused at once, and nothing is left on disk."""
    monkeypatch.setattr(registry_api.imports, "body_limit", 100_000)
    sheet = write_csv(site.tmp / "ok.csv", ROWS[:1]).read_bytes()
    async def endless():  # no Content-Length: only the bounds of each part can stop it
        yield sheet
        for _ in range(50 * MB // 65536):
            yield b"t" * 65536
    for name, words in (("sheet", "只能出现一次"), ("dry_run", "只能是 true 或 false"), ("junk", "不认识的字段")):
        with aiohttp.MultipartWriter("form-data") as body:
            body.append(sheet).set_content_disposition("form-data", name="sheet", filename="a.csv")
            part = body.append_payload(AsyncIterablePayload(endless()))
            part.set_content_disposition("form-data", name=name, **({"filename": "b.csv"} if name == "sheet" else {}))
        response = await site.post("/api/v1/imports", data=body, headers=auth(site, "office"))
        assert response.status == 400 and words in (await response.json())["error"]["message"], words
    with (site.tmp / "ok.csv").open("rb") as handle:
        response = await site.post("/api/v1/imports", data={"sheet": handle, "dry_run": "true"},
                                   headers=auth(site, "office"))
    assert response.status == 200 and (await response.json())["outcome"] == "preview"
    assert in_folder(site) == []


# ---------------------------------------------------------------- PATCH keeps what it leaves out


async def test_patch_of_a_problem_keeps_the_fields_left_out(site):
    demand = await desk.intake(work(ADMIN), "陈家新苑", channel="统一接待", category="物业维修", text="电梯坏了",
                               resident=HEAD_ID)
    problem = await desk.link(work(ADMIN), [demand["id"]], title="电梯")
    problem = await desk.edit_problem(work(ADMIN), problem["id"], title="电梯", description="3号楼两部都坏",
                                      version=problem["version"])
    url = f"/api/v1/desk/problems/{problem['id']}"
    response = await site.patch(url, json={"title": "3号楼电梯", "version": problem["version"]}, headers=auth(site))
    saved = await response.json()
    assert response.status == 200 and saved["title"] == "3号楼电梯" and saved["description"] == "3号楼两部都坏"
    response = await site.patch(url, json={"description": "已报修", "version": saved["version"]}, headers=auth(site))
    saved = await response.json()
    assert response.status == 200 and saved["title"] == "3号楼电梯" and saved["description"] == "已报修"


async def test_patch_of_a_funding_project_keeps_the_fields_left_out(site):
    project = await funding.draft(work(ADMIN), community="陈家新苑", kind="case_by_case", title="路灯",
                                  year=DAY.year, requested=100_000, description="十盏",
                                  department="区民政局")
    response = await site.patch(f"/api/v1/funding/projects/{project['id']}",
                                json={"title": "路灯维修", "version": project["version"]}, headers=auth(site))
    saved = await response.json()
    assert response.status == 200 and saved["title"] == "路灯维修"
    assert {k: saved[k] for k in ("description", "requested", "department", "kind", "year")} == {
        k: project[k] for k in ("description", "requested", "department", "kind", "year")}


# ---------------------------------------------------------------- uploads: private, short-lived


async def _preview(site, rows, name="up.csv"):
    token = await csrf_of(site, "/registry/import")
    path = site.tmp / name
    if isinstance(rows, bytes):
        path.write_bytes(rows)
    else:
        write_csv(path, rows)
    with path.open("rb") as handle:
        response = await site.post("/registry/import", data={"csrf": token, "sheet": handle})
    return response, token


ROWS = [person("N-100", "新甲", make_id("19550505", 5), origin="陈家镇", community="陈家新苑"),
        person("N-101", "", make_id("19560606", 6), origin="陈家镇", community="陈家新苑")]


async def test_uploads_are_private_whatever_the_umask(aiohttp_client, db_url, tmp_path):
    old = os.umask(0)
    try:
        client = await make_site(aiohttp_client, db_url, tmp_path)
        await log_in(client, "office")
        response, _ = await _preview(client, ROWS)
        assert response.status == 200
    finally:
        os.umask(old)
    folder = client.app[keys.UPLOADS]
    assert stat.S_IMODE(folder.stat().st_mode) == 0o700
    found = list(folder.rglob("*"))
    assert found and all(stat.S_IMODE(p.stat().st_mode) == (0o700 if p.is_dir() else 0o600) for p in found)


def test_init_app_honours_resettle_uploads(monkeypatch, tmp_path):
    monkeypatch.setenv("RESETTLE_UPLOADS", str(tmp_path / "site-uploads"))
    app = init_app("sqlite:///:memory:", secret=b"k" * 32)
    assert app[keys.UPLOADS] == tmp_path / "site-uploads"
    assert stat.S_IMODE((tmp_path / "site-uploads").stat().st_mode) == 0o700


def test_serve_honours_resettle_uploads(db_url, monkeypatch, tmp_path):
    from click.testing import CliRunner

    from cli.main import main

    served = []
    monkeypatch.setattr(web, "run_app", lambda app, **kwargs: served.append(app))  # aiohttp's, not ours
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("RESETTLE_UPLOADS", str(tmp_path / "site-uploads"))
    result = CliRunner().invoke(main, ["serve", "--db", db_url], catch_exceptions=False)
    assert result.exit_code == 0 and served[0][keys.UPLOADS] == tmp_path / "site-uploads"


async def test_a_confirmed_upload_is_deleted_and_its_report_still_served(site):
    await log_in(site, "office")
    response, token = await _preview(site, ROWS)
    upload = re.search(r"/registry/import/([\w-]+)/confirm", await response.text())[1]
    rejected = await site.post(f"/registry/import/{upload}/confirm", data={"csrf": token})
    assert "未写入任何数据" in await rejected.text()  # nothing written: the sheet stays for another try
    assert (site.app[keys.UPLOADS] / upload / "up.csv").exists()
    done = await site.post(f"/registry/import/{upload}/confirm", data={"csrf": token, "skip_invalid": "1"})
    assert "已导入没有错误的户" in await done.text()
    assert not (site.app[keys.UPLOADS] / upload / "up.csv").exists()
    report = await site.get(f"/registry/import/{upload}/errors.xlsx")
    assert report.status == 200 and (await report.read())[:2] == b"PK"
    again = await site.post(f"/registry/import/{upload}/confirm", data={"csrf": token, "skip_invalid": "1"})
    assert again.status == 404
    response, token = await _preview(site, ROWS[:1], name="clean.csv")  # no problem, no report: all gone
    upload = re.search(r"/registry/import/([\w-]+)/confirm", await response.text())[1]
    done = await site.post(f"/registry/import/{upload}/confirm", data={"csrf": token})
    assert done.status == 200 and not (site.app[keys.UPLOADS] / upload).exists()


async def test_a_refused_upload_is_deleted(site):
    await log_in(site, "office")
    response, _ = await _preview(site, b"PK\x03\x04 not really a workbook", name="broken.xlsx")
    assert response.status == 400 and "服务器内部错误" not in await response.text()
    assert in_folder(site) == []
    response, _ = await _preview(site, b"a,b\n", name="sheet.exe")
    assert response.status == 400 and "只支持 .xlsx 和 .csv" in await response.text()
    assert in_folder(site) == []
    response = await site.post("/api/v1/imports", data={"sheet": io.BytesIO(b"PK\x03\x04 broken")},
                               headers=auth(site, "office"))
    assert response.status in (400, 422) and in_folder(site) == []


async def test_abandoned_uploads_are_swept_at_start_up_and_by_age(aiohttp_client, db_url, tmp_path):
    folder = uploads.prepare(tmp_path / "uploads")
    old, _ = uploads._target(folder, ADMIN, "old.csv")
    fresh, _ = uploads._target(folder, ADMIN, "fresh.csv")
    long_ago = time.time() - uploads.ABANDONED - 60
    os.utime(folder / old / "meta.json", (long_ago, long_ago))
    await make_site(aiohttp_client, db_url, tmp_path)  # the same folder; start-up sweeps it
    assert not (folder / old).exists() and (folder / fresh).exists()
    assert uploads.sweep(folder, now=time.time() + uploads.ABANDONED + 60) == 1
    assert not (folder / fresh).exists()


# ---------------------------------------------------------------- hostile values: 400, never 500


async def test_huge_page_numbers_and_far_dates_are_refused_in_chinese(site):
    await log_in(site, "admin")
    for path in ("/registry/households?page=99999999999999999999", "/ledger/inbox?page=99999999999999999999",
                 "/audit?page=99999999999999999999", "/registry/households?page=abc",
                 "/audit?since=0001-01-01&until=9999-12-31", "/audit?until=9999-12-31"):
        response = await site.get(path)
        assert response.status == 400 and ("页码" in await response.text() or "日期" in await response.text()), path
    assert (await site.get("/audit?since=2024-01-01&until=2099-12-31&page=1")).status == 200


async def test_a_recorded_step_refuses_far_dates_and_huge_versions(site):
    for body in ({"event": "handed_over", "on": "0001-01-01"}, {"event": "handed_over", "on": "9999-12-31"},
                 {"event": "handed_over", "version": "99999999999999999999"}):
        response = await site.post("/api/v1/households/A-001/events", json=body, headers=auth(site))
        assert response.status == 400, body


def _multipart(fields: dict, sheet: bytes, disposition: str) -> tuple[bytes, dict]:
    """A multipart body written by hand: a client library would not send a NUL in a name."""
    parts = [f'--b\r\nContent-Disposition: form-data; name="{k}"\r\n\r\n{v}\r\n'.encode() for k, v in fields.items()]
    parts.append(f"--b\r\nContent-Disposition: form-data; name=\"sheet\"; {disposition}\r\n"
                 "Content-Type: text/csv\r\n\r\n".encode() + sheet + b"\r\n--b--\r\n")
    return b"".join(parts), {"Content-Type": "multipart/form-data; boundary=b"}


@pytest.mark.parametrize("disposition, words", [
    ('filename="' + "表" * 90 + '.csv"', "文件名太长"), ("filename*=UTF-8''" + "%E8%A1%A8" * 90 + ".csv", "文件名太长"),
    ("filename*=UTF-8''a%00b.csv", "控制字符"), ("filename*=UTF-8''a%0Db.csv", "控制字符")])
async def test_hostile_upload_file_names_are_refused_in_chinese(site, disposition, words):
    sheet = write_csv(site.tmp / "ok.csv", ROWS[:1]).read_bytes()
    body, headers = _multipart({}, sheet, disposition)
    response = await site.post("/api/v1/imports", data=body, headers={**headers, **auth(site, "office")})
    assert response.status == 400 and words in (await response.json())["error"]["message"]
    await log_in(site, "office")
    body, headers = _multipart({"csrf": await csrf_of(site, "/registry/import")}, sheet, disposition)
    response = await site.post("/registry/import", data=body, headers=headers)
    assert response.status == 400 and words in await response.text()
    assert in_folder(site) == []


async def test_every_405_says_what_is_allowed(site):
    response = await site.put("/api/v1/households", headers=auth(site))
    assert response.status == 405 and "GET" in response.headers["Allow"]
    assert "不支持该请求方法" in (await response.json())["error"]["message"]
    await log_in(site, "admin")
    response = await site.delete("/registry/households")
    assert response.status == 405 and "GET" in response.headers["Allow"]


@pytest.mark.parametrize("path", ["/api/v1/households?limit=", "/api/v1/households?limit=abc",
                                  "/api/v1/funding/projects?year=x", "/api/v1/funding/projects?year=",
                                  "/api/v1/funding/projects?limit=", "/api/v1/funding/queue?offset=",
                                  "/api/v1/ledger/handoffs?overdue=abc", "/api/v1/ledger/handoffs?limit=",
                                  "/api/v1/desk/board?week="])
async def test_empty_or_mistyped_query_values_are_refused(site, path):
    response = await site.get(path, headers=auth(site))
    assert response.status == 400, path
    assert re.search("[\u4e00-\u9fff]", (await response.json())["error"]["message"])


async def test_intake_audit_records_what_was_taken(site):
    response = await site.post("/api/v1/desk/demands", json={
        "community": "陈家新苑", "channel": "统一接待", "category": "物业维修", "text": "楼道灯不亮",
        "name": "访客", "contact": "13900001111"}, headers=auth(site))
    assert response.status == 201
    event = await AuditEvent.get(action="desk.intake", object_id=str((await response.json())["id"]))
    changes = event.changes
    assert {k: changes[k][1] for k in ("channel", "category", "text", "resident_name")} == {
        "channel": "reception", "category": "物业维修", "text": "楼道灯不亮", "resident_name": "访客"}
    assert "community_id" in changes and "13900001111" not in json.dumps(changes)
    assert changes["contact"][1] == "139****1111"


async def test_the_audit_pager_link_is_url_encoded(site):
    for i in range(audit.PAGE_SIZE + 1):
        await AuditEvent.create(actor="web:a&b#c", action="test.pager", object_type="x", object_id=str(i), changes={})
    await log_in(site, "admin")
    text = await (await site.get("/audit?actor=web%3Aa%26b%23c")).text()
    link = re.search(r'<a href="\?([^"]+)">下一页', text)[1].replace("&amp;", "&")
    assert link == "actor=web%3Aa%26b%23c&page=2"
    assert "共 51 条" in await (await site.get(f"/audit?{link}")).text()


# ---------------------------------------------------------------- IDs in logs, however typed


def as_read(text: str) -> str:
    """What a reader of the log makes of a text: percent-decoded, full-width digits as digits."""
    return unicodedata.normalize("NFKC", unquote(text))


@pytest.mark.parametrize("typed", [
    HEAD_ID.translate(str.maketrans("0123456789", "０１２３４５６７８９")),  # full-width
    f"{HEAD_ID[:6]} {HEAD_ID[6:14]} {HEAD_ID[14:]}", f"{HEAD_ID[:6]}\u3000{HEAD_ID[6:]}",
    f"{HEAD_ID[:6]}-{HEAD_ID[6:]}", "138 1234 5678", "+86 138 1234 5678", "008613812345678"])
def test_scrub_folds_before_masking(typed):
    from urllib.parse import quote

    for text in (f"q={typed}", f"GET /registry/households?q={quote(typed)}", f"q={quote(typed).replace('%20', '+')}"):
        scrubbed = logs.scrub(text)
        digits = re.sub(r"\D", "", as_read(scrubbed))
        assert HEAD_ID[6:14] not in digits and "1234" + "5678" not in digits, scrubbed


async def test_ids_typed_full_width_or_spaced_are_masked_in_the_access_log(aiohttp_client, db_url, tmp_path):
    stream = io.StringIO()
    logs.configure(stream=stream)
    try:
        client = await make_site(aiohttp_client, db_url, tmp_path, access_log_class=logs.AccessLog,
                                 access_log=logging.getLogger("resettle.access"))
        await log_in(client, "office")
        full_width = HEAD_ID.translate(str.maketrans("0123456789", "０１２３４５６７８９"))
        for typed in (full_width, f"{HEAD_ID[:6]} {HEAD_ID[6:]}"):
            response = await client.get("/registry/households", params={"q": typed})
            assert response.status == 200 and IN_SCOPE in await response.text()  # found by search
        await asyncio.sleep(0)
    finally:
        logging.getLogger().handlers.clear()
    text = stream.getvalue()
    assert "/registry/households?q=" in text
    for line in text.splitlines():
        path = json.loads(line).get("path", "")
        if path.startswith("/registry/households?"):
            assert HEAD_ID[6:14] not in re.sub(r"\D", "", as_read(path)), path
