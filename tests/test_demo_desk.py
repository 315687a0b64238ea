"""`resettle demo`'s desk weeks: every state a newcomer should see is there, reached through the
desk services with dates that never run backwards or into the future."""

import datetime as dt

from resettle.actor import Actor
from resettle.models import Action, Demand, Feedback, Household, Problem, Reopening, User
from resettle.rules.desk import iso_week
from services import desk, desk_views, funding
from services.demo import seed_demo
from tests.work import DAY, work


async def test_demo_runs_weeks_of_desk_work(db, tmp_path):
    result = await seed_demo(work(Actor("test:demo")), tmp_path / "demo.csv", 60)
    counts = result["desk"]
    assert len(counts["communities"]) == 2
    for state in ("received", "linked", "answered", "declined", "open", "scheduled", "done", "happy",
                  "reopened", "overdue", "feedback"):
        assert counts[state] > 0, state
    assert counts["demands"] == sum(counts[s] for s in ("received", "linked", "answered", "declined"))

    users = {u.login: u for u in await User.filter(role="desk")}
    assert {u.carriage for u in users.values() if u.community_id == users["desk"].community_id} == {
        "居委会", "业委会", "物业"}
    assert users["desk2"].community_id != users["desk"].community_id
    clerk = work(Actor("test:desk", role="desk", township=users["desk"].township_code,
                       community_id=users["desk"].community_id))
    info = await desk.desk_info(clerk)
    assert all(info["members"][carriage] for carriage in ("居委会", "业委会", "物业"))

    board = await desk_views.board(clerk)
    assert board["open_problems"] and board["awaiting_feedback"]
    assert any(a["overdue"] for a in board["actions_due"])
    agenda = await desk_views.agenda(clerk, None, iso_week(DAY))
    assert agenda["problems"] and agenda["overdue_actions"]
    last_week = await desk_views.desk_week(clerk, None, iso_week(DAY - dt.timedelta(days=7)))
    assert last_week["meeting_on"] and last_week["decisions"] and set(last_week["meeting_attendance"]) == {
        "居委会", "业委会", "物业"}

    # residents raising the same problem are linked to one; the loop's kinds of demand all occur
    demands = await Demand.all()
    assert max(sum(d.problem_id == p for d in demands) for p in {d.problem_id for d in demands} - {None}) >= 2
    assert {"visit", "hotline", "reception"} <= {d.channel for d in demands}
    matter = [d for d in demands if d.entitlement_id]
    assert len(matter) == 1 and matter[0].category == "事项对接"
    assert (await desk.demand_detail(clerk, matter[0].id))["ledger"]["open"]
    assert any(d.person_id is None and d.contact for d in demands)  # a caller not in the registry

    # dates: nothing in the future, nothing before what it follows
    assert all(d.received_on <= DAY and (d.closed_on is None or d.received_on <= d.closed_on) for d in demands)
    problems = {p.id: p for p in await Problem.all()}
    for p in problems.values():
        assert p.opened_on <= (p.scheduled_on or p.opened_on) <= DAY
        assert p.happy_on is None or p.opened_on <= p.happy_on <= DAY
    reasons = {r.problem_id: r.reason for r in await Reopening.all().order_by("id")}
    assert all(reasons.values())
    for a in await Action.all():
        assert problems[a.problem_id].opened_on <= a.decided_on <= a.due
        assert a.completed_on is None or a.decided_on <= a.completed_on <= DAY
        if a.text.startswith("按居民意见返工"):  # the meeting reworks what residents said
            assert a.text == f"按居民意见返工：{reasons[a.problem_id]}"
    for f in await Feedback.all():
        assert problems[f.problem_id].opened_on < f.given_on <= DAY

    projects = result["funding"]
    assert set(projects["states"]) == {"draft", "submitted", "verified", "approved", "completed", "returned",
                                       "rejected"}, projects
    shown = await funding.show(work(Actor("test:demo")), projects["from_problem"])
    assert shown["kind"] == "case_by_case" and shown["evidence"]["problems"] and shown["qualification"]["qualifies"]


async def test_demo_never_gives_one_unit_to_two_households(db, tmp_path):
    # 300 households are enough for the demo's random 房号 to repeat within a community
    result = await seed_demo(work(Actor("test:demo")), tmp_path / "demo.csv", 300)
    assert result["allocated"] > 100
    held = await Household.filter(status__in=["allocated", "moved_in"]).values_list("community_id", "unit")
    assert all(unit for _, unit in held) and len(set(held)) == len(held)
