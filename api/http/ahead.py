"""Answers prepared before anyone asks for them, so a change does not leave clients waiting.

Right after a build or a transition nothing is prepared, and under load every client asks
for an answer not prepared yet at once: each waits for the ones ahead of it (hundreds of
milliseconds, bench/README.md). Both kinds of change are met ahead instead, by preparing
again, in the background, the answers clients asked for before the change, most recently
used first. They are made in a process of their own (api/http/preparer.py), so that the
server's loop goes on answering from prepared bytes meanwhile, with the interpreter to
itself; only the made answer comes back, and the sets of prepared answers are changed in
the server's loop alone.

- **A transition** is known as soon as content is built (api/timeline.py). From `lead`
  seconds before its instant, the current window's answers are prepared again *as of the
  instant* (the handlers read the instant from the viewpoint, api/preview.py, as they do
  for `at=`) into the next window's set. Nobody is given that set before the instant: the
  same comparison of the clock that ends the current window swaps it in, whole.
- **A build** is in the database the moment it commits, so its answers cannot be made
  before. Its set starts at once and the previous build's answers are prepared again into
  it; those that read nothing the build changed (api/storage/reads.py) are kept as they
  were instead (`carry`: a few tens of microseconds each, in the server's loop), so an edit
  to one article has the preparing process make again only the answers that could show
  it. Meanwhile a request whose new answer is not ready has it made at once (in the
  preparing process) when no other request waits for one, so a single client sees the
  build immediately; while one waits, the others get the previous build's prepared answer,
  body and validators together, for at most `lead` seconds, as `stale-while-revalidate`
  already lets a cache do. The one waiting is given it too once it has waited PATIENCE
  (api/http/delivery.py) while others were answered: its answer goes on being made, and
  no other is made for a request until it is, so under load the preparing process does
  not build a queue of them ahead of the background's work. Never past an instant: a
  previous answer is not given once its own window has ended.

What this costs: a second process, with the app and a connection to the database of its
own (about a second to start, once the server has a few dozen answers prepared, or at the
first change); for up to `lead` seconds two sets in memory (each bounded by
CLINIC_CACHE_MAX_BYTES); and the work of preparing each answer once more per change. A set
is prepared ahead only until it is full: more would push out the answers prepared first,
which are the ones most asked for.
"""

from __future__ import annotations

import asyncio
import logging
import math
import pickle
import sqlite3
import sys
import time
from collections import deque
from collections.abc import Callable, MutableMapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote

from api.http import preparer
from api.http.negotiation import IDENTITY
from api.http.prepared import Entry, Key, Prepared, preparable
from api.reading import canonical_query
from api.settings import Settings
from api.storage.reads import unchanged

Scope = MutableMapping[str, Any]
#: Answers asked of the preparing process at once: while the server's loop takes one made
#: answer in, the process makes the next.
WORKERS = 2
#: Bytes of the preparing process's output read ahead of the frame being read: a frame
#: (an answer and its compressed copies, up to a few megabytes) comes in a few reads.
READ_LIMIT = 4 * 1024 * 1024
#: Answers carried over from the previous build (`Ahead.carry`) between two turns given
#: to the clients: each takes a few tens of microseconds of the server's loop.
CARRY_BATCH = 32
#: Seconds the preparing process has to end when the server stops (it finishes the answer
#: it is making), before it is killed.
STOP_SECONDS = 5.0
#: Answers prepared in one set from which the preparing process is started before any
#: change needs it (a change needs it anyway, and starts it then).
START_AT = 32
#: What a prepared request's scope keeps of the first real request's: the server's
#: description of itself, never anything a client sent (the preparing process adds its
#: own app).
_SCOPE_KEYS = ("type", "asgi", "http_version", "server", "scheme", "root_path")

log = logging.getLogger("api.prepared")


