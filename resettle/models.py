"""Tables. Money is integer fen; timestamps are UTC; rows people edit carry `version`."""

from __future__ import annotations

import contextlib

from tortoise import fields
from tortoise.indexes import Index
from tortoise.models import Model


class Timestamped(Model):
    id = fields.IntField(primary_key=True)
    created_at = fields.DatetimeField(auto_now_add=True)
    updated_at = fields.DatetimeField(auto_now=True)

    class Meta:
        abstract = True


class Place(Timestamped):
    township_code = fields.CharField(max_length=9)
    name = fields.CharField(max_length=64)

    class Meta:
        abstract = True


class Village(Place):
    """Origin village, created on first sight in a sheet."""

    class Meta:
        table = "village"
        unique_together = (("township_code", "name"),)


class Community(Place):
    """Settlement community (集中居住点 / 安置社区) in its destination township."""

    class Meta:
        table = "community"
        unique_together = (("township_code", "name"),)


class Household(Timestamped):
    """One relocation agreement (协议编号). Person counts are kept here so that township and
    community counts over a city-sized registry read one narrow index, not a million persons."""

    agreement_no = fields.CharField(max_length=64, unique=True)
    origin_township = fields.CharField(max_length=9)
    village = fields.ForeignKeyField("models.Village", related_name="households",
                                     on_delete=fields.RESTRICT)
    group = fields.CharField(max_length=32, default="")
    dest_township = fields.CharField(max_length=9)
    community = fields.ForeignKeyField("models.Community", related_name="households",
                                       on_delete=fields.RESTRICT)
    unit = fields.CharField(max_length=64, default="")
    status = fields.CharField(max_length=16)
    signed_on = fields.DateField()
    handed_over_on = fields.DateField(null=True)
    allocated_on = fields.DateField(null=True)
    moved_in_on = fields.DateField(null=True)
    withdrawn_on = fields.DateField(null=True)
    withdrawn_reason = fields.CharField(max_length=200, default="")
    member_count = fields.IntField(default=0)
    # members whose hukou is not in the destination township (人户分离 once moved in)
    separated_count = fields.IntField(default=0)
    version = fields.IntField(default=1)

    class Meta:
        table = "household"
        indexes = (
            Index(fields=("origin_township", "status", "member_count"), name="ix_household_origin"),
            Index(fields=("dest_township", "status", "member_count"), name="ix_household_dest"),
            Index(fields=("community_id", "status", "member_count", "separated_count"),
                  name="ix_household_community"),
            Index(fields=("unit",), name="ix_household_unit"),  # search by 房号
            # and ux_household_unit_held (migration 0010): a partial unique index on
            # (community_id, unit) of the statuses that hold a unit (rules.household.HOLDS_UNIT)
        )


class Person(Timestamped):
    household = fields.ForeignKeyField("models.Household", related_name="members",
                                       on_delete=fields.RESTRICT, db_index=True)
    id_number = fields.CharField(max_length=18, unique=True)
    name = fields.CharField(max_length=64, db_index=True)
    relation = fields.CharField(max_length=16)
    phone = fields.CharField(max_length=32, default="")
    hukou_township = fields.CharField(max_length=9)
    hukou_moved_on = fields.DateField(null=True)
    # 、-joined 特殊群体 tags: a cache of the person's open basic tags (PersonTag), kept because
    # the catalog rule and the bulk import read it per person without a join
    tags = fields.CharField(max_length=200, default="")
    # from the ID (GB 11643 digits 7-14), stored so that age groups are index range counts;
    # save() and the import fill it, migration 0012 filled the rows before it
    birth_date = fields.DateField(null=True)
    version = fields.IntField(default=1)
    # a member no longer in the household (a household event): when, and "death" or "leave";
    # the row stays, so the ledger and the history keep their person. Nullable, so the bulk
    # inserts of the import need not name them.
    left_on = fields.DateField(null=True)
    left_kind = fields.CharField(max_length=8, null=True)
    # Copies for the 一老一小一残 counts (services.groups), so that they are index-only range
    # counts on this table alone: the household's community, and whether the person counts
    # today (household not withdrawn, person present). Kept true by services.groups.sync_counted
    # on every write path, the one statement of the rule; a default of false makes a path that
    # forgets undercount visibly (tests/test_groups.py compares them with a recomputation).
    community_id = fields.IntField(null=True)
    counted = fields.BooleanField(default=False)

    class Meta:
        table = "person"
        indexes = (Index(fields=("birth_date", "household_id"), name="ix_person_birth"),
                   Index(fields=("counted", "community_id", "birth_date"), name="ix_person_counted"),
                   Index(fields=("left_on",), name="ix_person_left"))

    async def save(self, *args, **kwargs) -> None:
        if self.id_number and len(self.id_number) == 18:
            from resettle.rules.idnumber import birth_date

            with contextlib.suppress(ValueError):  # an invalid ID is refused elsewhere
                self.birth_date = birth_date(self.id_number)
        await super().save(*args, **kwargs)


