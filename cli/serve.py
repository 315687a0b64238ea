"""`resettle serve`: the web workbench and JSON API, in one process or several.
Parse options, call a service, print: no rules live here."""

from __future__ import annotations

import asyncio
import logging
import sys

import click

from cli.common import db_option, fail, run
from resettle.db import resolve_url


@click.command()
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", default=8080, show_default=True, type=int)
@click.option("--workers", type=click.IntRange(1, 64), default=1, show_default=True,
              help="服务进程数：多个进程共用同一端口，须使用 PostgreSQL")
@click.option("--worker", is_flag=True, hidden=True)  # one of --workers' processes
@db_option
def serve(host, port, workers, worker, db) -> None:
    """启动网页工作台与 JSON API。"""
    from aiohttp import web

    from web import logs
    from web.app import init_app
    from web.security import secret_key

    if workers > 1:
        _serve_workers(host, port, workers, db)
        return
    if not worker:
        run(db, lambda: asyncio.sleep(0))  # migrate before serving
        click.echo(f"工作台：http://{host}:{port}/  （Ctrl+C 停止）")
    logs.configure()
    # one SQLite process also drains the message outbox; several processes: `resettle notify run`
    send = resolve_url(db).startswith("sqlite")
    web.run_app(init_app(db, secret=secret_key(), send=send), host=host, port=port, print=None, reuse_port=worker,
                access_log_class=logs.AccessLog, access_log=logging.getLogger("resettle.access"))


def _serve_workers(host: str, port: int, workers: int, db: str | None) -> None:
    """N processes on one port (SO_REUSEPORT: the kernel spreads connections). The parent
    migrates and makes the session key first, so the workers never race for either."""
    import signal
    import subprocess

    from web.security import secret_key

    url = resolve_url(db)
    if not url.startswith("postgres://"):
        fail("多个服务进程须使用 PostgreSQL（SQLite 同一时间只允许一个进程写入）："
             "请先 resettle db copy --to postgres://…", 2)
    run(db, lambda: asyncio.sleep(0))
    secret_key()
    command = [sys.executable, "-c", "from cli.main import main; main()", "serve", "--host", host,
               "--port", str(port), "--db", url, "--worker"]
    children = [subprocess.Popen(command) for _ in range(workers)]
    click.echo(f"工作台：http://{host}:{port}/  （{workers} 个服务进程，Ctrl+C 停止）")

    def stop(signum, frame) -> None:
        for child in children:
            child.send_signal(signal.SIGTERM)
    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    codes = [child.wait() for child in children]
    sys.exit(max(codes, key=abs) if any(codes) else 0)
