"""Use case: fill an empty registry with a generated demo so a newcomer sees the product work."""

from __future__ import annotations

import datetime as dt
import random
import secrets
import string
from dataclasses import dataclass
from pathlib import Path

from tortoise.functions import Count

from fixtures.generate import write_sheet
from resettle.actor import Actor
from resettle.errors import DomainError
from resettle.models import (
    Action,
    Community,
    Demand,
    Entitlement,
    Feedback,
    Handoff,
    Household,
    Person,
    Problem,
    Reopening,
)
from resettle.policy import Policy
from resettle.rules.desk import ActionStatus, DemandStatus, ProblemStatus, Rating, iso_week, week_start
from resettle.rules.household import Status
from services import accounts, demo_changes, desk, desk_views, ledger, registry
from services.demo_funding import funding_work
from services.registry_import import Progress, import_sheets
from services.work import Work


async def seed_demo(work: Work, sheet: Path, households: int, *, seed: int = 2024,
                    progress: Progress | None = None) -> dict:
    existing = await Household.all().count()
    if existing:
        raise DomainError(f"数据库里已有 {existing} 户，演示只在空库上运行：请换一个空目录，或用 --db 指定新库")
    tick = (lambda n: progress("生成演示表", min(households, n), households)) if progress else None
    done = 0

    def step(n: int) -> None:
        nonlocal done
        done += n
        if tick:
            tick(done)

    generated = write_sheet(sheet, households, seed=seed, progress=step, today=work.today)
    report = await import_sheets(work, [sheet], progress=progress)
    if not report.written:
        raise DomainError(f"演示表导入失败：{report.issues[0].message if report.issues else report.outcome}")
    rng = random.Random(seed)
    # letters and digits only: it is read off a terminal and typed into a login form
    password = "".join(secrets.choice(string.ascii_letters + string.digits) for _ in range(12))
    # the district's accounts first, so that the liaison's bell holds what the move-ins sent
    district = await _demo_users(work, password, DISTRICT_USERS)
    handed = await Household.filter(status=Status.HANDED_OVER).order_by("id") \
        .values_list("agreement_no", "handed_over_on", "community_id")
    taken: set[tuple[int, str]] = set()  # (community, 房号) already allocated: a unit holds one household
    for n, (agreement, handed_on, community_id) in enumerate(handed):
        if progress:
            progress("登记分房与入住", n + 1, len(handed))
        roll = rng.random()
        if roll < 0.03:
            await registry.record_step(work, agreement, Status.WITHDRAWN,
                                       handed_on + dt.timedelta(days=5), reason="自愿放弃集中居住（演示）")
            continue
        if roll > 0.75:
            continue
        today = work.today
        allocated_on = min(handed_on + dt.timedelta(days=rng.randrange(15, 60)), today)
        unit = _free_unit(taken, community_id, rng.randrange(1, 40), rng.randrange(1, 7), rng.randrange(1, 5))
        await registry.record_step(work, agreement, Status.ALLOCATED, allocated_on, unit=unit)
        if roll < 0.5:
            # most moved in months ago; one in five in the last three weeks, so that the inbox holds
            # hand-offs still in time beside a few overdue ones
            moved_on = min(allocated_on + dt.timedelta(days=rng.randrange(30, 120)), today)
            if roll > 0.4:
                moved_on = max(allocated_on, today - dt.timedelta(days=rng.randrange(0, RECENT_DAYS)))
            await registry.record_step(work, agreement, Status.MOVED_IN, moved_on)
    # the registry's later changes come before the townships' work, which answers their hand-offs too
    holiday = await demo_changes.holiday_move_in(work)
    life = await demo_changes.household_life(work, rng, besides=holiday["agreement_no"] if holiday else "")
    # the registry as it ends (the holiday move-in and a 分户's new household included), so that
    # the sentence printed agrees with the table under it
    counts = {"allocated": await Household.filter(status__in=[Status.ALLOCATED, Status.MOVED_IN]).count(),
              "moved_in": await Household.filter(status=Status.MOVED_IN).count(),
              "withdrawn": await Household.filter(status=Status.WITHDRAWN).count(),
              **await _work_some_handoffs(work, rng)}
    communities = await _desk_communities()
    desks = await _demo_users(work, password, _desk_users(communities))
    users = [*district[:3], *desks, *district[3:]]
    desk_counts = await _desk_work(work, communities, rng, progress)
    projects = await funding_work(work, communities)
    return {"households": generated.households, "persons": generated.persons, **counts,
            "password": password, "users": users, "desk": desk_counts, "funding": projects,
            "holiday": holiday, "life": life, "tags": await demo_changes.tags_for_review(work),
            "stats": await registry.township_stats(work),
            "sample_agreement": handed[0][0] if handed else ""}