class AuditEvent(Model):
    """Append-only: one row per mutation, never updated or deleted."""

    id = fields.BigIntField(primary_key=True)
    at = fields.DatetimeField(auto_now_add=True, db_index=True)
    actor = fields.CharField(max_length=64, db_index=True)
    action = fields.CharField(max_length=64)
    object_type = fields.CharField(max_length=32)
    object_id = fields.CharField(max_length=64)
    changes = fields.JSONField(default=dict)  # {"field": [before, after], ...} or a summary

    class Meta:
        table = "audit_event"
        indexes = (Index(fields=("object_type", "object_id"), name="ix_audit_object"),)


class User(Timestamped):
    """A person who logs in. Scope: a township liaison sees its township's out- and in-moving
    households; desk staff see their community."""

    login = fields.CharField(max_length=64, unique=True)
    name = fields.CharField(max_length=64)
    role = fields.CharField(max_length=16)
    township_code = fields.CharField(max_length=9, null=True)
    community = fields.ForeignKeyField("models.Community", related_name="users", null=True,
                                       on_delete=fields.RESTRICT)
    carriage = fields.CharField(max_length=8, default="")  # 居委会 / 业委会 / 物业 for desk staff
    department = fields.CharField(max_length=64, default="")
    password_hash = fields.CharField(max_length=200)
    token_hash = fields.CharField(max_length=64, null=True, unique=True)  # sha256 of the API token
    active = fields.BooleanField(default=True)
    version = fields.IntField(default=1)

    class Meta:
        table = "app_user"


class Throttle(Model):
    """Failed logins per account and per address, kept in the database so that every server
    process sees the same count."""

    key = fields.CharField(max_length=128, primary_key=True)
    failures = fields.IntField(default=0)
    window_start = fields.DatetimeField()
    locked_until = fields.DatetimeField(null=True)

    class Meta:
        table = "login_throttle"
        indexes = (Index(fields=("window_start",), name="ix_login_throttle_window"),)  # the sweep


class LoginSession(Model):
    """One signed-in browser. The cookie carries a random id, this table its hash: logging out
    ends that browser's session only, while a new password, a disabled account or "sign out
    everywhere" deletes every row of the user (a per-user counter could only do the latter).
    A session also ends SESSION_LIFETIME after `created_at`, however busy it has been."""

    key = fields.CharField(max_length=64, primary_key=True)  # sha256 of the id in the cookie
    user = fields.ForeignKeyField("models.User", related_name="sessions", on_delete=fields.CASCADE,
                                  db_index=True)
    created_at = fields.DatetimeField()

    class Meta:
        table = "login_session"
        indexes = (Index(fields=("created_at",), name="ix_login_session_created"),)


class Entitlement(Timestamped):
    """事项台账: one person × one welfare matter, with the township responsible now. Lines are
    never deleted: they close with a date and a reason."""

    person = fields.ForeignKeyField("models.Person", related_name="entitlements", on_delete=fields.RESTRICT)
    matter_code = fields.CharField(max_length=16)
    routing = fields.CharField(max_length=8)  # as opened; a policy change never rewrites it
    responsible_township = fields.CharField(max_length=9)
    opened_on = fields.DateField()
    closed_on = fields.DateField(null=True)
    close_reason = fields.CharField(max_length=200, default="")
    version = fields.IntField(default=1)

    class Meta:
        table = "entitlement"
        indexes = (
            Index(fields=("person_id", "matter_code"), name="ix_entitlement_person"),
            Index(fields=("matter_code", "closed_on", "responsible_township"), name="ix_entitlement_matter"),
        )


