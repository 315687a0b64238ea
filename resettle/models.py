"""Tables. Money is integer fen; timestamps are UTC; rows people edit carry `version`."""

from __future__ import annotations

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
    tags = fields.CharField(max_length=200, default="")  # 、-joined 特殊群体 tags
    version = fields.IntField(default=1)

    class Meta:
        table = "person"


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

    class Meta:
        table = "handoff"
        indexes = (
            Index(fields=("to_township", "status", "accept_due"), name="ix_handoff_to"),
            Index(fields=("from_township", "status", "accept_due"), name="ix_handoff_from"),
            Index(fields=("household_id",), name="ix_handoff_household"),
            Index(fields=("entitlement_id",), name="ix_handoff_entitlement"),
            Index(fields=("resend_of_id",), name="ix_handoff_resend"),
        )
