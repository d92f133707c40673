"""Retries and resume over in-memory sources with injected failures (no network)."""

from __future__ import annotations

import io
import random
import threading
from dataclasses import dataclass, field

import pytest

import fastzips3
from fastzips3 import errors
from fastzips3.sources.base import ObjectVersion, RangeStream, TailRead
from tests.helpers.zips import make_zip, random_bytes

FAST = fastzips3.RetryPolicy(attempts=6, backoff=0.001, backoff_max=0.01)


@dataclass
class Plan:
    """Failures to inject: a list of (kind, after_bytes) consumed one per request."""

    failures: list[tuple[str, int]] = field(default_factory=list)
    opened: list[tuple[int, int]] = field(default_factory=list)
    delivered: int = 0
    lock: threading.Lock = field(default_factory=threading.Lock)

    def next(self) -> tuple[str, int] | None:
        with self.lock:
            return self.failures.pop(0) if self.failures else None


class _Broken:
    def __init__(self, inner: io.BytesIO, plan: Plan, fail_after: int, kind: str) -> None:
        self._inner = inner
        self._plan = plan
        self._left = fail_after
        self._kind = kind

    def read(self, size: int = -1, /) -> bytes:
        if self._left <= 0:
            if self._kind == "truncate":
                return b""
            raise errors.SourceError("connection reset by peer", retryable=True)
        data = self._inner.read(min(size if size >= 0 else self._left, self._left))
        self._left -= len(data)
        with self._plan.lock:
            self._plan.delivered += len(data)
        return data

    def close(self) -> None:
        pass


class FlakySource:
    """A MemorySource whose requests fail as the plan says."""

    remote = False

    def __init__(self, data: bytes, plan: Plan) -> None:
        self.inner = fastzips3.MemorySource(data)
        self.plan = plan

    @property
    def url(self) -> str:
        return "memory://flaky.zip"

    @property
    def version(self) -> ObjectVersion | None:
        return self.inner.version

    def read_tail(self, length: int) -> TailRead:
        failure = self.plan.next()
        if failure is not None and failure[0] == "status":
            raise errors.SourceError("HTTP 503 SlowDown", retryable=True)
        return self.inner.read_tail(length)

    def revalidate(self, version: ObjectVersion, length: int) -> TailRead | None:
        return self.inner.revalidate(version, length)

    def assume(self, version: ObjectVersion) -> None:
        self.inner.assume(version)

    def read_range(self, *, start: int, end: int) -> bytes:
        raise AssertionError("the engine streams ranges")

    def open_range(self, *, start: int, end: int) -> RangeStream:
        with self.plan.lock:
            self.plan.opened.append((start, end))
        failure = self.plan.next()
        if failure is not None and failure[0] == "status":
            raise errors.SourceError("HTTP 503 SlowDown", retryable=True)
        if failure is not None and failure[0] == "forbidden":
            raise errors.SourcePermissionError("HTTP 403")
        stream = self.inner.open_range(start=start, end=end)
        assert isinstance(stream, io.BytesIO)
        if failure is None:
            return _Broken(stream, self.plan, end - start, "none")
        return _Broken(stream, self.plan, failure[1], failure[0])

    def close(self) -> None:
        self.inner.close()


@pytest.fixture
def payload() -> bytes:
    return random_bytes(random.Random(1), 3 << 20)


def _archive(payload: bytes, plan: Plan, **options: object) -> fastzips3.ZipArchive:
    data = make_zip([("m.bin", payload, "stored")])
    merged: dict[str, object] = {"tail_size": 1024, "retries": FAST, **options}
    return fastzips3.open_archive(FlakySource(data, plan), **merged)  # type: ignore[arg-type]


