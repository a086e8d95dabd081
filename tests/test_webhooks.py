"""Webhooks against real servers: the API's uvicorn processes send, a real receiver on
127.0.0.1 (tests/webhook_receiver.py) checks every delivery with the `standardwebhooks`
package, the specification's own library.

- A receiver that fails (500s, slowly), then is down, while the server is killed with
  SIGKILL mid-retry and started again, and content is rebuilt meanwhile: the outbox
  finishes, every event is delivered, every signature verifies, no id is lost.
- Two servers on one state store: each event is delivered once, not once per server.
- 410 disables the endpoint; `events list`, `enable` and `redeliver` from the CLI.
- A bad webhooks file stops start-up with a message naming it, never the secret.
- Signatures equal the library's, one per secret during a rotation.
"""

from __future__ import annotations

import base64
import datetime as dt
import itertools
import json
import os
import sqlite3
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import httpx
import pytest
from prometheus_client.parser import text_string_to_metric_families
from standardwebhooks.webhooks import Webhook

from api.events import webhooks
from api.events.outbox import DEFAULT_SCHEDULE, retry_delay
from api.settings import Settings, SettingsError
from tests.support import ROOT, Server
from tests.webhook_receiver import Receiver, new_secret

#: Quick retries, so a test sees several within seconds.
FAST = {
    "CLINIC_WEBHOOK_RETRY_SCHEDULE": ",".join(["0.2", "0.4"] + ["0.8"] * 30),
    "CLINIC_WEBHOOK_TIMEOUT": "2",
    "CLINIC_WEBHOOK_POLL": "0.1",
}


def write_hooks(path: Path, url: str, secrets: list[str], events: list[str] | None = None) -> Path:
    entry: dict[str, object] = {"name": "receiver", "url": url, "secrets": secrets}
    if events is not None:
        entry["events"] = events
    path.write_text(json.dumps({"endpoints": [entry]}), encoding="utf-8")  # JSON is YAML
    return path


def cli(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "api", *args],
        cwd=ROOT,
        env={**os.environ, **env},
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def query(state: Path, sql: str) -> list[tuple[object, ...]]:
    with sqlite3.connect(state) as db:
        return db.execute(sql).fetchall()