class Ahead:
    """The background preparation of one delivery layer (api/http/delivery.py)."""

    def __init__(
        self,
        settings: Settings,
        *,
        live: Callable[[], Prepared | None],
        keeps: Callable[[Prepared], bool],
    ) -> None:
        """`settings` are the server's, for the preparing process's app; `live` is the set
        being given now; `keeps` says whether an answer just made may still be kept in a
        set (no build went live and no transition passed while it was made)."""
        self.live = live
        self.keeps = keeps
        #: CLINIC_PREPARE_AHEAD: seconds; 0 turns preparing ahead off.
        self.lead = settings.prepare_ahead
        #: The next window's answers, being prepared before its instant.
        self.upcoming: Prepared | None = None
        #: The previous build's answers, given under load while the new ones are prepared,
        #: until `previous_until`.
        self.previous: Prepared | None = None
        self.previous_until = 0.0
        #: Requests waiting for an answer being made for them (not in the background).
        self.waiting = 0
        #: Answers prepared in the background, for /metrics.
        self.prepared = 0
        #: Answers carried over unchanged from the previous build, for /metrics.
        self.carried = 0
        #: (the previous build's set, the new build's, what the build changed): the answers
        #: of the first whose reads the build did not touch are the second's as they are.
        self._carry: tuple[Prepared, Prepared, frozenset[str]] | None = None
        self._template: Scope | None = None
        self._host = b"localhost"
        self._job: _Job | None = None
        self._tasks: set[asyncio.Task[Any]] = set()
        self._process = _Process(settings)

    @property
    def enabled(self) -> bool:
        return self.lead > 0

    def seen(self, scope: Scope) -> None:
        """Keep the server's part of a real request's scope, as a model for the requests
        made here."""
        if self._template is None:
            self._template = {k: scope[k] for k in _SCOPE_KEYS if k in scope}
            self._host = next(
                (v for n, v in scope.get("headers") or () if n == b"host"), self._host
            )

    def starts(self, prepared: Prepared) -> None:
        """A set just took over: note when to start preparing the window after it."""
        prepared.ahead_from = (
            prepared.until - self.lead if self.enabled and prepared.until != math.inf else math.inf
        )

    def after_build(self, old: Prepared | None, new: Prepared, now: float) -> None:
        """A build went live: prepare the previous build's answers again, giving them under
        load meanwhile."""
        self.upcoming = None
        self.previous = None
        self._carry = None
        if not self.enabled or old is None or not old.index:
            return
        if now < old.until:  # never given past its own window's end
            self.previous = old
            self.previous_until = now + self.lead
            changes = new.revision.changes
            if changes is not None and changes[0] == old.revision.fingerprint:
                self._carry = (old, new, changes[1])
        self._spawn(old, new, None)

    def after_transition(self, new: Prepared) -> Prepared:
        """The instant passed: the set prepared for the new window, if it is the one."""
        self.previous = None  # nothing of the window that ended is given after it
        self._carry = None
        upcoming, self.upcoming = self.upcoming, None
        if (
            upcoming is not None
            and upcoming.revision is new.revision
            and upcoming.window == new.window
        ):
            return upcoming
        return new

    def before_transition(self, current: Prepared, upcoming: Prepared) -> None:
        """`lead` seconds before `current` ends: prepare its answers as of the instant."""
        current.ahead_from = math.inf  # once per window
        self.upcoming = upcoming
        self._spawn(current, upcoming, current.until)

    def stale(self, key: Key, now: float) -> tuple[Prepared, Entry] | None:
        """The previous build's answer to `key`, when the server is busy preparing the new
        ones and that answer may still be given."""
        previous = self.previous
        if previous is None:
            return None
        if now >= self.previous_until or now >= previous.until:
            self.previous = None
            return None
        if not self.waiting:
            return None  # not busy: the new answer is made for this request at once
        entry = previous.index.get(key)
        return (previous, entry) if entry is not None else None

    def carry(self, prepared: Prepared, key: Key, now: float) -> Entry | None:
        """The previous build's answer to `key`, kept in `prepared` (the new build's set)
        as it is, if the build changed nothing it read; else None. Never past the end of
        the previous answer's own window (at `now`)."""
        carry = self._carry
        if carry is None or carry[1] is not prepared:
            return None
        if now >= carry[0].until:
            self._carry = None
            return None
        old = carry[0].index.get(key)
        if old is None or not unchanged(old.reads, carry[2]):
            return None
        self.carried += 1
        entry = prepared.carry(old)
        self.also(prepared, key)
        return entry

    def also(self, prepared: Prepared, key: Key) -> None:
        """`key` was just prepared in `prepared`: while the window after it is being
        prepared ahead, prepare it there too (a request first asked after that began)."""
        job = self._job
        if job is not None and job.at is not None and job.source is prepared:
            job.keys.append(key)
            if job.running < WORKERS:
                self._run(job)
        elif self._process.idle and len(prepared.index) >= START_AT and self.enabled:
            # Enough to prepare again that it is worth a process: started now, so that it
            # is ready by the next change (it takes about a second).
            self._process.start()

    def _spawn(self, source: Prepared, target: Prepared, at: float | None) -> None:
        # Least recently used first: popped from the end.
        self._job = _Job(source, target, at, list(source.lru))
        for _ in range(WORKERS):
            self._run(self._job)

    def _run(self, job: _Job) -> None:
        try:
            loop = asyncio.get_running_loop()
        except RuntimeError:  # asked outside a server (a test's direct call): nothing to run
            return
        job.running += 1
        task = loop.create_task(self._work(job))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _work(self, job: _Job) -> None:
        carried = 0
        try:
            while job.keys and self._still(job):
                key = job.keys.pop()
                if key in job.target.index or key in job.target.pending:
                    continue
                if job.at is None and self.carry(job.target, key, time.time()) is not None:
                    carried += 1
                    if carried % CARRY_BATCH == 0:
                        await asyncio.sleep(0)  # the clients' turn
                    continue
                try:
                    await self._prepare(job.target, key, job.at, job.source.index.get(key))
                except sqlite3.Error as exc:  # the file went away: the requests will say so
                    log.warning("preparing ahead: cannot read the content database: %s", exc)
                    break
                except PreparerGone as exc:  # started again for the next answer
                    log.warning("preparing ahead: the preparing process ended: %s", exc)
                    break
                except Exception:  # one answer failing must not stop the others
                    log.exception("preparing %s ahead failed", key[0])
                if job.target.evicted:
                    break  # more would push out the answers most asked for, prepared first
        finally:
            job.running -= 1
            if not job.running and self._carry is not None and self._carry[1] is job.target:
                self._carry = None  # what is left is made anew: the previous set may go
        if not job.keys and not job.running and self.previous is job.source:
            self.previous = None  # every answer is prepared anew: none is given stale

    def refreshing(self, prepared: Prepared) -> bool:
        """Whether the previous build's answers are being prepared again into `prepared`:
        meanwhile every answer a request waits for is made in the preparing process too,
        once it is ready."""
        job = self._job
        return (
            self._process.ready
            and self.previous is not None
            and job is not None
            and job.at is None
            and job.target is prepared
        )

    def prepare_now(self, prepared: Prepared, key: Key) -> asyncio.Task[Entry | None]:
        """A request's own answer to `key`, made now in the preparing process rather than in
        the server's loop (which other clients are being answered from), as the background
        would have: None if it is not one to keep (the request is then answered as usual).
        Until it is made, the server counts as `waiting`, even if its request stopped
        waiting for it (given the previous build's answer instead): so under load one
        answer at a time is made for a request, ahead of the background's, not a queue."""
        self.waiting += 1
        task = asyncio.get_running_loop().create_task(self._prepare_now(prepared, key))
        self._tasks.add(task)
        task.add_done_callback(self._made_now)
        return task

    async def _prepare_now(self, prepared: Prepared, key: Key) -> Entry | None:
        waiting = prepared.pending.get(key)
        if waiting is not None:
            return await asyncio.shield(waiting)
        previous = self.previous
        old = previous.index.get(key) if previous is not None else None
        try:
            return await self._prepare(prepared, key, None, old, ahead=False)
        except PreparerGone:
            return None  # made in the server's loop instead

    def _made_now(self, task: asyncio.Task[Entry | None]) -> None:
        self.waiting -= 1
        self._tasks.discard(task)
        if not task.cancelled() and (exc := task.exception()) is not None:
            # Its request may have been given the previous answer already: said here.
            log.error("preparing a requested answer failed", exc_info=exc)

    def _still(self, job: _Job) -> bool:
        """Whether the job's set is still one to prepare for: the upcoming window's, or
        the live one."""
        if job.at is not None and job.target is self.upcoming:
            return self.keeps(job.target)
        # Past the instant the set is live: what is left is prepared for the requests to
        # come, as a build's is.
        return job.target is self.live()

    async def _prepare(
        self,
        target: Prepared,
        key: Key,
        at: float | None,
        old: Entry | None,
        *,
        ahead: bool = True,
    ) -> Entry | None:
        scope = self._scope(key)
        if scope is None:
            return None
        future: asyncio.Future[Entry | None] = asyncio.get_running_loop().create_future()
        target.pending[key] = future
        entry = None
        try:
            codings: list[str] = []
            old_tag = None
            if old is not None:
                codings = [c for c in old.variants if c != IDENTITY]
                old_tag = old.variants[IDENTITY].tag
            made_there = await self._process.make(scope, at, old_tag, codings)
            status, headers, body, route, compressed, tag, reads = made_there
            if key in target.index:
                return target.index[key]  # made for a request meanwhile
            if not preparable(status, headers) or not self.keeps(target):
                return None
            # One string per read in the server, however many answers read it.
            reads = tuple(map(sys.intern, reads))
            made = target.make(key, headers, body, tag, reads)
            made.route = route
            target.store(made)
            if target.index.get(key) is made:
                entry = made
                if old is not None:
                    target.adopt(made, old, compressed)
                if ahead:
                    self.prepared += 1
                self.also(target, key)
            return made
        finally:
            target.pending.pop(key, None)
            future.set_result(entry)

    def _scope(self, key: Key) -> dict[str, Any] | None:
        """The request for `key`, as the preparing process is sent it."""
        template = self._template
        if template is None:
            return None
        path, pairs, language = key
        scope = dict(template)
        scope.update(
            method="GET",
            path=path,
            raw_path=quote(path).encode("ascii"),
            query_string=canonical_query(pairs).encode("ascii"),
            headers=[(b"host", self._host), (b"accept-language", language.encode())],
        )
        return scope

    async def close(self) -> None:
        for task in list(self._tasks):
            task.cancel()
        self.upcoming = self.previous = self._job = self._carry = None
        await self._process.stop()