@pytest.mark.parametrize("kind", ["reset", "truncate"])
def test_broken_bodies_resume_from_the_last_good_byte(payload: bytes, kind: str) -> None:
    plan = Plan()
    with _archive(payload, plan) as archive:
        plan.failures = [(kind, 1 << 20), (kind, 700_000)]
        plan.opened.clear()
        plan.delivered = 0
        assert archive.read("m.bin") == payload
    first, second, third = plan.opened
    assert second[0] == first[0] + (1 << 20)
    assert third[0] == second[0] + 700_000
    assert plan.delivered <= (len(payload) + 1024) * 1.1


def test_status_errors_are_retried(payload: bytes) -> None:
    plan = Plan(failures=[("status", 0), ("status", 0)])
    with _archive(payload, plan) as archive:
        plan.failures = [("status", 0), ("status", 0), ("status", 0)]
        assert archive.read("m.bin") == payload


def test_retries_exhausted_carries_the_history(payload: bytes) -> None:
    plan = Plan()
    with _archive(payload, plan, retries=fastzips3.RetryPolicy(attempts=3, backoff=0.001)) as a:
        plan.failures = [("reset", 100)] * 10
        with pytest.raises(errors.RetriesExhaustedError) as info:
            a.read("m.bin")
    assert len(info.value.history) == 3
    assert "connection reset" in info.value.history[-1]
    assert isinstance(info.value.__cause__, errors.SourceError)
    assert isinstance(info.value, OSError)


def test_permanent_errors_are_not_retried(payload: bytes) -> None:
    plan = Plan()
    with _archive(payload, plan) as archive:
        plan.failures = [("forbidden", 0)]
        plan.opened.clear()
        with pytest.raises(errors.SourcePermissionError):
            archive.read("m.bin")
        assert len(plan.opened) == 1


def test_policy_is_an_immutable_value() -> None:
    policy = fastzips3.RetryPolicy(attempts=3, backoff=0.5, backoff_max=1.0, jitter=0.0)
    err = errors.SourceError("boom", retryable=True)
    once = policy.increment(err)
    assert policy.history == ()
    assert once.history == ("SourceError: boom",)
    assert once.sleep_seconds() == 0.5
    assert once.increment(err).sleep_seconds() == 1.0
    with pytest.raises(errors.RetriesExhaustedError):
        once.increment(err).increment(err)
    with pytest.raises(ValueError, match="attempts"):
        fastzips3.RetryPolicy(attempts=0)
    with pytest.raises(AttributeError):
        policy.attempts = 9  # type: ignore[misc]


def test_a_slow_get_past_its_deadline_is_cut_and_resumed(payload: bytes) -> None:
    plan = Plan()
    slow = fastzips3.RetryPolicy(attempts=50, backoff=0.0, request_timeout=1e-9)
    with _archive(payload, plan, retries=slow, chunk_size=64 << 20) as archive:
        plan.opened.clear()
        assert archive.read("m.bin") == payload
    assert len(plan.opened) > 1  # every piece passed the deadline: the GET was resumed
    starts = [s for s, _ in plan.opened]
    assert starts == sorted(starts)


# --- the "gave up" message and the classification of network failures ------------------------


def test_gave_up_is_one_line_with_the_cause_the_attempts_and_the_url_once() -> None:
    url = "https://u:pw@host.example/a.zip?X-Amz-Signature=SIG123456"
    policy = fastzips3.RetryPolicy(attempts=2, backoff=0.0)
    err = errors.SourceConnectionError("the connection to host.example:443 was reset", url=url)
    with pytest.raises(errors.RetriesExhaustedError) as info:
        policy.increment(err).increment(err)
    text = str(info.value)
    assert text == (
        "gave up after 2 attempts: the connection to host.example:443 was reset "
        "[https://***@host.example/a.zip?X-Amz-Signature=***]"
    )
    assert info.value.history == ("SourceConnectionError: " + err.reason,) * 2
    assert info.value.__cause__ is err
    one = fastzips3.RetryPolicy(attempts=1)
    with pytest.raises(errors.RetriesExhaustedError, match=r"^gave up after 1 attempt: "):
        one.increment(err)


