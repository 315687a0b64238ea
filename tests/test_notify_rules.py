"""The pure part of messages out: text, limits, backoff, the rate limit, the robot's answers."""

from __future__ import annotations

import datetime as dt

import pytest
from hypothesis import given
from hypothesis import strategies as st

from resettle.rules import notify as rule


@given(st.text(max_size=3000))
def test_fit_keeps_every_message_within_the_robots_byte_limit(text):
    cut = rule.fit(text)
    assert len(cut.encode()) <= rule.MAX_BYTES
    if len(text.encode()) <= rule.MAX_BYTES:
        assert cut == text
    else:
        assert cut.endswith("……") and text.startswith(cut[:-3])


@pytest.mark.parametrize(("text", "shown"), [
    ("身份证310230196001010012，手机13812345678", "身份证310230********0012，手机138****5678"),
    ("31023019600101001X", "310230********001X"),
    ("协议A-001共3人", "协议A-001共3人"),  # short numbers stay
    ("1234567890123456789012", "1234567890123456789012"),  # not an ID: 22 digits
])
def test_scrub_masks_full_ids_and_mobiles(text, shown):
    assert rule.scrub(text) == shown


def test_every_kind_renders_short_markdown_with_a_link():
    payloads = {"handoff.arrived": {"from": ["城桥镇"]}, "handoff.rejected": {"to": "陈家镇", "reason": "缺材料"},
                "problem.reopened": {"title": "路灯"}, "project.waiting": {"title": "步道", "community": "陈家新苑"},
                "project.returned": {"title": "步道", "reason": "超标"},
                "meeting.agenda": {"open": 2, "reopened": 1, "overdue": 0, "waiting": 3},
                "digest": {"items": [["逾期实事", 2]]}}
    for kind, (title, path) in rule.KINDS.items():
        text = rule.render(kind, 4, payloads.get(kind, {}), "https://r.gov.cn/")
        assert text.startswith(f"### {title}\n") and text.endswith(f"(https://r.gov.cn{path})")
        assert len(text.encode()) <= rule.MAX_BYTES
    huge = rule.render("handoff.rejected", 1, {"to": "陈家镇", "reason": "长" * 5000}, "https://r")
    assert "长" * 60 + "…" in huge and len(huge) < 300


def test_backoff_doubles_to_an_hour():
    assert [rule.backoff(n) for n in (1, 2, 3, 4)] == [30, 60, 120, 240]
    assert rule.backoff(20) == 3600


def test_the_rate_limit_is_twenty_a_minute_and_45009_pauses_a_minute():
    limit = rule.RateLimit()
    for i in range(20):
        assert limit.wait(i * 0.1) == 0
        limit.took(i * 0.1)
    assert limit.wait(2.0) == pytest.approx(58.0)
    assert limit.wait(60.0) == 0  # the first post left the window
    limit.slow_down(61.0)
    assert limit.wait(100.0) == pytest.approx(21.0)


@pytest.mark.parametrize(("status", "body", "expected"), [
    (200, {"errcode": 0, "errmsg": "ok"}, (True, False, "")),
    (200, {"errcode": 45009, "errmsg": "api freq out of limit"}, (False, True, "errcode 45009：api freq out of limit")),
    (200, {"errcode": 93000, "errmsg": "invalid webhook url"}, (False, False, "errcode 93000：invalid webhook url")),
    (502, None, (False, False, "HTTP 502")),
    (200, ["x"], (False, False, "应答不是 JSON 对象")),
])
def test_the_robots_answers(status, body, expected):
    assert rule.outcome(status, body) == expected


def test_webhooks_are_checked_and_masked():
    url = "https://qyapi.weixin.qq.com/cgi-bin/webhook/send?key=693a91f6-7xxx-4bc4-97a0-0ec2sifa5aaa"
    assert rule.check_webhook(f"  {url} ") == url
    assert rule.mask_webhook(url) == "qyapi.weixin.qq.com…5aaa"
    for bad in ("", "qyapi.weixin.qq.com/x", "javascript:alert(1)", "https://a b", "https://x/" + "k" * 500):
        with pytest.raises(ValueError):
            rule.check_webhook(bad)


def test_the_digest_is_due_from_its_hour_on_working_days():
    morning, at = dt.datetime(2026, 6, 17, 8, 30), dt.time(8, 30)
    assert rule.digest_due(morning, True, at)
    assert not rule.digest_due(morning - dt.timedelta(minutes=1), True, at)
    assert not rule.digest_due(morning, False, at)
