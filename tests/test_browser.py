"""End-to-end walks in headless Chromium (Debian's /usr/bin/chromium through Playwright): a
township liaison uploads a sheet with an error, reads it, imports with skip-invalid, sees the
counts change, and cannot find another township's household; a desk clerk takes a demand at the
reception table with the keyboard alone and links it to the problem it looks like; a finance
reviewer approves a project beside its split and prints its 审定单. Screenshots go to
$RESETTLE_SCREENSHOTS (default: the test's temporary folder)."""

import datetime as dt
import os
import shutil
from pathlib import Path

import pytest
from aiohttp import web

from resettle.actor import Actor
from resettle.rules.household import Status
from services import accounts, desk, funding, registry
from services.registry_import import import_sheets
from tests.sheets import make_id, person, write_csv
from tests.work import DAY, clock_on, work
from web.app import init_app

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
ARGS = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-sync",
        "--disable-background-networking", "--disable-component-update"]

if not Path(CHROMIUM).exists():
    if os.environ.get("CI"):
        raise RuntimeError("CI needs Debian's chromium for the browser test (.ci/run installs it)")
    pytest.skip("Debian's chromium is not installed here", allow_module_level=True)


@pytest.fixture
async def server(db_url, tmp_path):
    app = init_app(db_url, secret=b"b" * 32, uploads=tmp_path / "uploads", clock=clock_on(DAY))
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = site._server.sockets[0].getsockname()[1]
    admin = Actor("test:setup")
    await import_sheets(work(admin), [write_csv(tmp_path / "seed.csv", [
        person("A-001", "甲", make_id("19600101", 1), origin="城桥镇", dest="陈家镇", community="陈家新苑"),
        person("C-003", "丁", make_id("19800101", 4), origin="堡镇", dest="堡镇", community="堡新苑"),
    ])])
    await accounts.add_user(work(admin), "chenjia", "陈家镇信息员", "township", "browser-pass-1", township="陈家镇")
    await accounts.add_user(work(admin), "juwei", "陈家新苑居委会", "desk", "browser-pass-1", community="陈家新苑",
                            carriage="居委会")
    yield f"http://127.0.0.1:{port}"
    await runner.cleanup()


def screenshots(tmp_path: Path) -> Path:
    shots = Path(os.environ.get("RESETTLE_SCREENSHOTS") or tmp_path / "shots")
    shots.mkdir(parents=True, exist_ok=True)
    return shots


async def test_township_liaison_imports_in_the_browser(server, tmp_path):
    from playwright.async_api import async_playwright

    shots = screenshots(tmp_path)
    sheet = write_csv(tmp_path / "陈家镇签约交房表.csv", [
        person("N-100", "新户主", make_id("19550505", 5), origin="陈家镇", community="陈家新苑"),
        person("N-101", "", make_id("19560606", 6), origin="陈家镇", community="陈家新苑"),
    ])
    async with async_playwright() as playwright:
        browser = await playwright.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        page = await browser.new_page(viewport={"width": 390, "height": 844})  # a phone
        await page.goto(f"{server}/login")
        await page.fill("input[name=login]", "chenjia")
        await page.fill("input[name=password]", "browser-pass-1")
        await page.click("button[type=submit]")
        await page.wait_for_url(f"{server}/")
        await page.screenshot(path=shots / "1-home.png", full_page=True)

        await page.goto(f"{server}/registry/import")
        await page.set_input_files("input[name=sheet]", str(sheet))
        await page.click("text=上传并检查")
        await page.wait_for_selector("table.issues")
        issues = await page.locator("table.issues tbody").inner_text()
        assert "姓名不能为空" in issues
        await page.screenshot(path=shots / "2-preview.png", full_page=True)

        await page.check("input[name=skip_invalid]")
        await page.click("text=确认导入")
        await page.wait_for_selector("text=已导入没有错误的户")
        assert await page.locator("#households-added").inner_text() == "1"
        await page.screenshot(path=shots / "3-imported.png", full_page=True)

        await page.goto(f"{server}/")  # the home lists the liaison's imports, the latest first
        latest = await page.locator("main table tbody tr").first.inner_text()
        assert "写入导入" in latest and "已完成" in latest

        await page.goto(f"{server}/registry/stats")
        await page.wait_for_selector("figure.chart svg")
        await page.set_viewport_size({"width": 1280, "height": 900})
        await page.screenshot(path=shots / "4-stats.png", full_page=True)

        await page.goto(f"{server}/registry/households?q=C-003")
        assert "没有找到" in await page.locator("main").inner_text()
        response = await page.goto(f"{server}/registry/households/C-003")
        assert response.status == 404
        await page.screenshot(path=shots / "5-not-found.png", full_page=True)
        await browser.close()