class Handoff(Timestamped):
    """双向对接: a dated message between two townships. A transfer carries one line and moves its
    responsibility when completed; a notice tells the destination which matters stay (the
    household's lines the origin holds, read when shown)."""

    kind = fields.CharField(max_length=8)
    status = fields.CharField(max_length=12)
    household = fields.ForeignKeyField("models.Household", related_name="handoffs", on_delete=fields.RESTRICT)
    entitlement = fields.ForeignKeyField("models.Entitlement", related_name="handoffs", null=True,
                                         on_delete=fields.RESTRICT)
    from_township = fields.CharField(max_length=9)
    to_township = fields.CharField(max_length=9)
    sent_on = fields.DateField()
    accept_due = fields.DateField()
    complete_due = fields.DateField()
    accepted_on = fields.DateField(null=True)
    completed_on = fields.DateField(null=True)
    closed_on = fields.DateField(null=True)  # rejected or revoked
    reason = fields.CharField(max_length=200, default="")
    resend_of = fields.ForeignKeyField("models.Handoff", related_name="resends", null=True,
                                       on_delete=fields.RESTRICT)
    version = fields.IntField(default=1)
    # the actor who sent it, as the audit log names actors ("web:chenjia"); "" on the rows sent
    # before migration 0017, whose page infers the sender from the log
    sent_by = fields.CharField(max_length=64, default="")

    class Meta:
        table = "handoff"
        indexes = (
            # and, for the inbox, partial indexes of the open ones by due date (migration 0009)
            Index(fields=("to_township", "status", "accept_due"), name="ix_handoff_to"),
            Index(fields=("from_township", "status", "accept_due"), name="ix_handoff_from"),
            Index(fields=("household_id",), name="ix_handoff_household"),
            Index(fields=("entitlement_id",), name="ix_handoff_entitlement"),
            Index(fields=("resend_of_id",), name="ix_handoff_resend"),
        )


class Desk(Timestamped):
    """三合署 of one settlement community: its fixed weekly reception slot when it differs from
    the policy's. Members are the desk users of the community (User.carriage)."""

    community = fields.OneToOneField("models.Community", related_name="desk", on_delete=fields.RESTRICT)
    reception_weekday = fields.IntField()  # ISO weekday
    reception_start = fields.CharField(max_length=5)
    reception_end = fields.CharField(max_length=5)
    version = fields.IntField(default=1)

    class Meta:
        table = "desk"


class DeskWeek(Timestamped):
    """One community's ISO week: who received residents from each carriage, and the weekly
    meeting (attendance per carriage, decisions). Attendance is {carriage: [names]}."""

    community = fields.ForeignKeyField("models.Community", related_name="desk_weeks", on_delete=fields.RESTRICT)
    week = fields.CharField(max_length=8)  # 2026-W47
    reception_attendance = fields.JSONField(default=dict)
    meeting_on = fields.DateField(null=True)
    meeting_attendance = fields.JSONField(default=dict)
    decisions = fields.TextField(default="")
    version = fields.IntField(default=1)

    class Meta:
        table = "desk_week"
        unique_together = (("community_id", "week"),)


class Problem(Timestamped):
    """问题: what one or more demands are about, worked by actions until residents are content."""

    community = fields.ForeignKeyField("models.Community", related_name="problems", on_delete=fields.RESTRICT)
    category = fields.CharField(max_length=16)
    title = fields.CharField(max_length=200)
    description = fields.TextField(default="")
    status = fields.CharField(max_length=12)
    opened_on = fields.DateField()
    scheduled_on = fields.DateField(null=True)
    done_on = fields.DateField(null=True)
    happy_on = fields.DateField(null=True)
    round = fields.IntField(default=1)  # feedback round: +1 each time residents reopen it
    version = fields.IntField(default=1)

    class Meta:
        table = "problem"
        indexes = (
            Index(fields=("community_id", "status", "category"), name="ix_problem_open"),
            Index(fields=("community_id", "opened_on"), name="ix_problem_opened"),
            Index(fields=("community_id", "happy_on"), name="ix_problem_happy"),
        )


