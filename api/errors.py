"""Every error, whatever raised it, leaves as one problem+json shape (RFC 9457).

A failure (an answer of 500) is also written to the error log: one line per failure, a JSON
object (`{"ts", "event": "error", "request_id", "method", "path", "error", "traceback"}`)
through the `api.errors` logger. Everything in it that a client chose (the path, and any
exception text that quotes the request) is escaped, and the line is ASCII: no control
character, line or paragraph separator can end it early and start a line of its own.
"""

from __future__ import annotations

import json
import logging
import time
import traceback
from http import HTTPStatus
from typing import Any

import msgspec
from litestar import Request, Response
from litestar.exceptions import HTTPException, ValidationException

from api.storage.reader import DatabaseUnavailable
from schemas.resources import Problem, ProblemParam

PROBLEM_MEDIA_TYPE = "application/problem+json"
PROBLEM_TYPE_BASE = "https://clinic-content-api.dev/problems/"

log = logging.getLogger("api.errors")
_encoder = msgspec.json.Encoder()


class BadParameters(HTTPException):
    """One or more query parameters were refused; each is named with its reason."""

    status_code = 400

    def __init__(self, *params: ProblemParam) -> None:
        self.params = list(params)
        names = ", ".join(p.name for p in self.params)
        reasons = "; ".join(f"{p.name}: {p.reason}" for p in self.params)
        super().__init__(detail=f"Invalid parameter(s) {names}. {reasons}")


def bad_param(name: str, reason: str, location: str = "query") -> BadParameters:
    return BadParameters(ProblemParam(name=name, reason=reason, location=location))  # type: ignore[arg-type]


class NotFound(HTTPException):
    status_code = 404


class Gone(HTTPException):
    """What was here is gone for good: an item the content withdrew or that expired
    (`superseded_by` is the API path of its replacement, or None, and the problem says so),
    or a cursor from another lineage of the data (no `superseded_by`: nothing replaces it)."""

    status_code = 410

    def __init__(
        self, detail: str, *, superseded_by: str | msgspec.UnsetType | None = msgspec.UNSET
    ) -> None:
        self.superseded_by = superseded_by
        headers = None
        if isinstance(superseded_by, str):
            headers = {"Link": f'<{superseded_by}>; rel="successor-version"'}
        super().__init__(detail=detail, headers=headers)


def problem_type(status: int) -> str:
    slug = HTTPStatus(status).phrase.lower().replace(" ", "-").replace("'", "")
    return PROBLEM_TYPE_BASE + slug


def problem_bytes(
    status: int,
    detail: str,
    *,
    instance: str | None = None,
    params: list[ProblemParam] | None = None,
    superseded_by: str | msgspec.UnsetType | None = msgspec.UNSET,
) -> bytes:
    """The problem+json body; the HTTP layers outside Litestar (api.middleware) send it too."""
    problem = Problem(
        type=problem_type(status),
        title=HTTPStatus(status).phrase,
        status=status,
        detail=detail,
        instance=instance,
        invalid_params=params if params else msgspec.UNSET,
        superseded_by=superseded_by,
    )
    return _encoder.encode(problem)


def problem_response(
    status: int,
    detail: str,
    *,
    instance: str | None = None,
    params: list[ProblemParam] | None = None,
    headers: dict[str, str] | None = None,
    superseded_by: str | msgspec.UnsetType | None = msgspec.UNSET,
) -> Response[bytes]:
    return Response(
        content=problem_bytes(
            status, detail, instance=instance, params=params, superseded_by=superseded_by
        ),
        status_code=status,
        media_type=PROBLEM_MEDIA_TYPE,
        headers=headers,
    )


def _validation_params(exc: ValidationException) -> list[ProblemParam]:
    params = []
    for item in exc.extra if isinstance(exc.extra, list) else []:
        if isinstance(item, dict) and "key" in item:
            source = str(item.get("source") or "query")
            reason = str(item.get("message", "invalid value")).replace("`", "")
            params.append(
                ProblemParam(
                    name=str(item["key"]),
                    reason=reason,
                    location=source if source in ("query", "path", "header") else "query",  # type: ignore[arg-type]
                )
            )
    return params


#: The detail of every 500: the cause is for the error log, not for the client.
FAILURE_DETAIL = "The server could not answer this request."


def log_failure(exc: BaseException, method: str, path: str, request_id: str | None) -> None:
    """Write one error-log line for a request that failed with `exc`."""
    entry = {
        "ts": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        "event": "error",
        "request_id": request_id,
        "method": method[:16],
        "path": path[:512],
        "error": "".join(traceback.format_exception_only(exc)).strip(),
        "traceback": "".join(traceback.format_exception(exc)),
    }
    # ensure_ascii: JSON escapes control characters, and this also escapes U+2028, U+2029
    # and U+0085, which some log readers take for line ends.
    log.error("%s", json.dumps(entry, ensure_ascii=True, separators=(",", ":")))


def handle_exception(request: Request[Any, Any, Any], exc: Exception) -> Response[bytes]:
    instance = request.url.path
    if isinstance(exc, BadParameters):
        return problem_response(400, exc.detail, instance=instance, params=exc.params)
    if isinstance(exc, Gone):
        return problem_response(
            410,
            exc.detail,
            instance=instance,
            headers=exc.headers,
            superseded_by=exc.superseded_by,
        )
    if isinstance(exc, ValidationException):
        params = _validation_params(exc)
        detail = "; ".join(f"{p.name}: {p.reason}" for p in params) or str(exc.detail)
        return problem_response(400, f"Invalid request. {detail}", instance=instance, params=params)
    if isinstance(exc, DatabaseUnavailable):
        return problem_response(
            503, "Content has not been built yet.", instance=instance, headers={"Retry-After": "5"}
        )
    if isinstance(exc, HTTPException) and exc.status_code != 500:
        status = exc.status_code
        detail = exc.detail if exc.detail and exc.detail != HTTPStatus(status).phrase else ""
        if status == 404 and not detail:
            detail = f"No resource at {instance}."
        elif status == 405 and not detail:
            detail = f"{request.method} is not allowed on {instance}."
        return problem_response(
            status, detail or HTTPStatus(status).description, instance=instance, headers=exc.headers
        )
    # A failure, whether the framework said 500 or something raised: logged, and answered
    # without its cause. The layers in front of the framework left the request id in their
    # part of the scope (api.middleware.types.SCOPE_KEY; not imported: it imports this module).
    context: dict[str, Any] = request.scope.get("clinic") or {}  # type: ignore[assignment]
    log_failure(exc, request.method, instance, context.get("request_id"))
    return problem_response(500, FAILURE_DETAIL, instance=instance)
