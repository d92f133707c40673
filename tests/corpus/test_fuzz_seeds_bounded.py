"""All 951 fuzz seeds in one child process under a 2 GiB address-space limit, 2 s each."""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap

from tests.corpus.conftest import REPO_ROOT, require_corpus

CHILD = textwrap.dedent(
    """
    import json, resource, signal, sys, time
    resource.setrlimit(resource.RLIMIT_AS, (2 << 30, 2 << 30))
    from tests.helpers.invariant import check

    def hang(signum, frame):
        raise TimeoutError("over 2 s")

    signal.signal(signal.SIGALRM, hang)
    worst = 0.0
    for path in json.loads(sys.stdin.read()):
        data = open(path, "rb").read()
        start = time.monotonic()
        signal.alarm(2)
        check(data)
        signal.alarm(0)
        worst = max(worst, time.monotonic() - start)
    usage = resource.getrusage(resource.RUSAGE_SELF)
    print(json.dumps({"worst_seconds": worst, "max_rss_kib": usage.ru_maxrss}))
    """
)


def test_every_fuzz_seed_in_bounded_time_and_memory() -> None:
    corpus = require_corpus()
    seeds = [str(c.file) for c in corpus.cases if c.outcome == "no_crash"]
    assert len(seeds) == 951
    result = subprocess.run(
        [sys.executable, "-c", CHILD],
        input=json.dumps(seeds),
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
        cwd=REPO_ROOT,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    report = json.loads(result.stdout.strip().splitlines()[-1])
    assert report["worst_seconds"] < 2
    assert report["max_rss_kib"] < 1 << 20  # under 1 GiB, with a 2 GiB address-space cap
