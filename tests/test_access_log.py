"""Access-log lines: one JSON object a line, written together at the end of a loop turn."""

from __future__ import annotations

import asyncio
import io
import json
import re

from api.middleware.access_log import AccessLine, AccessLines


class Stream(io.StringIO):
    def __init__(self) -> None:
        super().__init__()
        self.writes = 0

    def write(self, text: str) -> int:
        self.writes += 1
        return super().write(text)


def line(n: int) -> AccessLine:
    return AccessLine(
        ts="2026-01-01T00:00:00Z",
        request_id=f"id-{n}",
        method="GET",
        path="/v1/site",
        route="/v1/site",
        status=200,
        duration_ms=0.5,
        bytes=10,
        channel=None,
    )


def test_lines_of_a_turn_are_written_together_when_it_ends() -> None:
    stream = Stream()
    lines = AccessLines(stream)

    async def turn() -> None:
        for n in range(3):
            lines.write(line(n))
        assert stream.getvalue() == ""  # still this turn
        await asyncio.sleep(0)
        assert stream.writes == 1
        lines.write(line(3))
        await asyncio.sleep(0)

    asyncio.run(turn())
    written = [json.loads(text) for text in stream.getvalue().splitlines()]
    assert [w["request_id"] for w in written] == ["id-0", "id-1", "id-2", "id-3"]
    assert stream.writes == 2
    assert list(written[0]) == [
        "ts", "event", "request_id", "method", "path", "route", "status", "duration_ms",
        "bytes", "channel",
    ]  # fmt: skip
    assert written[0]["event"] == "request"


def test_without_a_loop_a_line_is_written_at_once() -> None:
    stream = Stream()
    lines = AccessLines(stream)
    lines.write(line(1))
    assert json.loads(stream.getvalue())["request_id"] == "id-1"
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ", lines.timestamp())
