"""The seeded site the page walk (tests/test_walk.py) and the link crawl (tests/test_links.py)
go through, built with the services: four households, three moved in (the move-ins send
hand-offs), a birth and a desk's request, desk demands and problems in 陈家新苑 at every stage, a
recorded week, governance projects from draft to approved, three 督办, and one account per role."""

from __future__ import annotations

import datetime as dt

from resettle.actor import Actor
from resettle.models import Community, Person
from resettle.rules.desk import iso_week
from resettle.rules.household import Status
from services import accounts, desk, funding, household_changes, registry
from services.contracts import parse
from services.household_changes_contracts import Change
from services.registry_import import import_sheets
from tests.sheets import make_id, person, write_csv
from tests.work import DAY, work

ADMIN = Actor("test:setup")
PASSWORD = "site-pass-9"
ROLES = {"admin": {}, "office": {}, "township": {"township": "陈家镇"},
         "desk": {"community": "陈家新苑", "carriage": "居委会"},
         "department": {"department": "区民政局"}, "finance": {}}


async def seed(tmp_path) -> None:
    head = make_id("19600101", 1)
    await import_sheets(work(ADMIN), [write_csv(tmp_path / "seed.csv", [
        person("A-001", "甲", head, "户主", unit="3-101"),
        person("A-001", "乙", make_id("19610101", 2), "配偶", unit="3-101"),
        person("A-002", "戊", make_id("19450101", 5), "户主", origin="陈家镇", unit="5-202", tags="残疾"),
        person("B-002", "丙", make_id("19700101", 3), "户主", origin="堡镇", dest="城桥镇", community="城桥新苑"),
        person("C-003", "丁", make_id("19800101", 4), "户主", origin="堡镇", dest="堡镇", community="堡新苑"),
    ])])
    for agreement in ("A-001", "A-002", "B-002"):
        for step, on in ((Status.HANDED_OVER, "2024-01-02"), (Status.ALLOCATED, "2024-02-01"),
                         (Status.MOVED_IN, "2024-03-01")):
            await registry.record_step(work(ADMIN), agreement, step, dt.date.fromisoformat(on))
    for role, extra in ROLES.items():
        await accounts.add_user(work(ADMIN), role, f"{role}用户", role, PASSWORD, **extra)
    # households that change: a birth recorded, a death the desk asked the liaison to confirm
    await household_changes.record_event(work(ADMIN), "A-001", parse(Change, {
        "kind": "birth", "on": "2026-01-01", "name": "小甲", "id_number": make_id("20260101", 7), "relation": "孙女"}))
    desk_actor = Actor("test:desk", role="desk", community_id=(await Community.get(name="陈家新苑")).id)
    await household_changes.file_request(work(desk_actor), "A-002", parse(Change, {
        "kind": "death", "on": "2026-06-01", "person": (await Person.get(id_number=make_id("19450101", 5))).id,
        "note": "家属到窗口告知"}))

    w, earlier = work(ADMIN), work(ADMIN, on=DAY - dt.timedelta(days=9))
    lift = await desk.intake(earlier, "陈家新苑", channel="统一接待", category="物业维修",
                             text="3号楼电梯经常停运，老人下不了楼", resident=head)
    await desk.intake(w, "陈家新苑", channel="电话", category="物业维修", text="电梯按钮失灵", name="访客",
                      contact="13812345678", unit="3-202")
    problem = await desk.link(earlier, [lift["id"]], title="3号楼电梯故障")
    await desk.add_action(earlier, problem["id"], owner="物业", text="请维保单位检修电梯",
                          due=DAY - dt.timedelta(days=2))  # overdue now
    lamp = await desk.intake(w, "陈家新苑", channel="统一接待", category="物业维修", text="5号楼路灯不亮",
                             resident=make_id("19450101", 5))
    lamp_problem = await desk.link(w, [lamp["id"]], title="5号楼路灯")
    lamp_problem = await desk.add_action(w, lamp_problem["id"], owner="物业", text="更换路灯", due=DAY)
    await desk.complete_action(w, lamp_problem["action_items"][0]["id"], result="已更换", on=DAY)
    await desk.save_week(w, "陈家新苑", iso_week(DAY), reception={"居委会": ["王芳"]}, meeting_on=DAY,
                         meeting={"居委会": ["王芳"], "物业": ["李强"]}, decisions="电梯本周内检修", version=0)

    meeting = {"body": "居民代表会议", "held_on": f"{DAY.year}-01-15", "attendance": 9, "votes_for": 7,
               "votes_against": 1}
    fields = {"community": "陈家新苑", "kind": "case_by_case", "year": DAY.year, "requested": 12_000_000,
              "department": "区民政局", "problems": [problem["id"]]}
    await funding.draft(w, title="电梯更新（草稿）", **fields)
    for state, label in (("submitted", "已提交"), ("verified", "已核定"), ("approved", "已审定")):
        project = await funding.draft(w, title=f"3号楼电梯更新（{label}）", deliberation=meeting, **fields)
        await funding.submit(w, project["id"])
        if state != "submitted":
            await funding.verify(w, project["id"], 11_000_000)
        if state == "approved":
            await funding.approve(w, project["id"], 10_000_000)
    # 督办 on an overdue hand-off, the overdue action and the submitted project: their marks are
    # walked, and the office is offered the form on the other overdue hand-offs
    from resettle.models import Handoff
    from services import notify
    office, later = work(Actor("test:office", role="office")), DAY + dt.timedelta(days=5)
    handoff = await Handoff.filter(to_township="310151110").order_by("id").first()
    await notify.escalate(office, "handoff", handoff.id, "请本周内接收并办理", later)
    lift_action = (await desk.problem_detail(w, problem["id"]))["action_items"][0]["id"]
    await notify.escalate(office, "action", lift_action, "请尽快检修", later)
    await notify.escalate(office, "project", 2, "请尽快核定", later)
