"""No access key, secret, session token or presigned signature in logs, messages or reprs."""

from __future__ import annotations

import logging
import traceback
from collections.abc import Iterator
from typing import TYPE_CHECKING

import pytest

import fastzips3
from fastzips3 import errors
from fastzips3.errors import redact_url
from fastzips3.testing import FaultProxy
from fastzips3.testing.faults import Fault
from tests.helpers.http_server import LocalHTTPServer, closed_port
from tests.helpers.zips import make_zip

if TYPE_CHECKING:
    from fastzips3.testing import CountingProxy, LocalS3Server

FAKE_KEY = "AKIAFAKEFAKEFAKE1234"
FAKE_SECRET = "fake/secret+Zz9SECRETSECRETsecretsecret"
FAKE_TOKEN = "FwoGZXIvYXdzEFAKETOKENfaketokenFAKE"


def test_fake_credentials_never_leak(
    s3_server: LocalS3Server,
    s3_proxy: CountingProxy,
    caplog: pytest.LogCaptureFixture,
    capfd: pytest.CaptureFixture[str],
) -> None:
    caplog.set_level(logging.DEBUG, logger="fastzips3")
    texts: list[str] = []
    with pytest.raises(errors.SourcePermissionError) as info:
        fastzips3.open_archive(
            "s3://test/secrets/a.zip",
            endpoint_url=s3_proxy.url,
            aws_access_key_id=FAKE_KEY,
            aws_secret_access_key=FAKE_SECRET,
            aws_session_token=FAKE_TOKEN,
            directory_cache=False,
        )
    texts += [str(info.value), repr(info.value), repr(info.value.__cause__)]
    from fastzips3.sources.s3 import S3Config

    texts.append(
        repr(
            S3Config(
                aws_access_key_id=FAKE_KEY,
                aws_secret_access_key=FAKE_SECRET,
                aws_session_token=FAKE_TOKEN,
            )
        )
    )
    # a presigned URL: its signature and credential never show
    client = s3_server.client(endpoint_url=s3_proxy.url)
    client.put_object(Bucket="test", Key="secrets/p.zip", Body=make_zip([("x", b"1", "stored")]))
    url = client.generate_presigned_url(
        "get_object", Params={"Bucket": "test", "Key": "secrets/p.zip"}
    )
    signature = url.split("Signature=")[1].split("&")[0]
    with fastzips3.open_archive(url) as archive:
        texts += [archive.url, repr(archive)]
        with archive.open("x") as member:
            texts.append(repr(member))
    with pytest.raises(errors.SourceError) as missing:
        fastzips3.open_archive(url.replace("secrets/p.zip", "secrets/none.zip"))
    texts += [str(missing.value), repr(missing.value)]
    client.close()
    texts += [record.getMessage() for record in caplog.records]
    out, err = capfd.readouterr()
    texts += [out, err]
    joined = "\n".join(texts)
    for secret in (FAKE_SECRET, FAKE_TOKEN, signature, s3_server.secret_key):
        assert secret not in joined
    assert "Signature=***" in joined or "X-Amz-Signature=***" in joined


# --- every failure kind, with secrets in the URL ---------------------------------------------
#
# Each failure kind (refused, DNS, TLS, timeout, 403, 404, 412, reset) is driven with a
# presigned-style URL, a URL with other signature parameters (GCS, Azure, CloudFront, tokens)
# and a user:password@ URL. No secret may appear in str() or repr() of the error, of anything
# in its cause/context chain, in its history, in traceback.format_exception (what --debug
# prints), in fastzips3's log records, or in the CLI's --debug output. Loopback only.

KINDS = ["refused", "dns", "tls", "timeout", "403", "404", "412", "reset"]

