"""Typed contracts of the use cases: the pieces every area's `services/<area>_contracts.py` is
made of, and the one way a submitted value becomes a contract.

Convention: an area's contracts sit beside its service (`services/desk.py` and
`services/desk_contracts.py`), because they describe the use case, not the transport: the JSON
API parses into them and the OpenAPI document is generated from them, and the CLI and forms can
parse into the same models without importing the web. The `_contracts` suffix is the room's name
as `_views` is for reads.

Bodies are strict: only JSON integers are numbers (not "12", not 1.5, not true; 12.0 is an
integer as JSON Schema says), a date is written 2026-11-18, an unknown field is refused.
Every refusal is one Chinese sentence naming the field by its title (`ContractError.message`)."""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Callable
from typing import Annotated, Any, TypeVar

from pydantic import AfterValidator, BaseModel, BeforeValidator, ConfigDict, Field, ValidationError
from pydantic_core import PydanticCustomError

CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")  # not storable (NUL) or not typed by anyone
PRINTABLE = r"^[^\x00-\x08\x0b\x0c\x0e-\x1f\x7f]*$"  # the same, as the documents say it
_DATE = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}")
MAX_ID = 2**31 - 1


class Contract(BaseModel):
    """A use case's input as the API takes it: strict, nothing unknown."""

    model_config = ConfigDict(strict=True, extra="forbid")

    def given(self) -> dict:
        """The fields the caller gave (an omitted field keeps the service's default)."""
        return self.model_dump(exclude_unset=True)


class Query(Contract):
    """A query string: every value arrives as text, so the types below read ASCII digits and
    yes/no words; what a value means (a week, a community) is the service's to judge. A
    parameter the route does not take is refused, as an unknown body field is."""

    model_config = ConfigDict(strict=False, extra="forbid")


class Result(BaseModel):
    """A use case's result: the fields named are typed and documented; a result may carry more
    detail than its contract names (the pages read the same data)."""

    model_config = ConfigDict(extra="allow")


Rows = list[dict[str, Any]]  # detail rows a result carries as the pages show them


class ContractError(ValueError):
    """What was submitted does not fit the contract; `message` is the sentence for the user."""

    def __init__(self, message: str, *, choice: bool = False):
        super().__init__(message)
        self.message = message
        self.choice = choice  # a value outside the listed choices, rather than a malformed one


def refuse(kind: str, message: str):
    raise PydanticCustomError(kind, message)


def _no_control(value: str) -> str:
    if CONTROL.search(value):
        refuse("control", "含有无法保存的控制字符")
    return value


def _at_most(limit: int) -> Callable[[str], str]:
    def check(value: str) -> str:
        if len(value) > limit:
            refuse("too_long", f"不能超过{limit}字")
        return value
    return check


def text(limit: int, *choices: str, **documented: Any) -> Any:
    """A string of at most `limit` characters without control characters, one of `choices` if given."""
    def member(value: str) -> str:
        if choices and value not in choices:
            refuse("choice", f"只能是：{'、'.join(choices)}")
        return value
    extra = {"maxLength": limit, **({"enum": list(choices)} if choices else {"pattern": PRINTABLE})}
    return Annotated[str, AfterValidator(_no_control), AfterValidator(_at_most(limit)), AfterValidator(member),
                     Field(json_schema_extra=extra, **documented)]


def _integral(value: Any) -> Any:
    # JSON Schema counts 12.0 as an integer (the documents say "integer"); 12.5 stays a float
    return int(value) if isinstance(value, float) and value.is_integer() else value


def whole(low: int, high: int, *, read: Callable[[Any], Any] = _integral, **documented: Any) -> Any:
    """A JSON integer in [low, high] (`read` turns what was written into one)."""
    def within(value: int) -> int:
        if not low <= value <= high:
            refuse("range", f"应在{low}到{high}之间")
        return value
    return Annotated[int, BeforeValidator(read), AfterValidator(within),
                     Field(json_schema_extra={"minimum": low, "maximum": high}, **documented)]


# The dates a person may type: year 1 or 9999 is a typo, and a day after it or a review period
# from it overflows (the pages' web.fields.day holds the same range).
FIRST_DAY, LAST_DAY = dt.date(1900, 1, 1), dt.date(2199, 12, 31)
DAY_PATTERN = r"^(19|20|21)[0-9]{2}-[0-9]{2}-[0-9]{2}$"  # the range, as the document says it


def _iso_day(value: Any) -> Any:
    if isinstance(value, str):
        if _DATE.fullmatch(value):
            try:
                parsed = dt.date.fromisoformat(value)
            except ValueError:
                parsed = None
            if parsed is not None:
                if not FIRST_DAY <= parsed <= LAST_DAY:
                    refuse("date", f"日期应在{FIRST_DAY:%Y}年到{LAST_DAY:%Y}年之间")
                return parsed
        refuse("date", "应为日期，写成 2026-11-18")
    return value


def day(*, nullable: bool = False, **documented: Any) -> Any:
    """A date written 2026-11-18 (ASCII digits); null too when `nullable`."""
    return Annotated[dt.date | None if nullable else dt.date, BeforeValidator(_iso_day),
                     Field(json_schema_extra={"maxLength": 10, "pattern": DAY_PATTERN}, **documented)]