def wait_for(check: Callable[[], bool], timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if check():
            return
        time.sleep(0.05)
    raise AssertionError(f"timed out waiting for {what}")


def edit(content: Path, words: str) -> None:
    swelling = content / "symptoms" / "swelling.md"
    swelling.write_text(swelling.read_text(encoding="utf-8") + f"\n{words}\n", encoding="utf-8")


@pytest.fixture
def setup(
    content_copy: Path, tmp_path: Path, starts_server: None
) -> Iterator[tuple[Receiver, dict[str, str], Path]]:
    """A receiver knowing two secrets (a rotation), and the environment of a deployment
    whose webhooks file names it; yields (receiver, env, state path)."""
    secrets = [new_secret(), new_secret()]
    receiver = Receiver(secrets).start()
    hooks = write_hooks(tmp_path / "webhooks.yaml", receiver.url, secrets)
    state = tmp_path / "state" / "state.db"
    env = {
        "CLINIC_CONTENT_DIR": str(content_copy),
        "CLINIC_DB_PATH": str(tmp_path / "clinic.db"),
        "CLINIC_STATE_PATH": str(state),
        "CLINIC_WEBHOOKS_FILE": str(hooks),
        **FAST,
    }
    yield receiver, env, state
    receiver.stop()


def start_server(env: dict[str, str]) -> Server:
    return Server(Path(env["CLINIC_DB_PATH"]), Path(env["CLINIC_CONTENT_DIR"]), **env).start()


def webhook_metrics(server: Server) -> dict[tuple[str, str], float]:
    """The server's webhook figures for the endpoint `receiver`, read with Prometheus's own
    parser: (sample name, its state or outcome label) -> value."""
    text = httpx.get(server.url + "/metrics", timeout=10).text
    found = {}
    for family in text_string_to_metric_families(text):
        if not family.name.startswith("clinic_webhook_"):
            continue
        for sample in family.samples:
            if sample.labels["endpoint"] == "receiver":
                label = sample.labels.get("state") or sample.labels.get("outcome") or ""
                found[(sample.name, label)] = sample.value
    return found


def test_outbox_survives_failures_sigkill_and_restart(
    setup: tuple[Receiver, dict[str, str], Path],
) -> None:
    receiver, env, state = setup
    assert cli(env, "build").returncode == 0
    first = {str(i) for (i,) in query(state, "SELECT id FROM events")}
    assert len(first) > 60

    # The receiver fails, slowly: attempts are in flight when the server is killed.
    receiver.status, receiver.delay = 500, 0.3
    server = start_server(env)
    try:
        wait_for(lambda: len(receiver.snapshot()) >= 2 * len(first), 60, "two rounds of 500s")
        in_flight = query(
            state, "SELECT count(*) FROM attempts WHERE status IS NULL AND error IS NULL"
        )[0][0]
        assert server.process is not None
        server.process.kill()  # SIGKILL: no shutdown, leases left held
        server.process.wait()
    finally:
        server.stop()
    killed_at = time.time()

    # Down: connections refused. A server restarted meanwhile fails on, and a build lands.
    receiver.stop()
    server = start_server(env)
    try:
        edit(Path(env["CLINIC_CONTENT_DIR"]), "A rebuild while the receiver is down.")
        assert cli(env, "build").returncode == 0
        everything = {str(i) for (i,) in query(state, "SELECT id FROM events")}
        assert len(everything - first) == 2  # item.updated and content.changed
        time.sleep(1.5)
        refused = query(state, "SELECT count(*) FROM attempts WHERE error LIKE 'ConnectError%'")
        assert refused[0][0] > 0
        # What an operator's alert sees meanwhile: deliveries owed, and for how long.
        down = webhook_metrics(server)
        assert down[("clinic_webhook_deliveries", "pending")] == len(everything)
        assert down[("clinic_webhook_deliveries", "delivered")] == 0
        assert down[("clinic_webhook_attempts_total", "error")] >= refused[0][0]
        assert down[("clinic_webhook_attempts_total", "refused")] > 0  # the 500s
        assert down[("clinic_webhook_oldest_pending_seconds", "")] >= time.time() - killed_at
        assert down[("clinic_webhook_endpoint_disabled", "")] == 0

        receiver.status, receiver.delay = 200, 0.0
        receiver.start()
        back = time.time()
        wait_for(lambda: receiver.delivered_ids() >= everything, 60, "every event delivered")
        wait_for(
            lambda: (
                query(state, "SELECT count(*) FROM deliveries WHERE state != 'delivered'") == [(0,)]
            ),
            10,
            "the outbox to empty",
        )
        done = time.time()
        up = webhook_metrics(server)
        assert up[("clinic_webhook_deliveries", "pending")] == 0
        assert up[("clinic_webhook_deliveries", "delivered")] == len(everything)
        assert up[("clinic_webhook_attempts_total", "delivered")] == len(everything)
        assert up[("clinic_webhook_oldest_pending_seconds", "")] == 0
    finally:
        server.stop()

    received = receiver.snapshot()
    assert receiver.delivered_ids() == everything  # no id lost, none made up
    for request in received:
        # Every request, failed ones too, carries both signatures and each verifies.
        signatures = request.headers["webhook-signature"].split(" ")
        assert len(signatures) == 2
        assert all(s.startswith("v1,") for s in signatures)
        assert all(payload is not None for payload in request.verified), request.id
        assert request.verified[0]["id"] == request.id
    ids_sent = [r.id for r in received]
    tries = query(state, "SELECT max(attempt), count(*) FROM attempts")[0]
    attempts_recorded = int(tries[1])  # type: ignore[call-overload]
    assert attempts_recorded >= len(ids_sent)  # every attempt recorded (refused ones too)
    print(
        f"\nwebhooks: {len(everything)} events, {len(ids_sent)} requests received,"
        f" {attempts_recorded} attempts recorded (at most {tries[0]} for one delivery),"
        f" {in_flight} in flight at SIGKILL; all delivered {done - back:.2f}s after the"
        f" receiver came back ({done - killed_at:.1f}s after the kill)"
    )


def test_several_servers_deliver_each_event_once(
    setup: tuple[Receiver, dict[str, str], Path],
) -> None:
    receiver, env, state = setup
    # The default timeout: on a loaded machine no attempt may fail (and be sent again).
    env = {**env, "CLINIC_WEBHOOK_TIMEOUT": "10"}
    servers = [start_server(env), start_server(env)]
    try:
        started = time.time()
        assert cli(env, "build").returncode == 0
        built = time.time()
        ids = {str(i) for (i,) in query(state, "SELECT id FROM events")}
        wait_for(lambda: receiver.delivered_ids() >= ids, 60, "every event delivered")
        first_seen = min(r.at for r in receiver.snapshot())
        last_seen = max(r.at for r in receiver.snapshot())
        time.sleep(1.0)  # time for a duplicate to show
    finally:
        for server in servers:
            server.stop()
    sent = [r.id for r in receiver.snapshot()]
    failures = query(state, "SELECT worker, status, error FROM attempts WHERE status != 200")
    assert failures == []
    assert sorted(sent) == sorted(ids)  # once each, though two servers share the outbox
    workers = {str(w) for (w,) in query(state, "SELECT DISTINCT worker FROM attempts")}
    print(
        f"\nwebhooks: {len(ids)} events from one build ({built - started:.2f}s),"
        f" first delivered {first_seen - built:.2f}s after the build, the last"
        f" {last_seen - built:.2f}s after; {len(workers)} server(s) sent them, each once"
    )


def test_gone_disables_and_the_cli_lists_enables_and_redelivers(
    setup: tuple[Receiver, dict[str, str], Path],
) -> None:
    receiver, env, state = setup
    env = {**env, "CLINIC_WEBHOOK_RETRY_SCHEDULE": "0"}  # no retries: a failure is final
    hooks = write_hooks(
        Path(env["CLINIC_WEBHOOKS_FILE"]), receiver.url, receiver.secrets, ["content.changed"]
    )
    assert hooks.exists()
    assert cli(env, "build").returncode == 0
    receiver.status = 410
    server = start_server(env)
    try:
        wait_for(lambda: len(receiver.snapshot()) == 1, 20, "the first attempt")
        edit(Path(env["CLINIC_CONTENT_DIR"]), "Built after the endpoint said 410.")
        assert cli(env, "build").returncode == 0
        time.sleep(1.0)
        assert len(receiver.snapshot()) == 1  # disabled: the second event is not sent
        assert query(state, "SELECT disabled_reason FROM endpoints") == [("answered 410 Gone",)]
        assert webhook_metrics(server)[("clinic_webhook_endpoint_disabled", "")] == 1

        listed = cli(env, "events", "list", "--json")
        assert listed.returncode == 0, listed.stderr
        failed = [json.loads(line) for line in listed.stdout.splitlines()]
        assert [(f["state"], f["last_status"], f["endpoint_disabled"]) for f in failed] == [
            ("failed", 410, 1)
        ]

        receiver.status = 200
        assert cli(env, "events", "enable", "receiver").returncode == 0
        # The event owed since the 410 goes out once enabled; the failed one on request.
        wait_for(lambda: len(receiver.delivered_ids()) == 1, 20, "the owed event")
        assert webhook_metrics(server)[("clinic_webhook_endpoint_disabled", "")] == 0
        again = cli(env, "events", "redeliver", str(failed[0]["id"]))
        assert again.returncode == 0, again.stderr
        wait_for(lambda: len(receiver.delivered_ids()) == 2, 20, "the redelivered event")
        attempts = cli(env, "events", "attempts", str(failed[0]["id"]))
        statuses = [json.loads(line)["status"] for line in attempts.stdout.splitlines()]
        assert statuses == [410, 200]
        assert cli(env, "events", "list").stdout == ""  # nothing failed any more
        assert cli(env, "events", "redeliver", "999999").returncode == 1
    finally:
        server.stop()
    first_id = receiver.snapshot()[0].id
    assert [r.id for r in receiver.snapshot()].count(first_id) == 2  # the same id, resent


def test_retries_follow_the_schedule(setup: tuple[Receiver, dict[str, str], Path]) -> None:
    """Failed attempts are retried after the configured delays, then given up."""
    receiver, env, state = setup
    env = {**env, "CLINIC_WEBHOOK_RETRY_SCHEDULE": "0.5,1"}
    write_hooks(
        Path(env["CLINIC_WEBHOOKS_FILE"]), receiver.url, receiver.secrets, ["content.changed"]
    )
    assert cli(env, "build").returncode == 0
    receiver.status = 503
    server = start_server(env)
    try:
        wait_for(
            lambda: query(state, "SELECT state FROM deliveries") == [("failed",)], 20, "failed"
        )
    finally:
        server.stop()
    times = [r.at for r in receiver.snapshot()]
    assert len(times) == 3  # the first attempt and two retries
    gaps = [b - a for a, b in itertools.pairwise(times)]
    # Each delay, plus at most 10 % jitter, plus what a loaded machine adds.
    assert 0.45 <= gaps[0] <= 0.5 * 1.1 + 1.0
    assert 0.95 <= gaps[1] <= 1.0 * 1.1 + 1.0
    assert gaps[1] > gaps[0]
    assert query(state, "SELECT last_status, last_error FROM deliveries") == [(503, "HTTP 503")]


@pytest.mark.parametrize(
    ("text", "field"),
    [
        ("endpoints: [{name: a, url: 'ftp://x', secrets: [SECRET]}]", "endpoints[0].url"),
        ("endpoints: [{name: a, url: 'https://x.test', secrets: [SECRET], evnts: []}]", "'evnts'"),
        ("endpoints: [{name: a, url: 'https://x.test', secrets: ['SECRET2']}]", "secrets[0]"),
        ("endpoints: [{name: a, url: 'https://x.test', secrets: [SECRET, 'whsec_c2hvcnQ=']}]",
         "secrets[1]: decodes to 5 bytes"),
        ("endpoints: [{name: a, url: 'https://x.test', secrets: [SECRET], events: [item.made]}]",
         "events[0]"),
        ("endpoints: [{name: A B, url: 'https://x.test', secrets: [SECRET]}]", "endpoints[0].name"),
        ("endpoints:\n  - name: a\n    url: 'https://x.test'\n    secrets: [SECRET\n",
         "YAML at line"),
        ("webhooks: []", "one key, `endpoints`"),
    ],
)  # fmt: skip
def test_a_bad_webhooks_file_names_the_field_never_the_secret(
    tmp_path: Path, text: str, field: str
) -> None:
    secret = new_secret()
    path = tmp_path / "webhooks.yaml"
    # SECRET2: a pasted key that is not a whsec_ secret, which must not be echoed either.
    path.write_text(text.replace("SECRET2", secret[6:]).replace("SECRET", secret))
    with pytest.raises(SettingsError) as caught:
        Settings.from_env({"CLINIC_WEBHOOKS_FILE": str(path)})
    message = str(caught.value)
    assert field in message
    assert str(path) in message
    assert secret[6:] not in message


@pytest.mark.server
def test_a_bad_webhooks_file_stops_the_server_at_start(tmp_path: Path) -> None:
    secret = new_secret()
    path = tmp_path / "webhooks.yaml"
    path.write_text(f"endpoints: [{{name: a, url: 'nope', secrets: [{secret}]}}]\n")
    env = {"CLINIC_WEBHOOKS_FILE": str(path), "CLINIC_DB_PATH": str(tmp_path / "c.db")}
    served = cli(env, "serve", "--port", "9")
    assert served.returncode == 2
    assert f"CLINIC_WEBHOOKS_FILE ({path}): endpoints[0].url" in served.stderr
    assert secret[6:] not in served.stdout + served.stderr
    # Plain uvicorn imports the app, which reads its settings the same way.
    uvicorn = subprocess.run(
        [sys.executable, "-m", "uvicorn", "api.app:app", "--port", "9"],
        cwd=ROOT, env={**os.environ, **env}, capture_output=True, text=True, timeout=60,
        check=False,
    )  # fmt: skip
    assert uvicorn.returncode != 0
    assert "endpoints[0].url" in uvicorn.stderr
    assert secret[6:] not in uvicorn.stdout + uvicorn.stderr


def test_the_webhooks_file_may_not_be_in_content(content_copy: Path) -> None:
    path = content_copy / "webhooks.yaml"
    write_hooks(path, "https://x.test/hooks", [new_secret()])
    with pytest.raises(SettingsError, match="must not be inside the content folder"):
        Settings.from_env(
            {"CLINIC_WEBHOOKS_FILE": str(path), "CLINIC_CONTENT_DIR": str(content_copy)}
        )


def test_secrets_are_not_in_the_settings_repr(tmp_path: Path) -> None:
    secret = new_secret()
    path = write_hooks(tmp_path / "w.yaml", "https://x.test/hooks", [secret])
    settings = Settings.from_env({"CLINIC_WEBHOOKS_FILE": str(path)})
    key = webhooks.decode_secret(secret)
    assert settings.webhooks[0].keys == (key,)
    for text in (repr(settings), repr(settings.webhooks[0])):
        assert secret[6:] not in text
        assert repr(key) not in text


def test_signatures_are_the_librarys_one_per_secret() -> None:
    """Our few lines of hmac against the specification's library, for many inputs."""
    for size in (24, 32, 64):
        old, new = (
            "whsec_" + base64.b64encode(os.urandom(size)).decode(),
            "whsec_" + base64.b64encode(os.urandom(size)).decode().rstrip("="),
        )
        endpoint = webhooks.Endpoint(
            "a", "https://x.test", (webhooks.decode_secret(new), webhooks.decode_secret(old))
        )
        now = int(time.time())
        body = json.dumps({"type": "item.updated", "data": {"slug": "é", "n": size}}).encode()
        headers = webhooks.headers(endpoint, f"evt_{size}", now, body)
        expected = [
            Webhook(s).sign(f"evt_{size}", dt.datetime.fromtimestamp(now, dt.UTC), body.decode())
            for s in (new, old)
        ]
        assert headers["webhook-signature"] == " ".join(expected)
        for secret in (new, old):
            assert Webhook(secret).verify(body, headers) == json.loads(body)
        assert headers["webhook-timestamp"] == str(now)


def test_the_default_schedule_is_the_specifications() -> None:
    assert Settings.from_env({}).webhook_retry_schedule == DEFAULT_SCHEDULE
    # Immediately, then 5 s, 5 min, 30 min, 2 h, 5 h, 10 h, 14 h, 20 h, 24 h.
    assert [round(sum(DEFAULT_SCHEDULE[:n]) / 60, 2) for n in (1, 2, 3, 9)] == [
        0.08, 5.08, 35.08, 4535.08
    ]  # fmt: skip
    assert Settings.from_env({}).webhook_timeout == 10.0
    assert retry_delay((5.0,), 2, None) is None  # spent: given up
    delay = retry_delay((5.0,), 1, None)
    assert delay is not None
    assert 5.0 <= delay <= 5.5  # with at most 10 % jitter
    assert retry_delay((5.0,), 1, 60.0) == 60.0  # Retry-After wins when longer
    with pytest.raises(SettingsError, match="CLINIC_WEBHOOK_RETRY_SCHEDULE"):
        Settings.from_env({"CLINIC_WEBHOOK_RETRY_SCHEDULE": "5,soon"})