class Demand(Timestamped):
    """需求: what a resident (or a non-resident with a contact) asked, by which channel."""

    community = fields.ForeignKeyField("models.Community", related_name="demands", on_delete=fields.RESTRICT)
    received_on = fields.DateField()
    channel = fields.CharField(max_length=12)
    category = fields.CharField(max_length=16)
    text = fields.TextField()
    person = fields.ForeignKeyField("models.Person", related_name="demands", null=True, on_delete=fields.RESTRICT)
    resident_name = fields.CharField(max_length=64)
    contact = fields.CharField(max_length=32, default="")
    unit = fields.CharField(max_length=64, default="")
    entitlement = fields.ForeignKeyField("models.Entitlement", related_name="demands", null=True,
                                         on_delete=fields.RESTRICT)
    status = fields.CharField(max_length=12)
    problem = fields.ForeignKeyField("models.Problem", related_name="demands", null=True, on_delete=fields.RESTRICT)
    closed_on = fields.DateField(null=True)  # linked, answered or declined
    answer = fields.TextField(default="")  # the on-the-spot answer or the reason for declining
    version = fields.IntField(default=1)

    class Meta:
        table = "demand"
        indexes = (
            Index(fields=("community_id", "received_on"), name="ix_demand_received"),
            Index(fields=("community_id", "status"), name="ix_demand_status"),
            Index(fields=("problem_id",), name="ix_demand_problem"),
            Index(fields=("person_id",), name="ix_demand_person"),
            Index(fields=("entitlement_id",), name="ix_demand_entitlement"),
        )


class Action(Timestamped):
    """实事: one step a carriage or a township department takes on a problem, with a due date."""

    problem = fields.ForeignKeyField("models.Problem", related_name="actions", on_delete=fields.RESTRICT)
    community = fields.ForeignKeyField("models.Community", related_name="actions", on_delete=fields.RESTRICT)
    owner = fields.CharField(max_length=64)
    text = fields.CharField(max_length=500)
    decided_on = fields.DateField()
    due = fields.DateField()
    status = fields.CharField(max_length=12)
    completed_on = fields.DateField(null=True)
    result = fields.TextField(default="")
    version = fields.IntField(default=1)

    class Meta:
        table = "desk_action"
        indexes = (
            Index(fields=("problem_id",), name="ix_action_problem"),
            Index(fields=("community_id", "status", "due"), name="ix_action_due"),
            Index(fields=("community_id", "decided_on"), name="ix_action_decided"),
        )


class Feedback(Timestamped):
    """回访: one resident's answer about a done problem, per round (a reopen starts a new round)."""

    demand = fields.ForeignKeyField("models.Demand", related_name="feedback", on_delete=fields.RESTRICT)
    problem = fields.ForeignKeyField("models.Problem", related_name="feedback", on_delete=fields.RESTRICT)
    round = fields.IntField()
    rating = fields.CharField(max_length=12)
    remark = fields.CharField(max_length=500, default="")
    given_on = fields.DateField()

    class Meta:
        table = "feedback"
        unique_together = (("demand_id", "round"),)
        indexes = (Index(fields=("problem_id", "round"), name="ix_feedback_problem"),
                   Index(fields=("given_on",), name="ix_feedback_given"))


class Reopening(Model):
    """A done problem sent back to work because residents were not content (append-only)."""

    id = fields.IntField(primary_key=True)
    problem = fields.ForeignKeyField("models.Problem", related_name="reopenings", on_delete=fields.RESTRICT)
    round = fields.IntField()  # the round that ended
    on = fields.DateField()
    reason = fields.TextField()

    class Meta:
        table = "reopening"
        indexes = (Index(fields=("problem_id",), name="ix_reopening_problem"),
                   Index(fields=("on",), name="ix_reopening_on"))


