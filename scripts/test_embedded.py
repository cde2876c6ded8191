"""The concurrency-sensitive suites again, on the embedded PostgreSQL (issue 13).

`make run` on a fresh machine uses the embedded PostgreSQL when DATABASE_URL is
unset (config/embedded.py), so that default must never be the untested path:
`make test` runs admission, dispatch, the pipeline and the fault tests on it,
then the load bench's three people uploading eight songs each at once.
The server lives in var/test-postgres and is stopped at the end.
"""

import os
import subprocess  # noqa: S404 - fixed argv lists, no shell
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from config.embedded import postgres_stop, postgres_url  # noqa: E402

PGDATA = ROOT / "var" / "test-postgres"
SUITES = [
    "tests/jobs/intake/test_admission.py",
    "tests/jobs/runner",
    "tests/faults",
]
LOAD = ["--users", "3", "--uploads", "8", "--slots", "2", "--site"]


def main() -> int:
    url = postgres_url(PGDATA)
    print(f"[embedded] PostgreSQL in {PGDATA}: {url}", flush=True)  # noqa: T201
    env = {**os.environ, "TEST_DATABASE_URL": url, "BENCH_POSTGRES_URL": url}
    try:
        tests = subprocess.run(  # noqa: S603
            [sys.executable, "-m", "pytest", *SUITES, "--create-db"],
            cwd=ROOT,
            env=env,
            check=False,
        )
        if tests.returncode != 0:
            return tests.returncode
        load = subprocess.run(  # noqa: S603
            [sys.executable, "bench/load.py", *LOAD], cwd=ROOT, env=env, check=False
        )
        return load.returncode
    finally:
        postgres_stop(PGDATA)


if __name__ == "__main__":
    raise SystemExit(main())