def _free_unit(taken: set[tuple[int, str]], community_id: int, building: int, floor: int, room: int) -> str:
    """The drawn 房号 (building, floor, room), or the next free one after it in the community."""
    n = ((building - 1) * 6 + floor - 1) * 4 + room - 1
    while True:
        unit = f"{n // 24 + 1}号{n // 4 % 6 + 1}0{n % 4 + 1}室"
        if (community_id, unit) not in taken:
            taken.add((community_id, unit))
            return unit
        n += 1


async def _desk_communities() -> list[Community]:
    """The desk login's community (the first of 陈家镇, the demo's busiest township) and the
    community with the most moved-in households besides it."""
    first = await Community.filter(township_code="310151110").order_by("id").first() \
        or await Community.all().order_by("id").first()
    moved_in = await Household.filter(status=Status.MOVED_IN, community_id__not=first.id) \
        .annotate(n=Count("id")).group_by("community_id").values_list("community_id", "n")
    other = max(moved_in, key=lambda row: (row[1], -row[0]), default=None)
    second = await Community.get(id=other[0]) if other else \
        await Community.filter(id__not=first.id).order_by("id").first()
    return [first, second] if second else [first]


# One account per role, scoped to the demo's busiest township (the desk's come from _desk_users).
DISTRICT_USERS = (
    ("admin", "演示管理员", "admin", {}),
    ("office", "区集中居住办", "office", {}),
    ("chenjia", "陈家镇信息员", "township", {"township": "陈家镇"}),
    ("minzheng", "区民政局", "department", {"department": "区民政局"}),
    ("finance", "区财政局", "finance", {}),
)


def _desk_users(communities: list[Community]) -> list[tuple]:
    """The desk of the first desk community has one login per carriage, the second one login."""
    return [(login, staff[carriage][0], "desk",
             {"community": f"{community.township_code}/{community.name}", "carriage": carriage})
            for community, staff, logins in zip(communities, DESK_STAFF, DESK_LOGINS, strict=False)
            for login, carriage in logins]


async def _demo_users(work: Work, password: str, specs) -> list[dict]:
    users = []
    for login, name, role, extra in specs:
        user = await accounts.add_user(work, login, name, role, password, **extra)
        users.append({**user, "scope": user["community"] or user["township"] or "全区"})
    return users


# by a hand-off's age in days: the share destination townships accepted, and of those completed
HANDOFF_PACE = ((40, 0.97, 0.95), (14, 0.9, 0.5), (3, 0.7, 0.0))
RECENT_DAYS = 21  # recent move-ins fall in the last three weeks


async def _work_some_handoffs(work: Work, rng: random.Random) -> dict:
    """Destination townships have accepted and completed most old hand-offs and some recent ones;
    the rest wait, a few of them overdue, as in an inbox people keep up with."""
    ids = await Handoff.filter(status="sent").order_by("id").values_list("id", "sent_on")
    today = work.today
    accept: dict[dt.date, list[int]] = {}  # each on its day: a few days after sending, a few weeks to complete
    complete: dict[dt.date, list[int]] = {}
    for i, sent_on in ids:
        pace = next(((a, c) for days, a, c in HANDOFF_PACE if (today - sent_on).days >= days), None)
        if pace and rng.random() < pace[0]:
            accepted_on = min(sent_on + dt.timedelta(days=rng.randrange(1, 6)), today)
            accept.setdefault(accepted_on, []).append(i)
            if rng.random() < pace[1]:
                complete.setdefault(min(accepted_on + dt.timedelta(days=rng.randrange(2, 20)), today), []).append(i)
    for day, batch in sorted(accept.items()):
        await ledger.act(work.on(day), batch, "accept")
    for day, batch in sorted(complete.items()):
        await ledger.act(work.on(day), batch, "complete")
    complete = [i for batch in complete.values() for i in batch]
    return {"handoffs": len(ids), "handoffs_completed": len(complete)}