class PreparerGone(Exception):
    """The preparing process ended (killed, or out of memory) before answering."""


class _Process:
    """The preparing process (api/http/preparer.py), started once and kept. Its frames are
    read by the server's loop itself, as a client's bytes are: no thread of the server's
    waits on it."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        #: Whether it has started and made its app: until then, a request's own answer is
        #: made in the server's loop, as without preparing ahead, rather than wait a second.
        self.ready = False
        self._starting: asyncio.Task[asyncio.subprocess.Process] | None = None
        #: The answers asked for and not given yet, in the order asked.
        self._asked: deque[asyncio.Future[preparer.Made]] = deque()
        self._reading: asyncio.Task[None] | None = None

    @property
    def idle(self) -> bool:
        """Not started (or ended)."""
        return self._starting is None

    def start(self) -> asyncio.Task[asyncio.subprocess.Process]:
        if self._starting is None:
            self._starting = asyncio.get_running_loop().create_task(self._start())
        return self._starting

    async def _start(self) -> asyncio.subprocess.Process:
        program, env = preparer.command()
        process = await asyncio.create_subprocess_exec(
            *program,
            env=env,
            stdin=asyncio.subprocess.PIPE,
            stdout=asyncio.subprocess.PIPE,
            limit=READ_LIMIT,
        )
        assert process.stdin is not None
        assert process.stdout is not None
        process.stdin.write(preparer.frame(self.settings))
        if await self._read(process.stdout) is not True:
            await process.wait()
            raise PreparerGone("the preparing process did not start (its errors are logged)")
        self.ready = True
        self._reading = asyncio.get_running_loop().create_task(self._answers(process))
        return process

    @staticmethod
    async def _read(stdout: asyncio.StreamReader) -> Any:
        try:
            (size,) = preparer.FRAME.unpack(await stdout.readexactly(preparer.FRAME.size))
            return pickle.loads(await stdout.readexactly(size))
        except asyncio.IncompleteReadError:
            return None  # it ended

    async def _answers(self, process: asyncio.subprocess.Process) -> None:
        """Each frame out of the process, to the request it answers (they come in order)."""
        assert process.stdout is not None
        try:
            while (answer := await self._read(process.stdout)) is not None:
                asked = self._asked.popleft()
                if asked.done():
                    continue  # its asker was cancelled
                if isinstance(answer, BaseException):
                    asked.set_exception(answer)
                else:
                    asked.set_result(answer)
        finally:
            self._ended()
        await process.wait()

    def _ended(self) -> None:
        """It ended: what was asked of it fails, and the next answer starts a new one."""
        self._starting, self._reading, self.ready = None, None, False
        while self._asked:
            asked = self._asked.popleft()
            if not asked.done():
                asked.set_exception(PreparerGone("the preparing process ended"))

    async def make(
        self, scope: dict[str, Any], at: float | None, old_tag: bytes | None, codings: list[str]
    ) -> preparer.Made:
        try:
            process = await asyncio.shield(self.start())
        except Exception as exc:  # it could not start: tried again for the next answer
            self._starting = None
            raise PreparerGone(str(exc)) from exc
        assert process.stdin is not None
        asked: asyncio.Future[preparer.Made] = asyncio.get_running_loop().create_future()
        self._asked.append(asked)
        process.stdin.write(preparer.frame((scope, at, old_tag, codings)))
        return await asked

    async def stop(self) -> None:
        """Close its input (it ends when it reads that), and wait for it to end."""
        starting, self._starting, self.ready = self._starting, None, False
        if starting is None:
            return
        try:
            process = await starting
        except Exception:  # it never started
            return
        assert process.stdin is not None
        process.stdin.close()
        try:
            await asyncio.wait_for(process.wait(), STOP_SECONDS)
        except TimeoutError:
            process.kill()
            await process.wait()
        if self._reading is not None:
            await self._reading


@dataclass(slots=True)
class _Job:
    """Answers of `source` to prepare again in `target`, as of `at` (None: now)."""

    source: Prepared
    target: Prepared
    at: float | None
    keys: list[Key]
    #: Workers preparing them now.
    running: int = 0
