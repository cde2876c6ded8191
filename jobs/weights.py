"""Fetch the demucs weights the offered models need into a `--repo` folder.

demucs' own lists say what to fetch: `demucs/remote/<name>.yaml` names the
models of each bag and `demucs/remote/files.txt` the file of each model, a
`<sig>-<sha256[:8]>.th` under a `root:` folder of demucs' URL root
(`demucs.pretrained.ROOT_URL`). Every file is checked against the SHA-256
prefix in its name before it takes its name; a download streams into
`<name>.part` and an interrupted one (Ctrl-C, a cut connection) continues from
there with an HTTP Range request. Files already present and verified are
skipped, so a second run downloads nothing. The bags' yaml files are copied
next to the weights, which is the layout `python -m demucs --repo DIR` reads.

A plain module (no Django): `manage.py fetch_models` is a thin wrapper.
"""

from __future__ import annotations

import hashlib
import importlib.util
import shutil
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Protocol
from urllib.parse import urlsplit

import httpx
import yaml

PART_SUFFIX = ".part"
CHUNK_BYTES = 1 << 20
ATTEMPTS = 4  # per file: a connection cut mid-file is resumed this many times
TIMEOUT = httpx.Timeout(60.0, connect=10.0)
# devtools.model_repo marks its random-weight repos with this file.
DEV_MODELS_MARKER = ".muxminus-devmodels.json"
TRY_WITHOUT_WEIGHTS = "to try the product without weights run `make tiny-models`"


class FetchError(Exception):
    """The weights could not be fetched; the message says why and what to do."""


class ChecksumMismatch(FetchError):
    """A downloaded file is not the one its name promises (it was removed)."""


@dataclass(frozen=True)
class WeightFile:
    """One `<sig>-<sha256 prefix>.th` file and where to download it."""

    name: str
    url: str

    @property
    def checksum(self) -> str:
        """The SHA-256 prefix the file name carries."""
        return Path(self.name).stem.rsplit("-", 1)[1]


@dataclass
class FetchResult:
    """What a fetch did, file by file."""

    downloaded: list[str] = field(default_factory=list)
    present: list[str] = field(default_factory=list)
    bags: list[str] = field(default_factory=list)


class Progress(Protocol):
    """One file's download progress."""

    def update(self, count: int) -> None: ...

    def close(self) -> None: ...


class Reporter(Protocol):
    """Where a fetch tells what it does: lines, and one progress per download."""

    def line(self, text: str) -> None: ...

    def progress(self, name: str, total: int | None, done: int) -> Progress: ...


# -- what to fetch ------------------------------------------------------------


def demucs_remote() -> Path:
    """The installed demucs package's remote/ folder (found without importing it)."""
    spec = importlib.util.find_spec("demucs")
    if spec is None or spec.origin is None:
        raise FetchError("the demucs package is not installed")
    return Path(spec.origin).parent / "remote"


def demucs_root_url() -> str:
    """The URL root demucs itself downloads from."""
    from demucs.pretrained import ROOT_URL

    return str(ROOT_URL)


def remote_files(remote: Path) -> dict[str, str]:
    """Signature -> path under the URL root, as demucs reads files.txt."""
    root = ""
    files: dict[str, str] = {}
    for raw in (remote / "files.txt").read_text().splitlines():
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        if line.startswith("root:"):
            root = line.split(":", 1)[1].strip()
        else:
            files[line.split("-", 1)[0]] = root + line
    return files


def _bag_models(path: Path) -> list[str]:
    data = yaml.safe_load(path.read_text())
    return [str(sig) for sig in data["models"]]


def plan(
    models: Sequence[str], *, base_url: str, remote: Path | None = None
) -> tuple[list[WeightFile], list[Path]]:
    """The weight files and the yaml bags the models need, in order, once each.

    Raises FetchError for a name demucs does not publish.
    """
    remote = remote or demucs_remote()
    files = remote_files(remote)
    base = base_url if base_url.endswith("/") else base_url + "/"
    wanted: dict[str, WeightFile] = {}
    bags: list[Path] = []
    for name in models:
        bag = remote / f"{name}.yaml"
        if bag.is_file():
            signatures = _bag_models(bag)
            bags.append(bag)
        elif name in files:
            signatures = [name]
        else:
            raise FetchError(
                f"{name} is not a model demucs publishes (not in {remote}); "
                "remove it from DEMUCS_MODELS or put its files in DEMUCS_REPO"
            )
        for sig in signatures:
            if sig not in files:
                raise FetchError(f"demucs lists no file for {sig} (needed by {name})")
            path = files[sig]
            wanted.setdefault(sig, WeightFile(Path(path).name, base + path))
    return list(wanted.values()), bags


# -- checking ------------------------------------------------------------------


def checksum_ok(path: Path, checksum: str) -> bool:
    """Whether the file's SHA-256 starts with `checksum` (demucs' own check)."""
    digest = hashlib.sha256()
    with path.open("rb") as file:
        while chunk := file.read(CHUNK_BYTES):
            digest.update(chunk)
    return digest.hexdigest().startswith(checksum)


def _refuse_dev_models(dest: Path) -> None:
    if (dest / DEV_MODELS_MARKER).exists():
        raise FetchError(
            f"{dest} holds the random-weight models of `make tiny-models`; remove "
            "DEMUCS_REPO from .env (the weights then go to var/models) or choose "
            "another folder"
        )


# -- fetching -----------------------------------------------------------------