# ---------------------------------------------------------------- 三合署: a few weeks of desk work

DESK_WEEKS = 6  # the last ISO weeks up to today's
# Staff of each desk community by carriage; the first name of each carriage has a login.
DESK_STAFF = ({"居委会": ("王丽华", "陈建国"), "业委会": ("黄志明",), "物业": ("刘强", "周红梅")},
              {"居委会": ("施美玲", "顾晓东"), "业委会": ("沈国平",), "物业": ("倪佳",)})
DESK_LOGINS = ((("desk", "居委会"), ("yeweihui", "业委会"), ("wuye", "物业")), (("desk2", "居委会"),))
CALLERS = ("孙晓燕", "钱伟", "吴海峰", "郑丽")  # tenants who call the 12345 hotline: not in the registry


@dataclass(frozen=True)
class Topic:
    """Something residents bring to the desk, phrased a few ways so that a new demand finds the
    problem already open, and how the desk deals with it: actions the weekly meeting decides
    (owner, action, result), or an answer on the spot, or a reason for declining."""

    category: str
    title: str
    texts: tuple[str, ...]
    channels: tuple[str, ...]  # besides the weekly reception
    plans: tuple[tuple[str, str, str], ...] = ()
    unhappy: str = ""  # a resident's reason when the result does not satisfy
    reply: str = ""
    declined: bool = False
    ledger: tuple[int, int] | None = None  # (ledger line, its person) a 事项对接 demand is about


