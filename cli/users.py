"""`resettle users`: accounts, passwords, sessions and API tokens.
Parse options, call a service, print: no rules live here."""

from __future__ import annotations

import sys

import click

from cli.common import db_option, run, work
from cli.output import FORMATS, render
from resettle.rules.permissions import CARRIAGES, ROLES
from services import accounts


@click.group("users")
def users_group() -> None:
    """账号：添加、列出、改密码、停用、全部退出登录、发放 API 令牌。"""


def _password(stdin: bool) -> str:
    if stdin:
        return sys.stdin.readline().rstrip("\n")
    return click.prompt("密码", hide_input=True, confirmation_prompt="再输入一次")


@users_group.command("add")
@click.argument("login")
@click.option("--name", required=True, help="姓名")
@click.option("--role", required=True, type=click.Choice(list(ROLES)), help="角色")
@click.option("--township", help="乡镇信息员所在乡镇")
@click.option("--community", help="三合署窗口所在安置社区（重名时写 乡镇/社区名）")
@click.option("--carriage", type=click.Choice(list(CARRIAGES)), default=None, help="三驾马车之一")
@click.option("--department", default="", help="业务主管部门名称")
@click.option("--password-stdin", is_flag=True, help="从标准输入读取密码（脚本用）")
@db_option
def users_add(login, name, role, township, community, carriage, department, password_stdin, db) -> None:
    """添加账号；密码在提示符下输入，或用 --password-stdin。"""
    password = _password(password_stdin)
    user = run(db, lambda: accounts.add_user(work(), login, name, role, password, township=township,
                                             community=community, carriage=carriage or "",
                                             department=department))
    click.echo(f"已添加账号 {user['login']}（{user['name']}，{user['role_label']}）")


USER_COLUMNS = {"login": "登录名", "name": "姓名", "role_label": "角色", "township": "乡镇",
                "community": "安置社区", "carriage": "三驾马车", "department": "部门", "active": "启用"}


@users_group.command("list")
@click.option("--format", "fmt", type=FORMATS, default="table")
@db_option
def users_list(fmt, db) -> None:
    """列出所有账号。"""
    users = run(db, lambda: accounts.list_users(work()))
    click.echo(render(users, USER_COLUMNS, fmt))


@users_group.command("passwd")
@click.argument("login")
@click.option("--password-stdin", is_flag=True, help="从标准输入读取新密码")
@db_option
def users_passwd(login, password_stdin, db) -> None:
    """修改账号的密码（其所有登录会话随之结束）。"""
    password = _password(password_stdin)
    run(db, lambda: accounts.set_password(work(), login, password))
    click.echo(f"已修改 {login} 的密码")


@users_group.command("disable")
@click.argument("login")
@db_option
def users_disable(login, db) -> None:
    """停用账号（其 API 令牌和所有登录会话一并作废）。"""
    run(db, lambda: accounts.disable(work(), login))
    click.echo(f"已停用 {login}")


@users_group.command("signout")
@click.argument("login")
@db_option
def users_signout(login, db) -> None:
    """让账号在所有浏览器上退出登录（如手机丢失、在公用电脑上忘记退出）。"""
    ended = run(db, lambda: accounts.sign_out_everywhere(work(), login))
    click.echo(f"已让 {login} 在所有浏览器上退出登录（结束 {ended} 个会话）")


@users_group.command("token")
@click.argument("login")
@db_option
def users_token(login, db) -> None:
    """为账号发放新的 API 令牌（旧令牌作废），只打印令牌本身。"""
    click.echo(run(db, lambda: accounts.issue_token(work(), login)))