def fetch(
    models: Sequence[str],
    dest: Path,
    *,
    reporter: Reporter,
    base_url: str | None = None,
    remote: Path | None = None,
) -> FetchResult:
    """Download every weight file the models need into `dest`, verified.

    Idempotent and resumable: verified files are skipped, a `.part` left by an
    interrupted run is continued. Raises FetchError (ChecksumMismatch for a
    file that downloaded but is not what its name says: it is removed).
    """
    _refuse_dev_models(dest)
    files, bags = plan(models, base_url=base_url or demucs_root_url(), remote=remote)
    dest.mkdir(parents=True, exist_ok=True)
    result = FetchResult()
    with httpx.Client(timeout=TIMEOUT, follow_redirects=True) as client:
        for weight in files:
            target = dest / weight.name
            if target.is_file():
                if checksum_ok(target, weight.checksum):
                    reporter.line(f"{weight.name}: present, checksum verified")
                    result.present.append(weight.name)
                    continue
                reporter.line(f"{weight.name}: checksum mismatch, downloading again")
                target.unlink()
            _download(client, weight, target, reporter)
            result.downloaded.append(weight.name)
    for bag in bags:
        _copy_bag(bag, dest)
        result.bags.append(bag.name)
    return result


def _copy_bag(bag: Path, dest: Path) -> None:
    target = dest / bag.name
    if not target.is_file() or target.read_bytes() != bag.read_bytes():
        shutil.copyfile(bag, target)


def _unreachable(url: str, error: Exception) -> FetchError:
    host = urlsplit(url).netloc
    return FetchError(f"cannot reach {host}: {error}; {TRY_WITHOUT_WEIGHTS}")


def _download(
    client: httpx.Client, weight: WeightFile, target: Path, reporter: Reporter
) -> None:
    part = target.with_name(target.name + PART_SUFFIX)
    for attempt in range(1, ATTEMPTS + 1):
        try:
            _stream(client, weight, part, reporter)
            break
        except (httpx.ConnectError, httpx.ConnectTimeout) as error:
            raise _unreachable(weight.url, error) from error
        except httpx.TransportError as error:  # cut mid-file: resume from the part
            if attempt == ATTEMPTS:
                raise FetchError(
                    f"downloading {weight.name} failed {ATTEMPTS} times ({error}); "
                    "run the fetch again to continue where it stopped"
                ) from error
            reporter.line(f"{weight.name}: connection lost ({error}), resuming")
    if not checksum_ok(part, weight.checksum):
        part.unlink()
        raise ChecksumMismatch(
            f"{weight.name} downloaded from {weight.url} does not match the "
            f"checksum in its name ({weight.checksum}); it was removed"
        )
    part.replace(target)


def _stream(
    client: httpx.Client, weight: WeightFile, part: Path, reporter: Reporter
) -> None:
    """Download into `part`, continuing what it holds when the server allows."""
    done = part.stat().st_size if part.is_file() else 0
    # Identity: a Range counts the bytes stored, never a compressed stream's.
    headers = {"Accept-Encoding": "identity"}
    if done:
        headers["Range"] = f"bytes={done}-"
    with client.stream("GET", weight.url, headers=headers) as response:
        if response.status_code == 416 and done:  # nothing left: the part is whole
            return
        if response.status_code == 206 and _range_start(response) == done:
            mode = "ab"
        elif response.status_code == 200:  # no Range support: from the start
            mode, done = "wb", 0
        else:
            raise FetchError(
                f"{weight.url} answered {response.status_code} {response.reason_phrase}"
            )
        length = response.headers.get("Content-Length")
        total = done + int(length) if length and length.isdigit() else None
        progress = reporter.progress(weight.name, total, done)
        try:
            with part.open(mode) as out:
                # As it arrives, not buffered: a cut loses nothing received.
                for chunk in response.iter_bytes():
                    out.write(chunk)
                    progress.update(len(chunk))
        finally:
            progress.close()


def _range_start(response: httpx.Response) -> int | None:
    # "bytes 1000-1999/2000"
    value = response.headers.get("Content-Range", "")
    unit, _, span = value.partition(" ")
    start = span.split("-", 1)[0]
    return int(start) if unit == "bytes" and start.isdigit() else None


# -- reporting -----------------------------------------------------------------


def _megabytes(count: int) -> str:
    return f"{count / 1e6:.1f} MB"


class _LineProgress:
    def __init__(self, write: Callable[[str], None], name: str, total: int | None):
        self.write, self.name, self.total, self.count = write, name, total, 0

    def update(self, count: int) -> None:
        self.count += count

    def close(self) -> None:
        self.write(f"{self.name}: {_megabytes(self.count)} received")


class LineReporter:
    """Plain lines (not a terminal: logs, docker compose)."""

    def __init__(self, write: Callable[[str], None]) -> None:
        self.write = write

    def line(self, text: str) -> None:
        self.write(text)

    def progress(self, name: str, total: int | None, done: int) -> Progress:
        size = f" of {_megabytes(total)}" if total else ""
        start = f" from {_megabytes(done)}" if done else ""
        self.write(f"{name}: downloading{start}{size}")
        return _LineProgress(self.write, name, total)


class BarReporter:
    """A tqdm progress bar per file (a terminal)."""

    def __init__(self, stream: IO[str]) -> None:
        self.stream = stream

    def line(self, text: str) -> None:
        self.stream.write(text + "\n")
        self.stream.flush()

    def progress(self, name: str, total: int | None, done: int) -> Progress:
        from tqdm import tqdm

        bar: Progress = tqdm(
            total=total,
            initial=done,
            desc=name,
            unit="B",
            unit_scale=True,
            unit_divisor=1024,
            file=self.stream,
            dynamic_ncols=True,
        )
        return bar


def reporter_for(stream: IO[str], write: Callable[[str], None]) -> Reporter:
    """A progress bar on a terminal, plain lines otherwise."""
    return BarReporter(stream) if stream.isatty() else LineReporter(write)