PROBLEM_TOPICS = (
    Topic("物业维修", "3号楼电梯经常停运",
          ("3号楼电梯又坏了，老人下不了楼", "3号楼电梯经常停运，买菜回来要爬楼",
           "电梯停了两天没人修，3号楼老人出不了门"),
          ("电话", "12345热线", "走访"),
          (("物业", "联系电梯维保单位检修，更换故障部件", "已更换主板和门机，试运行一周正常"),
           ("业委会", "召集业主代表表决动用专项维修资金", "表决通过，维修资金已拨付")),
          "修好没几天又停了，晚上还困过人"),
    Topic("物业维修", "地下车库顶板渗水",
          ("地下车库顶板渗水，车上都是水渍", "车库漏水好久了，地面积水很滑", "地下车库渗水严重，墙面发霉"),
          ("12345热线", "网上", "电话"),
          (("物业", "查找渗漏点，做顶板防水修补", "已完成防水修补，雨后复查无渗水"),), "下雨还是渗水"),
    Topic("物业维修", "5号楼楼道感应灯不亮",
          ("5号楼楼道灯不亮，晚上看不见台阶", "楼道感应灯坏了好几盏", "5号楼楼道灯一直不亮，老人摔了一跤"),
          ("电话", "走访"), (("物业", "更换楼道感应灯", "已更换感应灯12盏"),), "换了没几天又不亮了"),
    Topic("环境卫生", "垃圾房异味大、蚊蝇多",
          ("垃圾房夏天异味大，苍蝇多", "垃圾房臭味飘到家里，窗都不敢开", "小区垃圾房异味太重，蚊蝇很多"),
          ("走访", "电话", "网上"),
          (("物业", "垃圾房每日冲洗消杀，加装纱门", "已加装纱门，每日冲洗两次"),
           ("乡镇城建中心", "增加垃圾清运频次", "清运改为每日两次")), "中午还是很臭"),
    Topic("环境卫生", "绿化带杂草丛生",
          ("绿化带杂草长得比人高，晚上有蛇", "小区绿化没人修剪，杂草丛生", "楼前绿化带杂草太多，蚊子多"),
          ("走访", "电话"), (("物业", "安排绿化养护，清除杂草", "已修剪绿化带并清除杂草"),),
          "剪下的杂草堆在路边没人清运"),
    Topic("停车", "外来车辆占用小区车位",
          ("外来车辆停进小区，占了业主车位", "晚上下班回来没有车位，都是外面的车", "小区车位被外来车辆占用"),
          ("12345热线", "电话", "网上"),
          (("物业", "门岗登记外来车辆，限时停放", "已实行外来车辆登记，限停2小时"),
           ("业委会", "征求业主意见，制定停车管理办法", "停车管理办法已公示")), "晚上还是停满了外来车"),
    Topic("安全", "电动自行车楼道飞线充电",
          ("有人从楼上拉电线给电动车充电，太危险", "楼道里停电动车充电，怕着火", "电动自行车飞线充电没人管"),
          ("走访", "12345热线", "电话"),
          (("物业", "在北门增设电动自行车集中充电棚", "充电棚已建成，20个充电口"),
           ("乡镇派出所", "联合开展飞线充电整治", "已上门劝导整改8户")), "晚上还是有人飞线充电"),
    Topic("养老服务", "老人吃饭不方便，希望开设助餐点",
          ("老人吃饭不方便，希望小区有助餐点", "独居老人做饭难，能不能送餐上门", "社区能不能办个老人食堂"),
          ("走访", "电话"),
          (("乡镇社区事务受理服务中心", "开设长者助餐点，独居老人送餐上门", "助餐点已开业，送餐15户"),
           ("居委会", "登记需要送餐的独居和高龄老人", "已登记23人")), "助餐点离得太远，腿脚不便去不了"),
    Topic("邻里纠纷", "楼上卫生间漏水到楼下",
          ("楼上卫生间漏水到我家，协商不成", "楼上漏水，邻居不肯修", "楼上卫生间渗水，我家天花板发霉"),
          ("走访", "电话"),
          (("居委会", "上门调解，约定维修方案和费用", "双方签了调解协议"),
           ("物业", "检测漏水点并出具报告", "已检测，为楼上防水层破损")), "楼上答应修了还没修"),
    Topic("设施配套", "公交站离小区太远",
          ("公交站离小区太远，老人出行不便", "希望在小区门口设个公交站", "坐公交要走二十分钟，能不能把站点挪近些"),
          ("网上", "12345热线", "走访"),
          (("乡镇社区管理办", "向区交通委反映，申请增设站点", "区交通委同意在南门增设站点"),), "站点批了还没建"),
    Topic("设施配套", "健身器材损坏",
          ("小区健身器材坏了，孩子玩有危险", "健身器材螺丝松了，晃得厉害", "健身路径的器材坏了好久"),
          ("电话", "走访"), (("物业", "更换损坏的健身器材", "已更换3件器材"),), "新换的器材还是晃"),
)
ANSWERED_TOPICS = (
    Topic("其他", "物业费怎么交", ("物业费怎么交，能不能手机付", "物业费在哪里交？"), ("电话", "网上"),
          reply="可在物业服务中心或微信小程序缴纳，已现场演示"),
    Topic("环境卫生", "垃圾投放时间", ("垃圾几点可以扔？", "湿垃圾投放时间是几点"), ("电话",),
          reply="每天7:00–9:00、18:00–20:00定时投放，已发告知单"),
    Topic("其他", "户口迁入材料", ("户口要迁到这边来，带什么材料？",), ("电话", "网上"),
          reply="带户口簿、身份证和安置协议到乡镇社区事务受理服务中心办理，已给办事指南"),
)
DECLINED_TOPICS = (
    Topic("其他", "要求调换安置房", ("想换到低一点的楼层，腿脚不好", "要求调换安置房"), ("走访", "电话"),
          reply="分房按协议公开摇号确定，三合署不能调换；已告知可向乡镇集中居住办申请困难照顾", declined=True),
    Topic("邻里纠纷", "原村宅基地纠纷", ("老家宅基地的事和亲戚有纠纷，想请社区处理",), ("电话",),
          reply="属原村宅基地纠纷，不在本社区受理范围，已引导到原籍乡镇司法所", declined=True),
)