_SIG = "5f2b0c1d9e8a7b6c5d4e3f2a1b0c9d8e7f6a5b4c3d2e1f0a9b8c7d6e5f4a3b2c"
_STYLES: dict[str, tuple[str, str, tuple[str, ...]]] = {
    # style: (userinfo, query, secrets)
    "presigned": (
        "",
        "?X-Amz-Algorithm=AWS4-HMAC-SHA256"
        "&X-Amz-Credential=AKIAPRESIGNFAKE01%2F20240101%2Fus-east-1%2Fs3%2Faws4_request"
        "&X-Amz-Date=20240101T000000Z&X-Amz-Expires=900&X-Amz-SignedHeaders=host"
        "&X-Amz-Security-Token=FwoGZXIvYXdzPRESIGNEDTOKENfake"
        f"&X-Amz-Signature={_SIG}",
        ("AKIAPRESIGNFAKE01", "FwoGZXIvYXdzPRESIGNEDTOKENfake", _SIG),
    ),
    "other-signatures": (
        "",
        "?X-Goog-Signature=GOOGSIGfake0123456789&X-Goog-Credential=gsa%40proj.iam%2Ffake"
        "&sig=AZURESIGxyz%2B987%3D&Signature=CLOUDFRONTSIGfake&Key-Pair-Id=APKAFAKEPAIR"
        "&access_token=OAUTHTOKENfake42&se=2030-01-01",
        (
            "GOOGSIGfake0123456789",
            "gsa@proj.iam/fake",
            "AZURESIGxyz+987=",
            "AZURESIGxyz%2B987",
            "CLOUDFRONTSIGfake",
            "APKAFAKEPAIR",
            "OAUTHTOKENfake42",
        ),
    ),
    "userinfo": ("fastuser:Pa55w0rdSECRET@", "", ("Pa55w0rdSECRET", "fastuser")),
}

_QUICK = fastzips3.RetryPolicy(attempts=2, backoff=0.001, backoff_max=0.01)


class _Targets:
    """Where each failure kind happens: ``scheme://`` and ``host:port/path``."""

    def __init__(self, server: LocalHTTPServer, stall: FaultProxy, reset: FaultProxy) -> None:
        plain = f"127.0.0.1:{server.port}"
        self.base = {
            "refused": ("http", f"127.0.0.1:{closed_port()}/a.zip"),
            "dns": ("http", "no-such-host-fastzips3.invalid/a.zip"),
            "tls": ("https", f"{plain}/a.zip"),
            "timeout": ("http", f"{stall.url.split('//')[1]}/a.zip"),
            "403": ("http", f"{plain}/403/a.zip"),
            "404": ("http", f"{plain}/missing/a.zip"),
            "412": ("http", f"{plain}/412/a.zip"),
            "reset": ("http", f"{reset.url.split('//')[1]}/a.zip"),
        }

    def url(self, kind: str, style: str) -> str:
        scheme, rest = self.base[kind]
        userinfo, query, _ = _STYLES[style]
        return f"{scheme}://{userinfo}{rest}{query}"


@pytest.fixture(scope="module")
def targets(tmp_path_factory: pytest.TempPathFactory) -> Iterator[_Targets]:
    root = tmp_path_factory.mktemp("secret-targets")
    (root / "a.zip").write_bytes(make_zip([("x", b"1", "stored")]))
    statuses = {"/403/a.zip": 403, "/412/a.zip": 412}
    stall = Fault("stall", after_bytes=-1, stall_seconds=1.5, times=None, method=None)
    reset = Fault("reset", after_bytes=-1, times=None, method=None)
    with (
        LocalHTTPServer(root, statuses=statuses) as server,
        FaultProxy(server.url, [stall]) as stalling,
        FaultProxy(server.url, [reset]) as resetting,
    ):
        yield _Targets(server, stalling, resetting)


def _walk(err: BaseException) -> list[BaseException]:
    """``err`` and everything in its cause and context chains (and exceptions in args)."""
    seen: list[BaseException] = []
    todo = [err]
    while todo and len(seen) < 100:
        item = todo.pop()
        if any(item is s for s in seen):
            continue
        seen.append(item)
        for inner in (item.__cause__, item.__context__, *item.args):
            if isinstance(inner, BaseException):
                todo.append(inner)
    return seen


def _texts_of(err: BaseException) -> list[str]:
    texts = ["".join(traceback.format_exception(err))]
    for item in _walk(err):
        texts += [str(item), repr(item)]
        texts += [str(line) for line in getattr(item, "history", ())]
        texts.append(str(getattr(item, "url", "")))
    return texts


