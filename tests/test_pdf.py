"""Every paper embeds its font: the shipped WenQuanYi Micro Hei by default, so a machine with no
CJK font prints the same page (`pdffonts` reads the file as a viewer would)."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path
from urllib.parse import quote

import pytest

from resettle import pdf

# CI installs poppler-utils (.ci/run): there a missing pdffonts fails, never skips
pytestmark = pytest.mark.skipif(shutil.which("pdffonts") is None and not os.environ.get("CI"),
                                reason="poppler-utils (pdffonts) is not installed: apt-get install poppler-utils")

PAPER = """
from resettle import pdf
story = [pdf.heading("一、基本情况"), pdf.paragraph("陈家镇 2026年第49周 ✓ □ × — “已回访”"),
         *pdf.table({"name": "姓名", "amount": "金额（元）"}, [{"name": "张三", "amount": "1,234.50"}],
                    {"name": 30, "amount": 30}),
         pdf.form([["会议时间", "2026年12月2日"]], [40, 80]),
         pdf.signatures([("盖章", ["（盖章）", "年 月 日"])]),
         *pdf.bar_charts("各乡镇户数", ["陈家镇", "港西镇"], {"户数": [12, 30]})]
pdf.build(PATH, "幸福清单公示", "打印日期 2026-12-02", story, portrait=True)
"""


def fonts(path: Path) -> list[dict[str, str]]:
    """pdffonts' table of a PDF: name, type, encoding, emb, sub, uni per font (columns cut where
    its dashed rule says)."""
    lines = subprocess.run(["pdffonts", str(path)], check=True, capture_output=True, text=True).stdout.splitlines()
    spans, start = [], 0
    for dashes in lines[1].split(" "):
        spans.append((start, start + len(dashes)))
        start += len(dashes) + 1
    keys = ["name", "type", "encoding", "emb", "sub", "uni"]
    return [{key: line[a:b].strip() for key, (a, b) in zip(keys, spans, strict=False)} for line in lines[2:]]


def _paper(path: Path, env: dict[str, str]) -> list[dict[str, str]]:
    """Build a paper of every building block in a fresh interpreter (font() is chosen once per
    process) and return its fonts."""
    subprocess.run([sys.executable, "-c", f"PATH = {str(path)!r}\n{PAPER}"], check=True, env=env, timeout=120)
    return fonts(path)


def test_every_font_of_a_paper_is_embedded_and_subset(tmp_path):
    env = {k: v for k, v in os.environ.items() if k != "RESETTLE_PDF_FONT"}
    rows = _paper(tmp_path / "p.pdf", env)
    assert rows, "pdffonts found no font"
    for row in rows:
        assert (row["emb"], row["sub"]) == ("yes", "yes"), row
        assert "WenQuanYi" in row["name"], row
    text = subprocess.run(["pdftotext", str(tmp_path / "p.pdf"), "-"], capture_output=True, text=True).stdout
    assert "幸福清单公示" in text and "陈家镇" in text and "2026年第49周" in text


def test_a_deployment_may_print_with_another_font(tmp_path):
    other = tmp_path / "other.ttc"
    shutil.copyfile(pdf.SHIPPED_FONT, other)  # the same outlines under another path: it is the one read
    rows = _paper(tmp_path / "p.pdf", {**os.environ, "RESETTLE_PDF_FONT": str(other)})
    assert rows and all(row["emb"] == "yes" for row in rows)


@pytest.mark.parametrize("content", [None, b"not a font at all"])
def test_a_wrong_font_setting_is_a_chinese_sentence(tmp_path, monkeypatch, content):
    target = tmp_path / "font.ttf"
    if content is not None:
        target.write_bytes(content)
    monkeypatch.setenv("RESETTLE_PDF_FONT", str(target))
    pdf.font.cache_clear()
    try:
        with pytest.raises(pdf.PolicyError, match="RESETTLE_PDF_FONT"):
            pdf.font()
    finally:
        pdf.font.cache_clear()


@pytest.mark.parametrize(("top", "step"), [(0, 1), (3, 1), (7, 2), (10, 2), (11, 5), (24, 5), (26, 10), (99, 20),
                                           (101, 50), (480, 100), (1234, 500), (9_999_999, 2_000_000)])
def test_chart_ticks_fall_on_round_numbers(top, step):
    from resettle.charts import round_step

    assert round_step(top) == step
    assert top / step <= 5 or step == 1


# Every real paper, as the pages serve it: 审定单 (a verified project's preview and an approved
# one's), the meeting's minutes, the 幸福清单 notice, the 对接清单, the lists and both summaries.
COMMUNITY = "community=" + quote("陈家镇/陈家新苑")
PAPERS = {
    "审定单（预览）": "/funding/projects/3/sheet.pdf",
    "审定单": "/funding/projects/4/sheet.pdf",
    "例会纪要": f"/desk/meeting/minutes?{COMMUNITY}",
    "幸福清单公示": f"/desk/lists/notice?{COMMUNITY}",
    "对接清单": "/ledger/report?township=" + quote("陈家镇"),
    "三合署清单": f"/desk/lists?format=pdf&{COMMUNITY}",
    "需求清单": f"/desk/lists?format=pdf&list=demands&{COMMUNITY}",
    "一月一汇": "/desk/summary?format=pdf",
    "资金汇总": "/funding/summary?format=pdf",
}


async def test_every_paper_embeds_every_font(db_url, tmp_path, monkeypatch):
    from aiohttp.test_utils import TestClient, TestServer

    from tests.test_links import PASSWORD, seed
    from tests.work import DAY, clock_on
    from web.app import init_app

    monkeypatch.delenv("RESETTLE_PDF_FONT", raising=False)  # the default install's font
    pdf.font.cache_clear()
    client = TestClient(TestServer(init_app(db_url, secret=b"p" * 32, uploads=tmp_path / "uploads",
                                            clock=clock_on(DAY))))
    await client.start_server()
    try:
        await seed(tmp_path)
        text = await (await client.get("/login")).text()
        token = text.split('name="csrf" value="', 1)[1].split('"', 1)[0]
        await client.post("/login", data={"csrf": token, "login": "admin", "password": PASSWORD})
        for name, path in PAPERS.items():
            response = await client.get(path)
            assert response.status == 200 and response.content_type == "application/pdf", (name, response.status)
            paper = tmp_path / f"{name}.pdf"
            paper.write_bytes(await response.read())
            rows = fonts(paper)
            assert rows, f"{name}: pdffonts found no font"
            for row in rows:
                assert (row["emb"], row["sub"]) == ("yes", "yes"), (name, row)
    finally:
        await client.close()
        pdf.font.cache_clear()