async def _desk_work(work: Work, communities: list[Community], rng: random.Random,
                     progress: Progress | None) -> dict:
    """A few weeks of 三合署 in each desk community, entirely through the desk services, acting
    as its staff; then what the database holds, by state."""
    for n, (community, staff, logins) in enumerate(zip(communities, DESK_STAFF, DESK_LOGINS, strict=False)):
        if progress:
            progress("三合署演示", n + 1, len(communities))
        actors = {carriage: work.by(Actor(f"demo:{login}", role="desk", township=community.township_code,
                                          community_id=community.id, name=staff[carriage][0]))
                  for login, carriage in logins}
        run = _DeskRun(community, actors, staff, await _residents(community), work.policy, rng,
                       busy=n == 0)
        await run.weeks(DESK_WEEKS)
    return await _desk_counts(communities, work.today)


async def _residents(community: Community) -> list[int]:
    """Persons of the community, moved-in households first."""
    moved_in = await Person.filter(household__community_id=community.id, household__status=Status.MOVED_IN) \
        .order_by("id").values_list("id", flat=True)
    if len(moved_in) >= 12:  # enough for a few weeks of demands without the same few faces
        return list(moved_in)
    others = await Person.filter(household__community_id=community.id).order_by("id").values_list("id", flat=True)
    return list(dict.fromkeys([*moved_in, *others]))