def _assert_clean(texts: list[str], secrets: tuple[str, ...]) -> None:
    joined = "\n".join(texts)
    for secret in secrets:
        assert secret not in joined, f"{secret!r} leaked:\n{joined}"


def _fastzips3_logs(caplog: pytest.LogCaptureFixture) -> list[str]:
    out = []
    for record in caplog.records:
        if record.name.startswith("fastzips3"):
            out.append(record.getMessage())
            if record.exc_info:
                out.append("".join(traceback.format_exception(*record.exc_info)))
    return out


@pytest.mark.parametrize("style", list(_STYLES))
@pytest.mark.parametrize("kind", KINDS)
def test_no_secret_in_any_failure_of_an_http_url(
    targets: _Targets, kind: str, style: str, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG, logger="fastzips3")
    url = targets.url(kind, style)
    with pytest.raises(errors.SourceError) as info:
        fastzips3.open_archive(url, directory_cache=False, retries=_QUICK, read_timeout=0.3)
    err = info.value
    expected: dict[str, type[errors.SourceError]] = {
        "refused": errors.SourceConnectionRefusedError,
        "dns": errors.SourceConnectionError,
        "tls": errors.SourceConnectionError,
        "timeout": errors.RetriesExhaustedError,
        "403": errors.SourcePermissionError,
        "404": errors.SourceNotFoundError,
        "412": errors.SourceChangedError,
        "reset": errors.RetriesExhaustedError,
    }
    if kind != "dns":  # a resolver that cannot be reached is retried (EAI_AGAIN)
        assert isinstance(err, expected[kind]), repr(err)
    assert "\n" not in str(err)
    assert str(err).count(redact_url(url)) == 1
    _assert_clean(_texts_of(err) + _fastzips3_logs(caplog), _STYLES[style][2])


@pytest.mark.parametrize("style", list(_STYLES))
@pytest.mark.parametrize("kind", KINDS)
def test_no_secret_in_the_cli_debug_output(
    targets: _Targets, kind: str, style: str, capsys: pytest.CaptureFixture[str]
) -> None:
    from fastzips3.cli import main

    code = main(["--debug", "--retries", "1", "ls", targets.url(kind, style)])
    out, err = capsys.readouterr()
    assert code != 0
    assert "Traceback" in err  # --debug printed the chain
    _assert_clean([out, err], _STYLES[style][2])


@pytest.mark.parametrize("kind", KINDS)
def test_no_secret_in_any_failure_of_an_s3_source(
    targets: _Targets, kind: str, caplog: pytest.LogCaptureFixture
) -> None:
    """S3 through each failure: the credentials never show (403/404/412 come from a proxy
    that answers with S3's XML errors)."""
    caplog.set_level(logging.DEBUG, logger="fastzips3")
    scheme, rest = targets.base[kind]
    endpoint = f"{scheme}://{rest.split('/')[0]}"
    proxy: FaultProxy | None = None
    if kind in ("403", "404", "412"):
        upstream = f"http://{targets.base['403'][1].split('/')[0]}"
        proxy = FaultProxy(upstream, [Fault("status", status=int(kind), times=None)])
        proxy.start()
        endpoint = proxy.url
    try:
        with pytest.raises(errors.SourceError) as info:
            fastzips3.open_archive(
                "s3://bucket/secret/a.zip",
                endpoint_url=endpoint,
                aws_access_key_id=FAKE_KEY,
                aws_secret_access_key=FAKE_SECRET,
                aws_session_token=FAKE_TOKEN,
                directory_cache=False,
                retries=_QUICK,
                read_timeout=0.3,
                connect_timeout=0.5,
            )
    finally:
        if proxy is not None:
            proxy.stop()
    err = info.value
    assert "\n" not in str(err)
    assert str(err).count("s3://bucket/secret/a.zip") == 1
    _assert_clean(_texts_of(err) + _fastzips3_logs(caplog), (FAKE_SECRET, FAKE_TOKEN))