async def test_desk_clerk_takes_a_demand_with_the_keyboard_alone(server, tmp_path):
    """Typing, Tab and Enter only: the resident by ID number, the default channel, a category, the
    text, submit; then the similar problem is offered with the focus on 并入此问题."""
    from playwright.async_api import async_playwright

    admin = Actor("test:setup")
    earlier = await desk.intake(work(admin), "陈家新苑", channel="电话", category="物业维修", text="3号楼电梯坏了",
                                name="邻居", contact="13812345678")
    problem = await desk.link(work(admin), [earlier["id"]], title="3号楼电梯故障")
    shots = screenshots(tmp_path)
    async with async_playwright() as playwright:
        browser = await playwright.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        page = await browser.new_page(viewport={"width": 1024, "height": 768})
        keyboard = page.keyboard

        async def focused() -> str:
            return await page.evaluate("document.activeElement.name || document.activeElement.textContent")

        await page.goto(f"{server}/login")
        await page.wait_for_selector("input[name=login]:focus")  # autofocus lands after the load event
        await keyboard.type("juwei")
        await keyboard.press("Tab")
        await keyboard.type("browser-pass-1")
        await keyboard.press("Enter")
        await page.wait_for_url(f"{server}/")
        await page.goto(f"{server}/desk/intake")
        await page.wait_for_selector("input[name=q]:focus")
        await keyboard.type(make_id("19600101", 1))  # 甲, by ID number
        await keyboard.press("Tab")
        assert await focused() == "contact"
        await keyboard.press("Tab")
        assert await focused() == "channel"  # 统一接待 already
        await keyboard.press("Tab")
        assert await focused() == "category"
        await keyboard.press("ArrowDown")  # the first category: 物业维修
        await keyboard.press("Tab")
        assert await focused() == "text"
        await keyboard.type("电梯又坏了，3号楼老人下不了楼")
        await keyboard.press("Tab")
        assert await focused() == "received_on"  # today unless typed
        await keyboard.press("Tab")
        assert await focused() == "受理"
        await page.screenshot(path=shots / "6-intake.png", full_page=True)
        await keyboard.press("Enter")

        await page.wait_for_url("**/desk/demands/*new=1*")
        assert "甲" in await page.locator("table.summary").inner_text()
        await page.wait_for_selector("button:focus")
        assert await focused() == "并入此问题"
        await page.screenshot(path=shots / "7-similar.png", full_page=True)
        await keyboard.press("Enter")
        await page.wait_for_url(f"**/desk/problems/{problem['id']}*")
        assert "2 条 / 1 户" in await page.locator("table.summary").inner_text()
        await page.screenshot(path=shots / "8-problem.png", full_page=True)
        await browser.close()


async def test_finance_approves_from_the_queue_and_prints_the_sheet(server, tmp_path):
    """The queue shows the split and the envelope; approving freezes the shares; the 审定单 is a PDF."""
    from playwright.async_api import async_playwright

    admin = Actor("test:setup")
    for step, on in ((Status.HANDED_OVER, "2024-01-02"), (Status.ALLOCATED, "2024-02-01"),
                     (Status.MOVED_IN, "2024-03-01")):
        await registry.record_step(work(admin), "A-001", step, dt.date.fromisoformat(on))
    project = await funding.draft(work(admin), community="陈家新苑", kind="operation", item="YY01",
                                  title="物业服务补贴", year=DAY.year, requested=36_000)
    await funding.submit(work(admin), project["id"])
    await funding.verify(work(admin), project["id"], 30_001)
    await accounts.add_user(work(admin), "caizheng", "区财政局科员", "finance", "browser-pass-1")
    shots = screenshots(tmp_path)
    async with async_playwright() as playwright:
        browser = await playwright.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        page = await browser.new_page(viewport={"width": 1280, "height": 900}, accept_downloads=True)
        await page.goto(f"{server}/login")
        await page.fill("input[name=login]", "caizheng")
        await page.fill("input[name=password]", "browser-pass-1")
        await page.click("button[type=submit]")
        await page.click("text=社区治理项目")
        queue = await page.locator("#queue").inner_text()
        assert "150.01元 / 150.00元（区级50%）" in queue and "未引用三合署问题" in queue
        await page.screenshot(path=shots / "9-approve-queue.png", full_page=True)
        await page.click(f"#queue a[href='/funding/projects/{project['id']}']")
        assert "剩余 30,000,000.00元" in await page.locator("#envelope").inner_text()
        await page.click("button:text('审定')")
        await page.wait_for_url("**done=approve")
        assert await page.locator("#district").inner_text() == "150.01元"
        assert await page.locator("#township").inner_text() == "150.00元"
        await page.screenshot(path=shots / "10-approved.png", full_page=True)
        async with page.expect_download() as download:
            await page.click("text=下载审定单")
        assert (await (await download.value).path()).read_bytes()[:4] == b"%PDF"
        await browser.close()
