"""Error answers sent by the layers themselves, in the same problem+json shape as the app's."""

from __future__ import annotations

from api.errors import PROBLEM_MEDIA_TYPE, problem_bytes
from api.middleware.types import Headers, Send


async def send_problem(
    send: Send, status: int, detail: str, instance: str, headers: Headers | None = None
) -> None:
    body = problem_bytes(status, detail, instance=instance)
    await send(
        {
            "type": "http.response.start",
            "status": status,
            "headers": [
                (b"content-type", PROBLEM_MEDIA_TYPE.encode()),
                (b"content-length", str(len(body)).encode()),
                *(headers or []),
            ],
        }
    )
    await send({"type": "http.response.body", "body": body})
