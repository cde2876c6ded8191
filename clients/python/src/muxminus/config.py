"""Where `mux login` keeps the token: a JSON file only its owner can read.

`<config dir>/muxminus/login.json` (on Linux ~/.config/muxminus, following
XDG_CONFIG_HOME), mode 0600. MUXMINUS_TOKEN and MUXMINUS_URL win over it.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from pathlib import Path

import typer

from .client import DEFAULT_URL


@dataclass(frozen=True)
class Login:
    token: str | None
    url: str
    #: Where each came from, for messages: "MUXMINUS_TOKEN", the file, or None.
    token_source: str | None


def login_path() -> Path:
    return Path(typer.get_app_dir("muxminus")) / "login.json"


def stored() -> dict[str, str]:
    try:
        data = json.loads(login_path().read_text())
    except (OSError, ValueError):
        return {}
    return (
        {k: v for k, v in data.items() if isinstance(v, str)}
        if isinstance(data, dict)
        else {}
    )


def current() -> Login:
    """The token and URL to use: the environment's, else the stored login's."""
    saved = stored()
    token, source = os.environ.get("MUXMINUS_TOKEN"), "MUXMINUS_TOKEN"
    if not token:
        token, source = saved.get("token"), str(login_path())
    url = os.environ.get("MUXMINUS_URL") or saved.get("url") or DEFAULT_URL
    return Login(token=token or None, url=url, token_source=source if token else None)


def save(*, token: str, url: str) -> Path:
    """Write the login, readable by its owner alone (atomically: a crash leaves
    the old file or the new one)."""
    path = login_path()
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    fresh = path.with_name(f".{path.name}.{os.getpid()}")
    descriptor = os.open(fresh, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(descriptor, "w") as out:
        json.dump({"token": token, "url": url}, out)
    os.chmod(fresh, 0o600)  # whatever the umask, or an older file's mode
    os.replace(fresh, path)
    return path


def forget() -> bool:
    """Delete the stored login; whether there was one."""
    try:
        login_path().unlink()
    except FileNotFoundError:
        return False
    return True