class Project(Timestamped):
    """社区治理项目 asking for district–township co-funding. Amounts in fen. The ratio and the two
    shares are frozen at approval, so a later policy change never alters history."""

    township_code = fields.CharField(max_length=9)
    community = fields.ForeignKeyField("models.Community", related_name="projects", on_delete=fields.RESTRICT)
    kind = fields.CharField(max_length=12)
    item_code = fields.CharField(max_length=16, default="")  # empty for 一事一议
    department = fields.CharField(max_length=64)  # who verifies: the item's, or chosen for 一事一议
    title = fields.CharField(max_length=200)
    year = fields.IntField()
    description = fields.TextField(default="")
    area_m2 = fields.IntField(null=True)
    deliberation = fields.JSONField(null=True)  # 一事一议: body, held_on, attendance, votes_for, votes_against
    status = fields.CharField(max_length=12)
    requested = fields.BigIntField()
    verified = fields.BigIntField(null=True)
    approved = fields.BigIntField(null=True)
    ratio_bp = fields.IntField(null=True)  # district share in basis points, frozen at approval
    district_share = fields.BigIntField(null=True)
    township_share = fields.BigIntField(null=True)
    spent = fields.BigIntField(null=True)
    submitted_on = fields.DateField(null=True)
    verified_on = fields.DateField(null=True)
    verified_by = fields.CharField(max_length=64, default="")
    approved_on = fields.DateField(null=True)
    approved_by = fields.CharField(max_length=64, default="")
    completed_on = fields.DateField(null=True)
    reason = fields.CharField(max_length=500, default="")  # why returned or rejected
    # the verdict at submission, as the reviewers judged it: later drafts or policy changes never
    # rewrite what an approval rested on
    qualification = fields.JSONField(null=True)
    version = fields.IntField(default=1)

    class Meta:
        table = "project"
        indexes = (
            Index(fields=("year", "status", "township_code"), name="ix_project_year"),
            Index(fields=("status", "department", "year"), name="ix_project_queue"),
            Index(fields=("community_id", "item_code", "year"), name="ix_project_item"),
        )


class ProjectEvidence(Model):
    """A desk problem a project cites (the residents who raised it are its evidence)."""

    id = fields.IntField(primary_key=True)
    project = fields.ForeignKeyField("models.Project", related_name="evidence", on_delete=fields.RESTRICT)
    problem = fields.ForeignKeyField("models.Problem", related_name="projects", on_delete=fields.RESTRICT)

    class Meta:
        table = "project_evidence"
        unique_together = (("project_id", "problem_id"),)


class FundingYear(Model):
    """The district envelope of a year and what approvals have committed of it. Approval adds to
    `committed` with a conditional UPDATE (committed + share <= envelope), so two approvals at the
    same moment can never overspend, on SQLite as on PostgreSQL."""

    year = fields.IntField(primary_key=True)
    envelope = fields.BigIntField()
    committed = fields.BigIntField(default=0)

    class Meta:
        table = "funding_year"


class Job(Model):
    """Long work started from a page (an import, a year's papers): its progress and outcome, kept
    in the database so that any server process can show it. The process running it beats a
    heartbeat; a job whose heartbeat stops is reported failed (its work was one transaction, so
    nothing was half-written)."""

    key = fields.CharField(max_length=64, primary_key=True)
    kind = fields.CharField(max_length=16)
    owner = fields.CharField(max_length=64)
    worker = fields.CharField(max_length=128)  # host:pid running it
    status = fields.CharField(max_length=8)  # running | done | failed
    stage = fields.CharField(max_length=64, default="排队")
    done = fields.BigIntField(default=0)
    total = fields.BigIntField(default=0)
    result = fields.JSONField(null=True)
    error = fields.TextField(default="")
    started_at = fields.DatetimeField(auto_now_add=True)
    heartbeat_at = fields.DatetimeField()

    class Meta:
        table = "job"
        indexes = (Index(fields=("status", "heartbeat_at"), name="ix_job_running"),)


