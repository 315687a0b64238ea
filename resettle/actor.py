"""Who is acting. Services check permission and scope against it and write it to the audit log."""

from __future__ import annotations

import getpass
from dataclasses import dataclass


@dataclass(frozen=True)
class Actor:
    login: str  # as written to the audit log, e.g. "cli:wang" or "web:li"
    role: str = "admin"
    township: str | None = None  # 9-digit code for a township liaison
    community_id: int | None = None
    name: str = ""
    user_id: int | None = None
    department: str = ""  # a department reviewer verifies the projects of its catalog items


def cli_actor() -> Actor:
    """The command line acts as the operating-system user, with full rights (it runs on the
    server, where that user already holds the database)."""
    try:
        name = getpass.getuser()
    except OSError:
        name = "unknown"
    return Actor(login=f"cli:{name}", role="admin")