def _network_error(exc: BaseException, host: str = "127.0.0.1") -> errors.SourceError:
    from fastzips3.sources.base import network_error

    return network_error(exc, url=f"http://{host}/a.zip", host=host, port=80)


@pytest.mark.parametrize(
    ("host", "retried"),
    [("127.0.0.1", False), ("::1", False), ("localhost", False), ("files.example.com", True)],
)
def test_a_refused_connection_is_retried_only_for_a_host_name(host: str, retried: bool) -> None:
    err = _network_error(ConnectionRefusedError(111, "Connection refused"), host)
    assert isinstance(err, errors.SourceConnectionRefusedError)
    assert isinstance(err, ConnectionRefusedError)
    assert err.retryable is retried
    assert err.reason.startswith("connection refused by ")


def test_network_failures_are_named_and_typed() -> None:
    import socket
    import ssl

    from urllib3.exceptions import MaxRetryError, NewConnectionError, ProtocolError

    gone = _network_error(
        socket.gaierror(socket.EAI_NONAME, "Name or service not known"), "x.invalid"
    )
    assert isinstance(gone, errors.SourceConnectionError)
    assert gone.reason == "DNS lookup failed: the host x.invalid does not exist"
    assert not gone.retryable
    again = _network_error(socket.gaierror(socket.EAI_AGAIN, "Temporary failure"), "x.example")
    assert again.retryable
    assert "temporary" in again.reason
    cert = ssl.SSLCertVerificationError(1, "certificate verify failed")
    cert.verify_message = "self-signed certificate"
    tls = _network_error(cert)
    assert isinstance(tls, errors.SourceConnectionError)
    assert (
        tls.reason
        == "TLS error with 127.0.0.1:80: certificate verify failed: self-signed certificate"
    )
    assert not tls.retryable
    reset = _network_error(ProtocolError("Connection aborted.", ConnectionResetError(104, "reset")))
    assert isinstance(reset, errors.SourceConnectionError)
    assert reset.retryable
    assert reset.reason == "the connection to 127.0.0.1:80 was reset"
    timeout = _network_error(TimeoutError("timed out"))
    assert isinstance(timeout, errors.SourceTimeoutError)
    # urllib3's wrapper is seen through to the cause inside it
    inner = NewConnectionError(None, "Failed to establish a new connection: refused")  # type: ignore[arg-type]
    inner.__cause__ = ConnectionRefusedError(111, "Connection refused")
    wrapped = MaxRetryError(None, "/a.zip?X-Amz-Signature=SIG123456", inner)  # type: ignore[arg-type]
    refused = _network_error(wrapped)
    assert isinstance(refused, errors.SourceConnectionRefusedError)


def test_a_foreign_cause_is_chained_only_as_a_redacted_copy() -> None:
    from urllib3.exceptions import MaxRetryError

    from fastzips3.sources.base import RedactedError, network_error, url_secrets

    url = "http://user:hunter22@h.example/a.zip?X-Amz-Credential=AKIAFAKE%2F2024&sig=AZSIG%2B1"
    secrets = url_secrets(url)
    assert {"user", "hunter22", "AKIAFAKE/2024", "AKIAFAKE%2F2024", "AZSIG+1"} <= set(secrets)
    try:
        try:
            raise ConnectionResetError(104, f"reset while fetching {url}")
        except ConnectionResetError as first:
            raise MaxRetryError(None, url, first) from first  # type: ignore[arg-type]
    except MaxRetryError as exc:
        err = network_error(exc, url=url, host="h.example", port=80, secrets=secrets)
    cause = err.__cause__
    assert isinstance(cause, RedactedError)
    assert isinstance(cause.__cause__, RedactedError)
    assert cause.__traceback__ is not None  # --debug still shows where it failed
    import traceback

    text = "".join(traceback.format_exception(err)) + repr(cause) + repr(cause.__cause__)
    for secret in ("hunter22", "AKIAFAKE", "AZSIG"):
        assert secret not in text
    assert "urllib3.exceptions.MaxRetryError" in text