class Channel(Timestamped):
    """Where a township, community or department is told things: a 企业微信/政务微信 group robot.
    The webhook URL is a secret: stored only as a Fernet token under the site key, listed by
    `hint` (host and the key's last four characters)."""

    scope = fields.CharField(max_length=12)  # township | community | department
    target = fields.CharField(max_length=64)  # township code, community id, department name
    kind = fields.CharField(max_length=8, default="robot")
    secret = fields.TextField()  # Fernet token of the webhook URL
    hint = fields.CharField(max_length=80)
    failures = fields.IntField(default=0)  # consecutive failed attempts
    failing_since = fields.DatetimeField(null=True)  # set when the sender gives up on it
    last_error = fields.CharField(max_length=300, default="")
    version = fields.IntField(default=1)

    class Meta:
        table = "notify_channel"
        unique_together = (("scope", "target", "kind"),)


class OutboxMessage(Model):
    """A message to a group, written in the transaction of the event it reports (so a rolled-back
    event sends nothing) and delivered by `services.notify.run_once`. `key` makes enqueueing
    idempotent; `batch` lets later events of a batched kind join a message nobody has claimed yet
    (10,000 hand-offs, one message per township). The sender owns a row only through a
    conditional UPDATE of `claimed_until` (checked by row count), so two senders never both post
    it; a claim whose sender died is never posted again automatically (status `unknown`)."""

    id = fields.BigIntField(primary_key=True)
    created_at = fields.DatetimeField(auto_now_add=True)
    scope = fields.CharField(max_length=12)
    target = fields.CharField(max_length=64)
    kind = fields.CharField(max_length=32)
    key = fields.CharField(max_length=160, unique=True)
    batch = fields.CharField(max_length=160, null=True)
    count = fields.IntField(default=1)
    payload = fields.JSONField(default=dict)
    body = fields.TextField(default="")
    status = fields.CharField(max_length=8, default="queued")  # queued|sending|sent|failed|unknown|digest
    due_at = fields.DatetimeField()
    attempts = fields.IntField(default=0)
    next_attempt_at = fields.DatetimeField()
    claimed_by = fields.CharField(max_length=128, default="")
    claimed_until = fields.DatetimeField(null=True)
    sent_at = fields.DatetimeField(null=True)
    failed_at = fields.DatetimeField(null=True)
    last_error = fields.CharField(max_length=300, default="")

    class Meta:
        table = "outbox_message"
        indexes = (
            Index(fields=("status", "next_attempt_at"), name="ix_outbox_due"),
            Index(fields=("scope", "target", "status"), name="ix_outbox_target"),
            Index(fields=("batch", "status"), name="ix_outbox_batch"),
        )


class Notice(Model):
    """The bell: one row per user and event, so nothing depends on the robot alone."""

    id = fields.BigIntField(primary_key=True)
    user = fields.ForeignKeyField("models.User", related_name="notices", on_delete=fields.CASCADE,
                                  db_index=False)
    key = fields.CharField(max_length=160)
    kind = fields.CharField(max_length=32)
    text = fields.CharField(max_length=300)
    link = fields.CharField(max_length=200, default="")
    created_at = fields.DatetimeField()
    read_at = fields.DatetimeField(null=True)

    class Meta:
        table = "notice"
        unique_together = (("user_id", "key"),)
        indexes = (Index(fields=("user_id", "read_at", "id"), name="ix_notice_unread"),)


class Escalation(Timestamped):
    """督办: the office presses the group responsible for an overdue hand-off, action or project step,
    with a note and a new date. It stays open until the item is done (closed_on is set by the sweep
    that finds it done), and is counted per township, opened and closed."""

    object_type = fields.CharField(max_length=8)  # handoff | action | project
    object_id = fields.IntField()
    at_status = fields.CharField(max_length=12)  # the item's state when pressed: done once it moves on
    township_code = fields.CharField(max_length=9)  # the township the item belongs to, for the counts
    scope = fields.CharField(max_length=12)  # the group told
    target = fields.CharField(max_length=64)
    note = fields.CharField(max_length=200)
    new_due = fields.DateField()
    opened_on = fields.DateField()
    opened_by = fields.CharField(max_length=64)
    closed_on = fields.DateField(null=True)
    version = fields.IntField(default=1)

    class Meta:
        table = "escalation"
        indexes = (
            Index(fields=("object_type", "object_id"), name="ix_escalation_object"),
            Index(fields=("township_code", "closed_on"), name="ix_escalation_township"),
        )