class _DeskRun:
    """One community's desk, day by day: demands taken and sorted at intake, the weekly meeting
    giving actions to what is open or reopened, actions completed (some late, a few stalled), the
    residents asked once a problem is done. Every date lies in the past and in order."""

    def __init__(self, community: Community, actors: dict[str, Work], staff: dict, residents: list[int],
                 policy: Policy, rng: random.Random, *, busy: bool):
        self.community, self.actors, self.staff, self.residents = community, actors, staff, residents
        self.clerk = actors["居委会"]
        self.policy, self.rng, self.busy = policy, rng, busy
        self.today = self.clerk.today
        self.status: dict[int, str] = {}  # problem id → status
        self.topic: dict[int, Topic] = {}  # problem id → topic
        self.current: dict[str, int] = {}  # topic title → its newest problem
        self.planned: dict[int, dict[int, dt.date]] = {}  # problem id → {planned action id: due}
        self.results: dict[int, tuple[str, str]] = {}  # planned action id → (owner, its result once done)
        self.later: dict[dt.date, list] = {}  # day → completions and feedback due that day
        self.overdue = False
        self.reopen = busy  # the busy community's first verdict is 不满意: one reopened problem

    def _on(self, day: dt.date, *work) -> None:
        if day <= self.today:
            self.later.setdefault(day, []).append(work)

    async def weeks(self, count: int) -> None:
        first = week_start(iso_week(self.today)) - dt.timedelta(weeks=count - 1)
        intakes: dict[dt.date, list[tuple[Topic, str]]] = {}
        matter = await self._matter_topic()
        for w in range(count):
            starts = first + dt.timedelta(weeks=w)
            days = [d for d in (starts + dt.timedelta(days=k) for k in range(7)) if d <= self.today]
            reception = starts + dt.timedelta(days=self.policy.desk.reception_weekday - 1)
            picks = [self._pick() for _ in range(self.rng.randint(7, 10) if self.busy else self.rng.randint(4, 6))]
            if w == 0:  # every kind of demand shows up early enough to be worked
                picks[:3] = [ANSWERED_TOPICS[0], DECLINED_TOPICS[0], *([matter] if matter else [])]
            for topic in picks:
                if reception <= self.today and self.rng.random() < 0.55:
                    intakes.setdefault(reception, []).append((topic, "统一接待"))
                else:
                    intakes.setdefault(self.rng.choice(days), []).append((topic, self.rng.choice(topic.channels)))
        day = first
        while day <= self.today:
            if day.isoweekday() == self.policy.desk.reception_weekday % 7 + 1:  # the day after the reception
                await self._meeting(day)
            for topic, channel in intakes.get(day, []):
                await self._take(day, topic, channel, sort=day < self.today - dt.timedelta(days=2)
                                 or self.rng.random() < 0.7)
            for work in self.later.pop(day, []):
                await work[0](day, *work[1:])
            day += dt.timedelta(days=1)
        await self._this_week()

    def _pick(self) -> Topic:
        roll = self.rng.random()
        kinds = PROBLEM_TOPICS if roll < 0.72 else ANSWERED_TOPICS if roll < 0.88 else DECLINED_TOPICS
        return self.rng.choice(kinds)

    async def _matter_topic(self) -> Topic | None:
        """A 事项对接 demand about one resident's open ledger line, answered from the ledger."""
        line = await Entitlement.filter(person_id__in=self.residents[:50], closed_on=None).order_by("id").first()
        if not self.busy or line is None:
            return None
        matter = self.policy.matter(line.matter_code).name
        holder = self.policy.township(line.responsible_township).name
        return Topic(self.policy.desk.matter_category, matter, (f"我的{matter}迁过来以后找谁办？",), ("统一接待",),
                     reply=f"已查事项台账：{matter}现由{holder}负责，已告知办理地点和材料",
                     ledger=(line.id, line.person_id))

    async def _take(self, day: dt.date, topic: Topic, channel: str, *, sort: bool = True,
                    fresh: bool = False) -> None:
        """Intake; then answered or declined on the spot, or linked to the topic's problem while it
        is being worked (the form offers it), else to a new one. Some recent ones wait for the meeting."""
        who: dict = {"resident": str(self.rng.choice(self.residents))}
        if topic.ledger:
            who = {"resident": str(topic.ledger[1]), "entitlement_id": topic.ledger[0]}
        elif channel == "12345热线" and self.rng.random() < 0.35:
            who = {"name": self.rng.choice(CALLERS), "contact": f"13{self.rng.randrange(10**9):09d}"}
        taken = await desk.intake(self.clerk, None, channel=channel, category=topic.category,
                                  text=self.rng.choice(topic.texts), received_on=day, **who)
        if topic.reply:
            close = desk.decline if topic.declined else desk.answer
            await close(self.clerk, taken["id"], topic.reply, on=day)
            return
        if not sort:
            return
        pid = self.current.get(topic.title)
        if not fresh and self.status.get(pid) in (ProblemStatus.OPEN, ProblemStatus.SCHEDULED):
            problem = await desk.link(self.clerk, [taken["id"]], problem_id=pid, on=day)
        else:
            problem = await desk.link(self.clerk, [taken["id"]], title=topic.title, description=taken["text"], on=day)
            self.current[topic.title], self.topic[problem["id"]] = problem["id"], topic
        self.status[problem["id"]] = problem["status"]

    async def _meeting(self, day: dt.date) -> None:
        """The weekly meeting: every problem without a planned action (new, or reopened by
        residents) gets its actions; the week's record notes who came and what was decided."""
        week = iso_week(day)
        agenda = await desk_views.agenda(self.clerk, None, week)
        decisions = []
        for row in [*agenda["problems"], *agenda["reopened"]]:
            plans = self.topic[row["id"]].plans
            if row["reopened"]:
                plans = ((plans[0][0], f"按居民意见返工：{row['reason']}", "已返工，居民代表到场验收"),)
            for owner, text, result in plans:
                due = day + dt.timedelta(days=self.rng.choice((7, 10, 14, 21)))
                problem = await desk.add_action(self.clerk, row["id"], owner=owner, text=text, due=due,
                                                decided_on=day)
                action = problem["action_items"][-1]["id"]
                self.status[row["id"]] = problem["status"]
                self.planned.setdefault(row["id"], {})[action] = due
                self.results[action] = owner, result
                decisions.append(f"{row['title']}：{owner}{text}，{due.month}月{due.day}日前完成")
                # a few actions stall; the first one due well before today always does (overdue)
                if self.rng.random() < 0.1 or (not self.overdue and due < self.today - dt.timedelta(days=3)):
                    self.overdue = self.overdue or due < self.today
                    continue
                self._on(day + dt.timedelta(days=self.rng.randint(2, (due - day).days + 4)), self._complete, action)
        await desk.save_week(self.clerk, None, week, reception=self._attendance(), meeting_on=day,
                             meeting=self._attendance(everyone=True),
                             decisions="\n".join(decisions) or "本周无新问题，复查在办实事的进度")

    def _attendance(self, *, everyone: bool = False) -> dict[str, list[str]]:
        """All staff at the meeting; at the reception one of each carriage, 业委会 sometimes nobody."""
        return {carriage: list(names if everyone else names[:1]) for carriage, names in self.staff.items()
                if everyone or carriage != "业委会" or self.rng.random() < 0.8}

    async def _complete(self, day: dt.date, action: int) -> None:
        problem = next(pid for pid, actions in self.planned.items() if action in actions)
        owner, result = self.results.pop(action)
        # a carriage records its own work; the 居委会 records what a township department reports
        detail = await desk.complete_action(self.actors.get(owner, self.clerk), action, result=result, on=day)
        del self.planned[problem][action]
        self.status[problem] = detail["status"]
        if detail["status"] != ProblemStatus.DONE:
            return
        waiting = [d["id"] for d in detail["demand_items"] if d["feedback"] is None]
        for n, demand in enumerate(waiting):
            # one 不满意 among at most four answers is below the 80% of the example policy
            if self.reopen and len(waiting) < 5 and n == len(waiting) - 1:
                self.reopen = False
                rating = Rating.UNSATISFIED
            else:
                roll = self.rng.random()
                rating = Rating.SATISFIED if roll < 0.7 else Rating.MOSTLY if roll < 0.95 else Rating.UNSATISFIED
            self._on(day + dt.timedelta(days=self.rng.randint(1, 6)), self._ask, demand, problem, rating)

    async def _ask(self, day: dt.date, demand: int, problem: int, rating: Rating) -> None:
        remark = self.topic[problem].unhappy if rating is Rating.UNSATISFIED else ""
        verdict = await desk.record_feedback(self.clerk, demand, rating.value, remark, on=day)
        self.status[problem] = verdict["status"]

    async def _this_week(self) -> None:
        """Today's state has every case a newcomer should see: the reception recorded when the
        meeting is still ahead, a problem just done and waiting for residents' answers, one new
        problem and one demand waiting for the next meeting."""
        week = iso_week(self.today)
        reception = week_start(week) + dt.timedelta(days=self.policy.desk.reception_weekday - 1)
        if (await desk_views.desk_week(self.clerk, None, week))["version"] == 0 and reception <= self.today:
            await desk.save_week(self.clerk, None, week, reception=self._attendance())
        if ProblemStatus.DONE not in self.status.values():
            ready = [pid for pid, actions in self.planned.items()
                     if actions and min(actions.values()) >= self.today]
            for action in list(self.planned[ready[0]]) if ready else []:
                await self._complete(self.today, action)
        idle = [t for t in PROBLEM_TOPICS
                if self.status.get(self.current.get(t.title)) not in (ProblemStatus.OPEN, ProblemStatus.SCHEDULED)]
        await self._take(self.today, (idle or PROBLEM_TOPICS)[0], "走访", fresh=True)
        await self._take(self.today, self.rng.choice(PROBLEM_TOPICS), "12345热线", sort=False)


