"""Access-log lines: one JSON object a line, written together at the end of a loop turn."""

from __future__ import annotations

import asyncio
import io
import json
import re

from api.middleware.access_log import AccessLines, new_request_id


class Stream(io.StringIO):
    def __init__(self) -> None:
        super().__init__()
        self.writes = 0

    def write(self, text: str) -> int:
        self.writes += 1
        return super().write(text)


def write(lines: AccessLines, n: int, path: str = "/v1/site") -> None:
    lines.write(f"id-{n}", "GET", path, "/v1/site", 200, 0.5, 10, "kiosk" if n % 2 else None)


def test_lines_of_a_turn_are_written_together_when_it_ends() -> None:
    stream = Stream()
    lines = AccessLines(stream)

    async def turn() -> None:
        for n in range(3):
            write(lines, n)
        assert stream.getvalue() == ""  # still this turn
        await asyncio.sleep(0)
        assert stream.writes == 1
        write(lines, 3, path='/v1/"quoted"\\path\n\u2028é')
        await asyncio.sleep(0)

    asyncio.run(turn())
    written = [json.loads(text) for text in stream.getvalue().split("\n") if text]
    assert [w["request_id"] for w in written] == ["id-0", "id-1", "id-2", "id-3"]
    assert stream.writes == 2
    assert list(written[0]) == [
        "ts", "event", "request_id", "method", "path", "route", "status", "duration_ms",
        "bytes", "channel",
    ]  # fmt: skip
    assert written[0]["event"] == "request"
    assert written[0]["status"] == 200
    assert written[0]["duration_ms"] == 0.5
    assert written[0]["channel"] is None
    assert written[1]["channel"] == "kiosk"
    assert written[3]["path"] == '/v1/"quoted"\\path\n\u2028é'  # any path stays valid JSON


def test_without_a_loop_a_line_is_written_at_once() -> None:
    stream = Stream()
    lines = AccessLines(stream)
    write(lines, 1)
    assert json.loads(stream.getvalue())["request_id"] == "id-1"
    ts = json.loads(stream.getvalue())["ts"]
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ", ts)


def test_only_a_whole_sane_request_id_is_kept() -> None:
    assert new_request_id(b"trace-42.a:b_c") == "trace-42.a:b_c"
    for offered in (b"abc\n", b"a b", b'a"b', b"x" * 129, b""):
        assert re.fullmatch(r"[0-9a-f]{32}", new_request_id(offered)), offered