class HouseholdEvent(Model):
    """A dated change of a household's members (birth, death, join, leave, 户主 change, 分户),
    append-only: `persons` are the person ids it concerns, `detail` what the forms said and what
    the ledger did (lines opened, closed, handed off)."""

    id = fields.IntField(primary_key=True)
    household = fields.ForeignKeyField("models.Household", related_name="change_events",
                                       on_delete=fields.RESTRICT)
    kind = fields.CharField(max_length=8)
    on = fields.DateField()
    persons = fields.JSONField(default=list)
    detail = fields.JSONField(default=dict)
    actor = fields.CharField(max_length=64)
    created_at = fields.DatetimeField()

    class Meta:
        table = "household_event"
        indexes = (Index(fields=("household_id", "on"), name="ix_household_event_household"),)


class ChangeRequest(Timestamped):
    """A birth or a death a desk heard of at the reception, waiting for the township liaison:
    nothing changes in the household until it is confirmed (then `event` is what it became)."""

    household = fields.ForeignKeyField("models.Household", related_name="change_requests",
                                       on_delete=fields.RESTRICT)
    kind = fields.CharField(max_length=8)
    on = fields.DateField()
    detail = fields.JSONField(default=dict)  # birth: name, id_number, relation; death: person_id
    status = fields.CharField(max_length=10)
    requested_by = fields.CharField(max_length=64)
    decided_by = fields.CharField(max_length=64, default="")
    decided_on = fields.DateField(null=True)
    reason = fields.CharField(max_length=200, default="")  # why refused
    event = fields.ForeignKeyField("models.HouseholdEvent", related_name="requests", null=True,
                                   on_delete=fields.RESTRICT)
    version = fields.IntField(default=1)

    class Meta:
        table = "change_request"
        indexes = (
            Index(fields=("status", "household_id"), name="ix_change_request_status"),  # pending lists
            Index(fields=("household_id",), name="ix_change_request_household"),
            Index(fields=("event_id",), name="ix_change_request_event"),
        )


class PersonTag(Timestamped):
    """A basic tag (基础标签) granted to a person by its owner for a period: renewing extends
    valid_to, closing ends it with a reason. Rows are never deleted, so a person's tag history is
    its rows. A tag is in force from valid_from until it is closed (an expired one stays in force
    until its owner reviews it, as the ledger lines it drives do)."""

    person = fields.ForeignKeyField("models.Person", related_name="tag_grants", on_delete=fields.RESTRICT)
    tag = fields.CharField(max_length=16)
    valid_from = fields.DateField()
    valid_to = fields.DateField()
    granted_by = fields.CharField(max_length=64)
    renewed_on = fields.DateField(null=True)
    renewed_by = fields.CharField(max_length=64, default="")
    closed_on = fields.DateField(null=True)
    closed_by = fields.CharField(max_length=64, default="")
    reason = fields.CharField(max_length=200, default="")
    version = fields.IntField(default=1)
    # The person's copies (Person.community_id, Person.counted), so that the 残疾/独居 counts are
    # index-only on this table; services.groups.sync_counted keeps them true with the person's.
    community_id = fields.IntField(null=True)
    counted = fields.BooleanField(default=False)

    class Meta:
        table = "person_tag"
        indexes = (
            Index(fields=("person_id", "tag"), name="ix_person_tag_person"),  # a person's tags
            # the owner's review list (open tags by end date)
            Index(fields=("tag", "closed_on", "valid_to"), name="ix_person_tag_review"),
            # the group counts: per tag and community, in force on a day, distinct persons
            Index(fields=("tag", "counted", "community_id", "valid_from", "closed_on", "person_id"),
                  name="ix_person_tag_counted"),
        )
