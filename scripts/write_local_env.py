"""Write a local .env on first run: generated secrets, local database and Redis.

Never overwrites an existing .env; prints what it did.
"""

import secrets
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
TEMPLATE = """# Written by `make run` on first run. Edit freely;
# the environment wins over this file.
DJANGO_SECRET_KEY={secret}
DJANGO_DEBUG=true
DJANGO_ALLOWED_HOSTS=127.0.0.1,localhost
# DATABASE_URL unset: PostgreSQL embedded in var/postgres, started by make run.
# Set postgres://... to use a server of your own.
# REDIS_URL: when nothing answers there, make run starts a Redis in var/redis.
# Database 3, not 0: a Redis on this machine may serve other projects' queues.
REDIS_URL=redis://127.0.0.1:6379/3
SHARED_ROOT={shared}
# STEMWORKER_URL unset: make run derives it from STEMWORKER_PORT (default 8001).
STEMWORKER_TOKEN={token}
# MAX_CONCURRENT_JOBS unset: the stemworker chooses from this machine's cores,
# memory and GPUs, and logs what it chose.
# Point DEMUCS_REPO at a folder of demucs models to work offline
# (`make tiny-models` builds small random ones for trying the product).
# This machine is yours: webhooks may go to receivers on it or on your network
# (production refuses private addresses unless this is set).
WEBHOOK_ALLOW_PRIVATE=true
"""


def main() -> int:
    env_file = ROOT / ".env"
    if env_file.exists():
        return 0
    env_file.write_text(
        TEMPLATE.format(
            secret=secrets.token_urlsafe(50),
            token=secrets.token_urlsafe(32),
            shared=ROOT / "var" / "shared",
        )
    )
    env_file.chmod(0o600)
    sys.stdout.write(f"Wrote {env_file} with fresh secrets.\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
