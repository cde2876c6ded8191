"""Whether each offered model's weights are there to load, and if not, why.

With ``DEMUCS_REPO`` the answer is on disk: a bag's ``<name>.yaml`` and one
``<sig>-<sha256[:8]>.th`` per model it names (the layout demucs/repo.py reads);
the inspecting pool worker then loads every model that passed, which checks the
checksums too. Without a repo, demucs 4.1.0 looks in the Hugging Face cache,
then the torch hub cache, then downloads: a model is loadable when it is cached
or a download host answers.

The cheap checks import neither torch nor demucs; those for the caches run in
the pool worker, which has both imported already. The reasons are short and
name no path: the web side shows them next to the model.
"""

from __future__ import annotations

import importlib.util
import os
import socket
from collections.abc import Iterable, Mapping
from functools import cache
from pathlib import Path
from urllib.parse import urlsplit

import yaml

NOT_FOUND = "weights not found in DEMUCS_REPO"
DAMAGED = "weights in DEMUCS_REPO do not match their checksum"
UNLOADABLE = "weights in DEMUCS_REPO could not be loaded"
NOT_DOWNLOADED = "weights not downloaded"
NOT_A_MODEL = "not a model demucs can download"
# Where demucs 4.1.0 downloads from without a repo (demucs/pretrained.py ROOT_URL;
# the Hugging Face hub's endpoint comes from huggingface_hub, HF_ENDPOINT).
DEMUCS_DOWNLOAD_URL = "https://dl.fbaipublicfiles.com/demucs/"
HUGGING_FACE_URL = "https://huggingface.co"
PROBE_TIMEOUT_SECONDS = 3.0
HINT = (
    "run `make fetch-models` (or `manage.py fetch_models`; in docker compose the "
    "`models` service) to download them, or `make tiny-models` to try Mux Minus "
    "without real weights"
)


def _signature(file: Path) -> str:
    """A weight file's signature, as demucs' LocalRepo reads it from its name."""
    return file.stem.rsplit("-", 1)[0] if "-" in file.stem else file.stem


def _bag_models(path: Path) -> list[str]:
    data = yaml.safe_load(path.read_text())
    if not isinstance(data, dict) or not isinstance(data.get("models"), list):
        raise ValueError(f"{path.name} lists no models")
    return [str(sig) for sig in data["models"]]


def repo_reason(name: str, repo: Path) -> str | None:
    """Why `name` cannot load from `repo` judging by its files; None if it may."""
    if not repo.is_dir():
        return NOT_FOUND
    present = {_signature(f) for f in repo.iterdir() if f.suffix == ".th"}
    if name in present:  # a single model named by its signature
        return None
    bag = repo / f"{name}.yaml"
    if not bag.is_file():
        return NOT_FOUND
    try:
        signatures = _bag_models(bag)
    except (OSError, ValueError, yaml.YAMLError):
        return UNLOADABLE
    return None if all(sig in present for sig in signatures) else NOT_FOUND


def load_failure_reason(error: BaseException) -> str:
    """The reason for a model whose files are there but did not load."""
    text = repr(error)
    if "Invalid checksum" in text:
        return DAMAGED
    if "Could not find" in text or "neither a single pre-trained" in text:
        return NOT_FOUND
    return UNLOADABLE


# -- without a repo (called in the pool worker: torch and demucs are imported) --


def _demucs_remote() -> Path | None:
    """The installed demucs package's remote/ folder (files.txt and yaml bags)."""
    spec = importlib.util.find_spec("demucs")
    if spec is None or spec.origin is None:
        return None
    return Path(spec.origin).parent / "remote"


@cache
def _remote_files() -> dict[str, str]:
    """Signature -> file name, from demucs/remote/files.txt."""
    remote = _demucs_remote()
    if remote is None or not (remote / "files.txt").is_file():
        return {}
    files = {}
    for line in (remote / "files.txt").read_text().splitlines():
        line = line.strip()
        if line and not line.startswith("#") and not line.startswith("root:"):
            files[line.split("-", 1)[0]] = line
    return files


