"""No access key, secret, session token or presigned signature in logs, messages or reprs."""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING

import pytest

import fastzips3
from fastzips3 import errors
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
