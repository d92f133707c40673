"""The public surface is fixed: changing it must be a deliberate edit of this test."""

from __future__ import annotations

import fastzips3
import fastzips3.errors

EXPECTED = [
    "CoreInfo",
    "EngineConfig",
    "ExtractReport",
    "ManifestFailure",
    "ManifestRow",
    "MemberReader",
    "MemberSplit",
    "MemorySource",
    "ObjectVersion",
    "OpenOptions",
    "PathInfo",
    "RemoteFile",
    "RetryPolicy",
    "S3ExtractReport",
    "Source",
    "Stats",
    "WriteResult",
    "ZipArchive",
    "ZipEntry",
    "ZipFile",
    "ZipInfo",
    "ZipWriter",
    "__version__",
    "append",
    "clear_archive_cache",
    "core_info",
    "errors",
    "expand_archives",
    "extract_members",
    "extract_to_s3",
    "iter_manifest",
    "listdir",
    "manifest",
    "member_splits",
    "open",
    "open_archive",
    "read_split",
    "split_archive_path",
    "stat",
]


def test_all_is_pinned() -> None:
    assert sorted(fastzips3.__all__) == sorted(EXPECTED)
    for name in fastzips3.__all__:
        assert hasattr(fastzips3, name), name


def test_every_public_name_has_a_docstring() -> None:
    for name in fastzips3.__all__:
        obj = getattr(fastzips3, name)
        if name.startswith("__"):
            continue
        assert (obj.__doc__ or "").strip(), f"{name} has no docstring"


def test_error_tree_subclasses_the_builtins_users_catch() -> None:
    import zipfile

    e = fastzips3.errors
    assert issubclass(e.FormatError, zipfile.BadZipFile)
    assert issubclass(e.CRCMismatchError, e.IntegrityError)
    assert issubclass(e.SourceError, OSError)
    assert issubclass(e.SourceNotFoundError, FileNotFoundError)
    assert issubclass(e.SourcePermissionError, PermissionError)
    assert issubclass(e.SourceTimeoutError, TimeoutError)
    assert issubclass(e.UnsupportedMethodError, NotImplementedError)
    for name in e.__all__:
        obj = getattr(e, name)
        if isinstance(obj, type):
            assert issubclass(obj, e.FastZipS3Error), name


def test_import_fastzips3_does_not_import_boto3() -> None:
    import subprocess
    import sys

    code = "import sys, fastzips3; print('boto3' in sys.modules, 'botocore' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.split() == ["False", "False"]


def test_import_fastzips3_loads_the_idna_codec_before_the_first_request() -> None:
    """urllib3 encodes each host with it on the first connection: 1.5 ms off the first GET."""
    import subprocess
    import sys

    code = "import sys, fastzips3; print('encodings.idna' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.split() == ["True"]


def test_source_error_redacts_credentials() -> None:
    err = fastzips3.errors.SourceError(
        "boom",
        url="https://user:pw@host/a.zip?X-Amz-Signature=abc123&X-Amz-Credential=AKIAFAKE&x=1",
    )
    text = str(err) + repr(err)
    for secret in ("abc123", "AKIAFAKE", "pw@"):
        assert secret not in text
    assert "x=1" in text
