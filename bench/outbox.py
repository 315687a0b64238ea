"""Benchmark: the message outbox.

    python bench/outbox.py [--persons 30000] [--messages 2000] [--db postgres://postgres@127.0.0.1:5432/postgres]

1. imports a generated signing sheet (as bench/import_registry.py does) into a fresh database, then
   records move-ins for households in one transaction (`services.ledger.send_move_in`, the bulk
   path) until at least 10,000 hand-offs are sent, and counts the messages the outbox holds for
   them: the goal is one per receiving township, not one per hand-off;
2. then 200 more households move in one by one (200 transactions, as clerks record them): the
   messages of that burst join the ones not yet sent, so still one per township;
3. sets a robot for every township on a local HTTP server speaking the robot's contract, queues
   --messages messages across them and times `services.notify.run_once` draining them with the rate
   limit lifted (the claim, the POST, the mark, per message), against a baseline in the same run:
   the same bodies POSTed to the same server by a bare aiohttp loop, no database.
Prints the counts, messages/s and the ratio. Not a test.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
import time
import types
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

import import_registry as base  # noqa: E402  (the same sheet, databases and child-process runner)

BURST = 10_000
ONE_BY_ONE = 200


async def robot():
    from aiohttp import web

    posted = []

    async def handle(request):
        posted.append(await request.json())
        return web.json_response({"errcode": 0, "errmsg": "ok"})

    app = web.Application()
    app.router.add_post("/cgi-bin/webhook/send", handle)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = site._server.sockets[0].getsockname()[1]
    return runner, f"http://127.0.0.1:{port}/cgi-bin/webhook/send?key=bench-0000-0000-0000-000000000000", posted


async def run(url: str, messages: int) -> dict:
    import aiohttp
    from tortoise.transactions import in_transaction

    from resettle.actor import Actor
    from resettle.db import connection, open_db
    from resettle.models import OutboxMessage
    from resettle.policy import load_policy
    from resettle.rules import notify as rule
    from services import ledger, notify
    from services.work import begin

    policy, result = load_policy(), {}
    office = begin(Actor("bench", role="admin"), policy)
    async with open_db(url):
        conn = connection()
        households = await conn.execute_query_dict(
            "SELECT id, agreement_no, origin_township, dest_township FROM household "
            "WHERE origin_township <> dest_township ORDER BY id")
        on = office.today
        sent, chosen = 0, 0
        start = time.perf_counter()
        async with in_transaction() as tx:
            while sent < BURST and chosen < len(households) - ONE_BY_ONE:
                batch = households[chosen:chosen + 500]
                chosen += len(batch)
                ids = ", ".join(str(h["id"]) for h in batch)
                await tx.execute_query(f"UPDATE household SET status = 'moved_in', allocated_on = signed_on, "
                                       f"moved_in_on = signed_on, unit = '' WHERE id IN ({ids})")
                sent += await ledger.send_move_in(office, tx, [types.SimpleNamespace(**h) for h in batch], on)
        result["burst_seconds"] = time.perf_counter() - start
        result["handoffs"] = sent
        result["households"] = chosen
        result["townships"] = len({h["dest_township"] for h in households[:chosen]})
        result["messages"] = await OutboxMessage.filter(kind="handoff.arrived").count()
        result["counted"] = sum(await OutboxMessage.filter(kind="handoff.arrived").values_list("count", flat=True))

        start = time.perf_counter()
        for h in households[chosen:chosen + ONE_BY_ONE]:
            async with in_transaction() as tx:
                await tx.execute_query(f"UPDATE household SET status = 'moved_in', allocated_on = signed_on, "
                                       f"moved_in_on = signed_on, unit = '' WHERE id = {int(h['id'])}")
                sent += await ledger.send_move_in(office, tx, [types.SimpleNamespace(**h)], on)
        result["single_seconds"] = time.perf_counter() - start
        result["messages_after"] = await OutboxMessage.filter(kind="handoff.arrived").count()
        result["townships_after"] = len({h["dest_township"] for h in households[:chosen + ONE_BY_ONE]})
        result["handoffs_after"] = sent

        runner, webhook, posted = await robot()
        key = b"b" * 32
        try:
            codes = [t.code for t in policy.townships]
            for code in codes:
                await notify.set_channel(office, key, webhook, township=code)
            await OutboxMessage.all().delete()
            async with in_transaction():
                for i in range(messages):
                    await notify.enqueue(office, notify.Group("township", codes[i % len(codes)]), "project.returned",
                                         {"title": f"项目{i}", "reason": "补充材料"}, key=f"bench:{i}")
            sender = notify.Sender(key, "https://resettle.example.gov.cn", rate=10**9)
            async with aiohttp.ClientSession() as session:
                start = time.perf_counter()
                while await OutboxMessage.filter(status="queued").exists():
                    await notify.run_once(begin(office.actor, policy), sender, session)
                result["drain_seconds"] = time.perf_counter() - start
                result["drained"] = await OutboxMessage.filter(status="sent").count()
                result["posted"] = len(posted)
                result["distinct"] = len({p["markdown"]["content"] for p in posted})
                bodies = [rule.render("project.returned", 1, {"title": f"项目{i}", "reason": "补充材料"},
                                      "https://resettle.example.gov.cn") for i in range(messages)]
                start = time.perf_counter()
                for body in bodies:
                    async with session.post(webhook, json=rule.markdown_body(body)) as answer:
                        await answer.json()
                result["bare_seconds"] = time.perf_counter() - start
        finally:
            await runner.cleanup()
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--persons", type=int, default=30_000)
    parser.add_argument("--messages", type=int, default=2_000)
    parser.add_argument("--db", help="PostgreSQL server URL (a database is created and dropped); default SQLite")
    parser.add_argument("--workdir", default="/tmp/resettle-bench")
    args = parser.parse_args()
    workdir = Path(args.workdir)
    sheet = base.signing_sheet(workdir, args.persons)
    url = base.fresh_database(args.db, workdir, "outbox")
    try:
        imported = base.child("import", url, str(sheet))
        r = asyncio.run(run(url, args.messages))
    finally:
        base.drop_database(args.db, url)
    print(f"engine               {'PostgreSQL' if args.db else 'SQLite'}")
    print(f"registry             {imported['persons']:,} persons")
    print(f"burst                {r['handoffs']:,} hand-offs of {r['households']:,} move-ins in one transaction "
          f"({r['burst_seconds']:.2f} s) -> {r['messages']} messages for {r['townships']} receiving townships "
          f"(counts add up to {r['counted']:,}; goal: one per township)")
    print(f"one by one           {ONE_BY_ONE} more move-ins in {ONE_BY_ONE} transactions "
          f"({r['single_seconds']:.2f} s), "
          f"{r['handoffs_after']:,} hand-offs in all -> {r['messages_after']} messages for "
          f"{r['townships_after']} townships")
    rate, bare = r["drained"] / r["drain_seconds"], args.messages / r["bare_seconds"]
    print(f"drain                {r['drained']:,} messages sent, {r['posted']:,} posted ({r['distinct']:,} distinct) "
          f"in {r['drain_seconds']:.2f} s: {rate:,.0f} messages/s; bare aiohttp POST loop {bare:,.0f}/s; "
          f"ratio {rate / bare:.2f}")
    print("(at the robots' real limit, 20 a minute per robot, 14 township robots drain 280 messages a minute)")


if __name__ == "__main__":
    main()
