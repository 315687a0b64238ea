"""Printing lists and counts as table, csv or json, and progress bars on a terminal."""

from __future__ import annotations

import csv
import io
import json
import re
import sys
import unicodedata
from collections.abc import Callable
from pathlib import Path

import click

from cli.common import attempt, fail

FORMATS = click.Choice(["table", "csv", "json"])


def _width(text: str) -> int:
    return sum(2 if unicodedata.east_asian_width(c) in "WF" else 1 for c in text)


# Control characters (C0, DEL, C1) of stored text: an escape sequence would drive the clerk's
# terminal (retitle it, hide lines, plant links); a line break or tab would break the table.
_CONTROL = re.compile(r"[\x00-\x08\x0b-\x0c\x0e-\x1f\x7f-\x9f]")
_BREAKS = re.compile(r"[\t\n\r]")


def _shown(value: object) -> str:
    """A table cell as the terminal may print it."""
    return _CONTROL.sub("\ufffd", _BREAKS.sub(" ", str(value)))


def render(rows: list[dict], columns: dict[str, str], fmt: str) -> str:
    """`columns` maps the stable English key to the Chinese header shown in table and csv."""
    if fmt == "json":
        return json.dumps(rows, ensure_ascii=False, indent=2, default=str)
    if fmt == "csv":
        from resettle.sheets import csv_rows  # pandas: only when a csv is asked for

        buffer = io.StringIO()
        csv.writer(buffer).writerows(csv_rows(rows, columns))  # formula-like text made inert
        return buffer.getvalue().rstrip("\r\n")
    cells = [list(columns.values())] + [[_shown(row.get(k, "")) for k in columns] for row in rows]
    widths = [max(_width(line[i]) for line in cells) for i in range(len(columns))]
    lines = []
    for n, line in enumerate(cells):
        lines.append("  ".join(c + " " * (w - _width(c)) for c, w in zip(line, widths, strict=True)).rstrip())
        if n == 0:
            lines.append("  ".join("-" * w for w in widths))
    return "\n".join(lines)


class Progress:
    """A click progress bar per stage on a terminal (stderr); silent otherwise."""

    def __init__(self, enabled: bool | None = None):
        self.enabled = sys.stderr.isatty() if enabled is None else enabled
        self.bars: dict[str, object] = {}
        self.done: dict[str, int] = {}

    def __call__(self, stage: str, done: int, total: int) -> None:
        if not self.enabled:
            return
        if stage not in self.bars:
            self.close()
            bar = click.progressbar(length=total, label=stage, file=sys.stderr)
            bar.__enter__()
            self.bars[stage], self.done[stage] = bar, 0
        self.bars[stage].update(done - self.done[stage])
        self.done[stage] = done

    def step(self, stage: str, total: int) -> Callable[[int], None]:
        count = 0

        def advance(n: int) -> None:
            nonlocal count
            count += n
            self(stage, count, total)
        return advance

    def close(self) -> None:
        for bar in self.bars.values():
            bar.__exit__(None, None, None)
        self.bars.clear()


def check_out(fmt: str, out: str | None) -> None:
    """A paper goes to a file of its own kind; a table only to the terminal."""
    if fmt in ("xlsx", "pdf") and not out:
        fail(f"--format {fmt} 需要用 --out 指定文件", 2)
    if fmt in ("xlsx", "pdf", "csv") and out and Path(out).suffix.lower() != f".{fmt}":
        fail(f"--out 应为 .{fmt} 文件", 2)
    if fmt == "table" and out:
        fail("表格只显示在屏幕上；保存到文件请用 --format xlsx、pdf、csv 或 json", 2)


def written(write: Callable[[], Path]) -> Path:
    return attempt(write, "无法写入文件")


def write_json(data, out: str | None) -> None:
    text = json.dumps(data, ensure_ascii=False, indent=2, default=str)
    if not out:
        click.echo(text)
        return

    def save() -> Path:
        Path(out).write_text(text + "\n", encoding="utf-8")
        return Path(out)
    click.echo(f"已保存 {written(save)}", err=True)
