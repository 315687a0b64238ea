"""Submitted fields to service calls, shared by the pages and the API."""

from __future__ import annotations

from resettle.errors import DomainError
from resettle.rules.household import Status
from services import registry
from services.work import Work
from web.fields import day, number

STEP_CHOICES = {"handed_over": "交房", "allocated": "分房", "moved_in": "入住", "withdrawn": "退出",
                "hukou_moved": "户籍迁入"}


async def record_from_form(work: Work, no: str, data: dict[str, str]) -> dict:
    """One place for the page and the API to turn submitted fields into a recorded step."""
    step = data.get("event", "")
    if step not in STEP_CHOICES:
        raise DomainError(f"事项只能是：{'、'.join(STEP_CHOICES)}")
    on = day(data.get("on", ""), "日期") or work.today
    version = number(data.get("version", ""), "版本号")
    if step == "hukou_moved":
        if not data.get("person"):
            raise DomainError("请指明户籍迁入的成员身份证号")
        return await registry.record_hukou_moved(work, no, data["person"], on)
    return await registry.record_step(work, no, Status(step), on, unit=data.get("unit") or None,
                                      reason=data.get("reason", ""), expected_version=version)