def items(kind: Any, low: int, high: int, **documented: Any) -> Any:
    """A JSON array of `low` to `high` values of `kind`."""
    def counted(value: list) -> list:
        if not low <= len(value) <= high:
            refuse("count", f"应有{low}到{high}项")
        return value
    return Annotated[list[kind], AfterValidator(counted),
                     Field(json_schema_extra={"minItems": low, "maxItems": high}, **documented)]


def mapping(key: Any, value: Any, high: int, **documented: Any) -> Any:
    """A JSON object of at most `high` entries, e.g. {单位: [姓名, …]}."""
    def counted(found: dict) -> dict:
        if len(found) > high:
            refuse("count", f"最多{high}项")
        return found
    def documented_keys(schema: dict) -> None:
        # pydantic writes a key's pattern as patternProperties, which leaves other keys free
        (pattern, values), = schema.pop("patternProperties").items()
        schema.update(additionalProperties=values, maxProperties=high)
        schema["propertyNames"]["pattern"] = pattern
    return Annotated[dict[key, value], AfterValidator(counted), Field(json_schema_extra=documented_keys, **documented)]


ID = whole(1, MAX_ID)
VERSION = whole(0, MAX_ID, title="版本号", description="读到的版本号；他人已先保存则拒绝（409）")


# ---------------------------------------------------------------- query values


def _query_text(value: Any) -> Any:
    if isinstance(value, str):
        _no_control(value)
        return value.strip()
    return value


def query_text(*choices: str, unknown: str = "choice", **documented: Any) -> Any:
    """A query value, trimmed; one of `choices` if given (`unknown` names the refusal: a "choice"
    is answered 422, anything else 400, as the API always has)."""
    def member(value: str) -> str:
        if choices and value not in choices:
            refuse(unknown, f"只能是 {'、'.join(choices[:-1])} 或 {choices[-1]}")
        return value
    # a parameter given is a parameter meant: an empty one is refused (web/api.py query_middleware)
    extra = {"enum": list(choices)} if choices else {"minLength": 1, "pattern": PRINTABLE}
    return Annotated[str, BeforeValidator(_query_text), AfterValidator(member),
                     Field(json_schema_extra=extra, **documented)]


def _digits(value: Any) -> Any:
    if isinstance(value, str):
        value = value.strip()
        if not (value.isascii() and value.isdigit()) or len(value) > 9:
            refuse("integer", "应为整数")
        return int(value)
    return value


def query_whole(low: int, high: int, **documented: Any) -> Any:
    """A whole number written in ASCII digits ('²'.isdigit() is true) in [low, high]."""
    return whole(low, high, read=_digits, **documented)


def _yes_no(value: Any) -> Any:
    if isinstance(value, str):
        word = value.strip().lower()
        if word not in ("1", "0", "true", "false", "yes", "no"):
            refuse("flag", "只能是 true 或 false")
        return word in ("1", "true", "yes")
    return value


Flag = Annotated[bool, BeforeValidator(_yes_no)]


# ---------------------------------------------------------------- refusals in Chinese

_BUILT_IN = {"int_type": "应为整数", "int_parsing": "应为整数", "int_from_float": "应为整数",
             "string_type": "应为字符串", "dict_type": "应为 JSON 对象", "model_type": "应为 JSON 对象",
             "model_attributes_type": "应为 JSON 对象", "list_type": "应为数组",
             "date_type": "应为日期，写成 2026-11-18",
             "bool_type": "只能是 true 或 false", "bool_parsing": "只能是 true 或 false"}


def _title(model: type[BaseModel], loc: tuple) -> tuple[str, str]:
    """The field's name and its Chinese title, following nested contracts along `loc`."""
    name, title, current = "请求体", "", model
    for part in loc:
        if not isinstance(part, str) or part == "[key]":
            continue
        name = part
        found = current.model_fields.get(part) if current else None
        if found is not None:
            title = found.title or ""
            annotation = found.annotation
            current = next((a for a in (annotation, *getattr(annotation, "__args__", ()))
                            if isinstance(a, type) and issubclass(a, BaseModel)), None)
    return name, title


def _sentence(model: type[BaseModel], errors: list[dict], query: bool) -> ContractError:
    for kind, words in (("missing", "缺少字段"), ("extra_forbidden", "不认识的参数" if query else "不认识的字段")):
        names = [str(e["loc"][-1]) for e in errors if e["type"] == kind]
        if names:
            return ContractError(f"{words}：{'、'.join(names)}")
    first = errors[0]
    name, title = _title(model, first["loc"])
    what = f"参数 {name} " if query else f"{title}（{name}）" if title else name
    return ContractError(f"{what}{_BUILT_IN.get(first['type'], first['msg'])}", choice=first["type"] == "choice")


M = TypeVar("M", bound=BaseModel)


def parse(model: type[M], data: Any) -> M:
    """`data` as the contract `model`, or a ContractError in Chinese (naming a query string's
    parameters as such)."""
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        raise _sentence(model, exc.errors(include_url=False), issubclass(model, Query)) from None
