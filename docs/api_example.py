"""Separate every song in a folder with the Mux Minus API.

    MUXMINUS_TOKEN=... python docs/api_example.py SONGS_DIR --out STEMS_DIR \
        [--url http://127.0.0.1:8000] [--model htdemucs] [--two-stems vocals] \
        [--format mp3]

Uploads the songs one by one (each with its own Idempotency-Key, so a retry
after a lost answer never charges twice), waits out every 429 for as long as
its Retry-After says, polls the jobs, downloads each finished job's zip into
STEMS_DIR and deletes the job. Needs Python 3.11+ and httpx.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
import uuid
from pathlib import Path
from typing import Any

import httpx

AUDIO = {".mp3", ".wav", ".flac", ".ogg", ".oga", ".opus", ".m4a", ".aac", ".aiff"}
POLL_SECONDS = 3.0


def say(text: str) -> None:
    print(text, flush=True)  # noqa: T201 - a command-line tool


class Refused(Exception):
    """The API said no for a reason that retrying will not fix."""


def call(client: httpx.Client, method: str, url: str, **kwargs: Any) -> httpx.Response:
    """One request, repeated while the answer is 429 (after Retry-After seconds)
    or the connection fails or the server errs (after a pause)."""
    for attempt in range(20):
        try:
            response = client.request(method, url, **kwargs)
        except httpx.TransportError as error:
            say(f"  network error ({error}); retrying")
            time.sleep(min(60, 2**attempt))
            continue
        if response.status_code == 429:
            wait = int(response.headers.get("Retry-After", "10"))
            say(f"  429 {response.json()['code']}: waiting {wait}s")
            time.sleep(wait)
            continue
        if response.status_code >= 500:
            time.sleep(min(60, 2**attempt))
            continue
        if response.status_code >= 400:
            body = response.json()
            raise Refused(f"{response.status_code} {body['code']}: {body['detail']}")
        return response
    raise Refused(f"gave up on {method} {url}")


def upload(client: httpx.Client, song: Path, options: dict[str, str]) -> str:
    """Create one job for `song`; returns its id. Safe to retry: same key."""
    key = str(uuid.uuid4())
    with song.open("rb") as audio:
        response = call(
            client,
            "POST",
            "/api/v1/jobs/",
            data=options,
            files=[("file", (song.name, audio))],
            headers={"Idempotency-Key": key},
        )
    [job] = response.json()
    return job["id"]


def download(client: httpx.Client, job: dict[str, Any], out: Path) -> Path:
    """Save the job's zip under the name the server gives it."""
    with client.stream("GET", job["download_url"]) as response:
        response.raise_for_status()
        disposition = response.headers.get("Content-Disposition", "")
        name = disposition.split('filename="')[-1].rstrip('"') or f"{job['id']}.zip"
        target = out / Path(name).name
        with target.open("wb") as handle:
            for chunk in response.iter_bytes():
                handle.write(chunk)
    return target


def finish(client: httpx.Client, pending: dict[str, str], out: Path) -> None:
    """Poll each pending job once; download and delete the finished ones."""
    for job_id, song in list(pending.items()):
        job = call(client, "GET", f"/api/v1/jobs/{job_id}/").json()
        if job["status"] in ("queued", "running"):
            say(f"  {song}: {job['status']} {job['progress']}%")
            continue
        if job["status"] == "succeeded":
            say(f"  {song}: done -> {download(client, job, out)}")
        else:
            say(f"  {song}: {job['status']}: {job['error']}")
        call(client, "DELETE", f"/api/v1/jobs/{job_id}/")
        del pending[job_id]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("songs", type=Path)
    parser.add_argument("--out", type=Path, default=Path("stems"))
    parser.add_argument("--url", default="http://127.0.0.1:8000")
    parser.add_argument("--model", default="htdemucs")
    parser.add_argument("--two-stems", default="")
    parser.add_argument("--format", default="mp3", choices=["mp3", "wav", "flac"])
    args = parser.parse_args()
    token = os.environ.get("MUXMINUS_TOKEN")
    if not token:
        parser.error("set MUXMINUS_TOKEN to an API token")
    songs = sorted(p for p in args.songs.iterdir() if p.suffix.lower() in AUDIO)
    args.out.mkdir(parents=True, exist_ok=True)
    options = {
        "model": args.model,
        "two_stems": args.two_stems,
        "output_format": args.format,
    }
    headers = {"Authorization": f"Token {token}"}
    timeout = httpx.Timeout(300.0, connect=10.0)
    with httpx.Client(base_url=args.url, headers=headers, timeout=timeout) as client:
        me = call(client, "GET", "/api/v1/me/").json()
        say(f"{len(songs)} songs; {me['credits']} credits")
        pending: dict[str, str] = {}
        failed = 0
        for song in songs:
            try:
                job_id = upload(client, song, options)
            except Refused as refusal:
                say(f"  {song.name}: {refusal}")
                failed += 1
                if "no_credits" in str(refusal):
                    break
                continue
            pending[job_id] = song.name
            say(f"  {song.name}: queued as {job_id}")
            finish(client, pending, args.out)
        while pending:
            time.sleep(POLL_SECONDS)
            finish(client, pending, args.out)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
