"""Hand-made sheets for tests: exactly the cells a clerk would type."""

from __future__ import annotations

import csv
from pathlib import Path

from resettle.rules.idnumber import check_char


def make_id(born: str = "19800101", seq: int = 1, area: str = "310230") -> str:
    first17 = f"{area}{born}{seq:03d}"
    return first17 + check_char(first17)


HEADER = ["序号", "协议编号", "姓名", "身份证号", "与户主关系", "手机", "迁出乡镇", "迁出村", "迁出村民小组",
          "迁入乡镇", "安置社区", "房号", "签约日期", "交房日期", "户籍地", "特殊群体", "备注"]


def person(agreement="A-001", name="张三", id_number=None, relation="户主", phone="13812345678",
           origin="城桥镇", village="永乐村", group="3组", dest="陈家镇", community="陈家新苑", unit="",
           signed="2023-05-06", handed="", hukou="", tags="", **kw) -> list:
    return ["", agreement, name, id_number or make_id(), relation, phone, origin, village, group, dest,
            community, unit, signed, handed, hukou, tags, kw.get("note", "")]


def write_csv(path: Path, rows: list[list], *, encoding: str = "utf-8", title: bool = True,
              header: list[str] = HEADER) -> Path:
    with path.open("w", encoding=encoding, newline="") as handle:
        writer = csv.writer(handle)
        if title:
            writer.writerow(["城桥镇签约交房人员信息表"])
            writer.writerow([])
        writer.writerow(header)
        writer.writerows(rows)
    return path


def write_xlsx(path: Path, rows: list[list], *, header: list[str] = HEADER, title: bool = True) -> Path:
    from openpyxl import Workbook

    book = Workbook()
    sheet = book.active
    if title:
        sheet.append(["城桥镇签约交房人员信息表"])
        sheet.append([])
    sheet.append(header)
    for row in rows:
        sheet.append(row)
    book.save(path)
    return path