async def _desk_counts(communities: list[Community], today: dt.date) -> dict:
    """The desk data the demo left on `today`, by state (what `resettle demo` prints)."""
    ids = [c.id for c in communities]

    async def by_status(model) -> dict[str, int]:
        return dict(await model.filter(community_id__in=ids).annotate(n=Count("id")).group_by("status")
                    .values_list("status", "n"))
    demands, problems = await by_status(Demand), await by_status(Problem)
    actions = await by_status(Action)
    return {"communities": [c.name for c in communities], "weeks": DESK_WEEKS,
            "last_week": iso_week(today - dt.timedelta(weeks=1)), "month": f"{today:%Y-%m}",
            "demands": sum(demands.values()), **{s.value: demands.get(s.value, 0) for s in DemandStatus},
            "problems": sum(problems.values()), **{s.value: problems.get(s.value, 0) for s in ProblemStatus},
            "reopened": await Reopening.filter(problem__community_id__in=ids).count(),
            "actions": sum(actions.values()), "completed": actions.get(ActionStatus.COMPLETED.value, 0),
            "overdue": await Action.filter(community_id__in=ids, status=ActionStatus.PLANNED.value,
                                           due__lt=today).count(),
            "feedback": await Feedback.filter(problem__community_id__in=ids).count()}