def _remote_signatures(name: str) -> list[str] | None:
    remote = _demucs_remote()
    bag = remote / f"{name}.yaml" if remote is not None else None
    if bag is not None and bag.is_file():
        try:
            return _bag_models(bag)
        except (OSError, ValueError, yaml.YAMLError):
            return None
    return [name] if name in _remote_files() else None


def _torch_hub_cached(signatures: list[str]) -> bool:
    import torch.hub

    checkpoints = Path(torch.hub.get_dir()) / "checkpoints"
    files = _remote_files()
    return all(
        sig in files and (checkpoints / files[sig]).is_file() for sig in signatures
    )


def _hugging_face_cached(name: str) -> bool:
    from demucs.hf import DEFAULT_NAMESPACE, hf_repo_name
    from huggingface_hub import try_to_load_from_cache

    repo_id = f"{DEFAULT_NAMESPACE}/{hf_repo_name(name)}"
    bag = try_to_load_from_cache(repo_id, f"{name}.yaml")
    if not isinstance(bag, str):
        return False
    try:
        signatures = _bag_models(Path(bag))
    except (OSError, ValueError, yaml.YAMLError):
        return False
    return all(
        isinstance(try_to_load_from_cache(repo_id, f"{sig}.safetensors"), str)
        for sig in signatures
    )


def _hugging_face_offline() -> bool:
    value = os.environ.get("HF_HUB_OFFLINE") or os.environ.get("TRANSFORMERS_OFFLINE")
    return (value or "").strip().lower() in {"1", "on", "yes", "true"}


def _download_hosts() -> list[str]:
    urls = [DEMUCS_DOWNLOAD_URL]
    if not _hugging_face_offline():
        urls.append(os.environ.get("HF_ENDPOINT") or HUGGING_FACE_URL)
    return [url for url in urls if urlsplit(url).hostname]


@cache
def _unreachable() -> str | None:
    """None when a download host answers; else the hosts that do not, named."""
    hosts = _download_hosts()
    for url in hosts:
        parts = urlsplit(url)
        port = parts.port or (443 if parts.scheme == "https" else 80)
        try:
            socket.create_connection(
                (parts.hostname, port), timeout=PROBE_TIMEOUT_SECONDS
            ).close()
        except OSError:
            continue
        return None
    return " nor ".join(str(urlsplit(url).hostname) for url in hosts)


def download_reason(name: str) -> str | None:
    """Without a repo: why `name` cannot load (not cached, no host answers)."""
    # "user/name" and "hf://..." live on the Hugging Face hub only.
    hub_only = "/" in name
    signatures = None if hub_only else _remote_signatures(name)
    try:
        cached = not hub_only and (
            _hugging_face_cached(name)
            or (signatures is not None and _torch_hub_cached(signatures))
        )
    except Exception:  # noqa: BLE001 - a broken cache reads as not cached
        cached = False
    if cached:
        return None
    if signatures is None and not hub_only:
        return NOT_A_MODEL
    hosts = _unreachable()
    return None if hosts is None else f"{NOT_DOWNLOADED} and {hosts} cannot be reached"


def startup_line(reasons: Mapping[str, str], repo: Path | None) -> str:
    """The one log line naming every model that cannot load and what to do."""
    by_reason: dict[str, list[str]] = {}
    for name, reason in reasons.items():
        by_reason.setdefault(reason, []).append(name)
    groups = "; ".join(
        f"{', '.join(names)}: {reason}" for reason, names in by_reason.items()
    )
    where = f"DEMUCS_REPO={repo}" if repo is not None else "DEMUCS_REPO unset"
    return f"models offered but unavailable ({where}): {groups}. To fix it, {HINT}."


def first_loadable(names: Iterable[str], repo: Path | None) -> str | None:
    """The first name whose files are there (cheap check); None if none is."""
    for name in names:
        if repo is None or repo_reason(name, repo) is None:
            return name
    return None
