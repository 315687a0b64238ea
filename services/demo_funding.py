"""Use case for the demo: governance projects of the demo's desk communities in every state of
the workflow, one of them turned from a desk problem, acted on by the demo's accounts."""

from __future__ import annotations

import datetime as dt

from resettle.actor import Actor
from resettle.models import Community, Demand, User
from resettle.policy import Policy
from services import accounts, funding
from services.work import Work


async def _actors(township_code: str, policy: Policy) -> dict[str, Actor]:
    """The demo's own accounts where it has them (陈家镇's liaison, 区民政局, 区财政局); a
    department without a demo account acts under its own name."""
    users = {u.login: accounts.actor_of(u) for u in await User.filter(login__in=["chenjia", "minzheng", "finance"])}
    liaison = users.get("chenjia")
    if liaison is None or liaison.township != township_code:
        name = policy.township(township_code).name
        liaison = Actor(f"demo:{name}", role="township", township=township_code, name=f"{name}信息员")
    departments = {i.department: Actor(f"demo:{i.department}", role="department", department=i.department,
                                       name=i.department) for i in policy.funding.items}
    if "minzheng" in users:
        departments[users["minzheng"].department] = users["minzheng"]
    return {"township": liaison, "finance": users.get("finance") or Actor("demo:finance", role="finance",
                                                                          name="区财政局"),
            **{f"dept:{name}": actor for name, actor in departments.items()}}


async def funding_work(work: Work, communities: list[Community]) -> dict:
    """Projects of the desk community with the most moved-in households, this year."""
    policy = work.policy
    year = work.today.year
    households = {c.id: await funding.moved_in_households(c.id, year) for c in communities}
    c = max(communities, key=lambda c: (households[c.id], -c.id))
    n = households[c.id]
    if not n:
        return {"projects": 0}
    act = {role: work.by(actor) for role, actor in (await _actors(c.township_code, policy)).items()}
    item = policy.funding.item

    def reviewer(project: dict) -> Work:
        return act[f"dept:{project['department']}"]

    async def draft(code: str, title: str, yuan: int, **extra) -> dict:
        return await funding.draft(act["township"], community=c.id, kind=item(code).kind.value, item=code,
                                   title=title, year=year, requested=yuan * 100, **extra)

    async def to(project: dict, status: str, *, cut: int = 0) -> dict:
        """Take a project along the workflow to `status`; reviewers trim `cut` percent."""
        project = await funding.submit(act["township"], project["id"])
        if status == "submitted":
            return project
        if status == "returned":
            return await funding.send_back(reviewer(project), project["id"], "returned",
                                           "请补充两家以上单位的报价单和设备清单")
        amount = project["requested"] * (100 - cut) // 100
        project = await funding.verify(reviewer(project), project["id"], amount)
        if status == "verified":
            return project
        if status == "rejected":
            return await funding.send_back(act["finance"], project["id"], "rejected",
                                           "本年度已有同类运营补贴覆盖该社区，不予重复安排")
        project = await funding.approve(act["finance"], project["id"], amount)
        if status == "approved":
            return project
        return await funding.complete(act["township"], project["id"], spent=amount - amount // 50)

    made = [
        await to(await draft("YY01", f"{c.name}{year}年物业服务补贴", item("YY01").standard_per_household * n // 100),
                 "completed"),
        await to(await draft("YY02", f"{c.name}社区工作者配备", item("YY02").standard_per_household * n // 100),
                 "approved", cut=10),
        await to(await draft("JS01", f"{c.name}长者食堂建设", 500_000, area_m2=200), "verified", cut=5),
        await to(await draft("JS02", f"{c.name}社区卫生服务站点", 400_000), "submitted"),
        await to(await draft("JS03", f"{c.name}智能门禁", item("JS03").cap_per_household * n // 100), "returned"),
        await to(await draft("YY03", f"{c.name}长者食堂运营补贴",
                             min(item("YY03").standard_per_household * n, item("YY03").cap_per_project) // 100),
                 "rejected"),
        # over its cap per m²: the draft page shows why it cannot be submitted yet
        await draft("JS04", f"{c.name}综合服务用房改造", 900_000, area_m2=300),
    ]
    problem = await _busiest_problem(c.id)
    if problem:
        held_on = max(dt.date(year, 1, 1), work.today - dt.timedelta(days=30))  # this year, before today
        made.append(await to(await funding.draft_from_problem(
            act["township"], problem, requested=120_000 * 100, year=year, department="区民政局",
            deliberation={"body": f"{c.name}居民代表会议", "held_on": held_on.isoformat(),
                          "attendance": 25, "votes_for": 19, "votes_against": 3}), "verified"))
    states: dict[str, int] = {}
    for project in made:
        states[project["status"]] = states.get(project["status"], 0) + 1
    return {"projects": len(made), "community": c.name, "year": year, "states": states,
            "from_problem": made[-1]["id"] if problem else None}


async def _busiest_problem(community_id: int) -> int | None:
    """The desk problem most residents raised: the one worth a project of its own."""
    rows = await Demand.filter(community_id=community_id, problem_id__not_isnull=True) \
        .values_list("problem_id", flat=True)
    if not rows:
        return None
    return max(set(rows), key=lambda pid: (rows.count(pid), -pid))
