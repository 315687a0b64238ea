"""How many bytes a request body may hold, per route, enforced before anything reads it.

Forms and JSON get FORM_LIMIT, the anonymous login form LOGIN_LIMIT, the routes that take a
signing sheet SHEET_LIMIT (a handler says so with `@body_limit(...)`). A declared Content-Length
over the limit is refused before one byte is read; a body without one (chunked) is cut off by
aiohttp's `client_max_size` for `post()`/`read()`/`json()`, and by `uploads.save_part` for the
API's streamed upload."""

from __future__ import annotations

from aiohttp import web

FORM_LIMIT = 1024 * 1024  # the biggest real form (the desk's meeting page) posts a few KiB
LOGIN_LIMIT = 8 * 1024  # login, password and the CSRF token
SHEET_LIMIT = 256 * 1024 * 1024  # a city-wide signing sheet as .xlsx stays well under this


def body_limit(size: int, *, upload: bool = False):
    """Mark a handler as taking bodies of up to `size` bytes (instead of FORM_LIMIT); `upload`
    when what it takes is a file (the refusal says so)."""
    def mark(handler):
        handler.body_limit, handler.takes_upload = size, upload
        return handler
    return mark


def limit_of(request: web.Request) -> int:
    return getattr(request.match_info.handler, "body_limit", FORM_LIMIT)


def too_large(request: web.Request) -> web.HTTPRequestEntityTooLarge:
    return web.HTTPRequestEntityTooLarge(request.client_max_size, text=message(request))


def message(request: web.Request) -> str:
    """The refusal of a body over the route's limit, in one sentence."""
    limit = request.client_max_size
    size = f"{limit // (1024 * 1024)} MB" if limit >= 1024 * 1024 else f"{limit // 1024} KB"
    what = "上传的文件" if getattr(request.match_info.handler, "takes_upload", False) else "提交的内容"
    return f"{what}太大（上限 {size}），未作处理"


@web.middleware
async def length_middleware(request: web.Request, handler):
    """A declared body over the route's limit is refused unread (after auth: an anonymous
    request has already been sent to the login page)."""
    if request.content_length is not None and request.content_length > request.client_max_size:
        raise too_large(request)
    return await handler(request)
