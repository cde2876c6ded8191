"""`mux`: Mux Minus from the command line.

Exit codes (also in --json mode, where errors are {"error": {...}} on stdout):
0 done, 1 a job failed or the API refused, 2 bad usage, 3 not signed in,
4 no credits, 5 a file was refused, 6 server unreachable, 7 no such job,
130 interrupted (Ctrl-C).
"""

import json
import sys
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Annotated, Any, NoReturn, Optional

import typer
from rich.console import Console
from rich.table import Table

from . import config
from .client import Client
from .errors import (
    BAD_FILE_ERRORS,
    ApiError,
    ConnectionFailed,
    Expired,
    MuxMinusError,
    NoCredits,
    NotFound,
    NotSignedIn,
)
from .progress import DownloadBar, ProgressView
from .split import Outcome, Split, View

EXIT_FAILED = 1
EXIT_NOT_SIGNED_IN = 3
EXIT_NO_CREDITS = 4
EXIT_BAD_FILE = 5
EXIT_UNREACHABLE = 6
EXIT_NOT_FOUND = 7
EXIT_INTERRUPTED = 130

app = typer.Typer(
    help="Mux Minus from the command line: split songs into stems.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)
out = Console(soft_wrap=True)
err = Console(stderr=True, soft_wrap=True)

JSON_HELP = "Print JSON (for scripts) instead of text."
AsJson = Annotated[bool, typer.Option("--json", help=JSON_HELP)]
JobId = Annotated[str, typer.Argument(metavar="ID", help="The job's id.")]


def main() -> None:
    app()


# -- errors ------------------------------------------------------------------------


def exit_code(error: MuxMinusError) -> int:
    if isinstance(error, NotSignedIn):  # AuthenticationFailed (401) too
        return EXIT_NOT_SIGNED_IN
    if isinstance(error, NoCredits):
        return EXIT_NO_CREDITS
    if isinstance(error, BAD_FILE_ERRORS):
        return EXIT_BAD_FILE
    if isinstance(error, ConnectionFailed):
        return EXIT_UNREACHABLE
    if isinstance(error, (NotFound, Expired)):
        return EXIT_NOT_FOUND
    return EXIT_FAILED


def message(error: MuxMinusError) -> str:
    login = config.current()
    if isinstance(error, ApiError) and isinstance(error, NotSignedIn):
        return (
            f"Not signed in: {login.url} refused the token from "
            f"{login.token_source} ({error.detail}). Run `mux login`."
        )
    if isinstance(error, NotSignedIn):
        return "Not signed in: run `mux login` (or set MUXMINUS_TOKEN)."
    if isinstance(error, NoCredits):
        return f"No credits left: {error.detail} Buy more on the account page."
    if isinstance(error, BAD_FILE_ERRORS):
        return f"The file was refused: {error.detail}"
    if isinstance(error, ConnectionFailed):
        return (
            f"Cannot reach the Mux Minus server at {login.url} ({error}). "
            "Is the address right (MUXMINUS_URL, `mux login`)?"
        )
    if isinstance(error, ApiError):
        return f"{error.detail} ({error.code})"
    return str(error)


def fail(error: MuxMinusError, as_json: bool) -> NoReturn:
    if as_json:
        body: dict[str, Any] = {"code": type(error).__name__, "detail": str(error)}
        if isinstance(error, ApiError):
            body = {**error.body, "status": error.status}
        body["message"] = message(error)
        print_json({"error": body})
    else:
        err.print(f"[red]{message(error)}[/red]", highlight=False)
    raise typer.Exit(exit_code(error))


@contextmanager
def reporting(as_json: bool) -> Iterator[None]:
    """A command's errors as a message (or JSON) and an exit code."""
    try:
        yield
    except MuxMinusError as error:
        fail(error, as_json)
    except KeyboardInterrupt:
        err.print("Interrupted.")
        raise typer.Exit(EXIT_INTERRUPTED) from None


def signed_in() -> Client:
    login = config.current()
    if not login.token:
        raise NotSignedIn("no token")
    return Client(login.token, login.url)


def print_json(data: Any) -> None:
    sys.stdout.write(json.dumps(data, indent=2, ensure_ascii=False) + "\n")
    sys.stdout.flush()


# -- commands ----------------------------------------------------------------------


@app.command()
def login(
    token: Annotated[
        Optional[str],
        typer.Option(help="The API token (from /accounts/tokens/); else asked for."),
    ] = None,
    url: Annotated[
        Optional[str], typer.Option(help="The server's address; else asked for.")
    ] = None,
    as_json: AsJson = False,
) -> None:
    """Check a token with the server and keep it (and the URL) for next time."""
    with reporting(as_json):
        if url is None:
            url = typer.prompt("Server URL", default=config.current().url, err=True)
        if token is None:
            token = typer.prompt("API token", hide_input=True, err=True)
        with Client(token.strip(), url) as client:
            account = client.me()
            path = config.save(token=token.strip(), url=client.base_url)
        if as_json:
            print_json(
                {"email": account.email, "url": client.base_url, "file": str(path)}
            )
        else:
            out.print(f"Signed in as {account.email} at {client.base_url}.")
            err.print(f"Saved to {path} (MUXMINUS_TOKEN and MUXMINUS_URL win over it).")


@app.command()
def logout(as_json: AsJson = False) -> None:
    """Forget the stored token."""
    removed = config.forget()
    if as_json:
        print_json({"removed": removed, "file": str(config.login_path())})
    else:
        out.print("Signed out." if removed else "There was no stored login.")


@app.command()
def models(as_json: AsJson = False) -> None:
    """The models this server offers, with their stems."""
    with reporting(as_json), signed_in() as client:
        found = client.models()
        if as_json:
            print_json([model.to_dict() for model in found])
            return
        table = Table("model", "stems", "available", "description")
        for model in found:
            state = "yes" if model.available else f"no: {model.reason}"
            table.add_row(model.name, ", ".join(model.stems), state, model.description)
        out.print(table)


@app.command()
def credits(as_json: AsJson = False) -> None:
    """Your credit balance and job slots."""
    with reporting(as_json), signed_in() as client:
        account = client.me()
        if as_json:
            print_json(account.to_dict())
            return
        out.print(
            f"{account.email}: {account.credits} credits; {account.active_jobs} of "
            f"{account.max_active_jobs} job slots in use."
        )


@app.command()
def jobs(
    limit: Annotated[
        int, typer.Option(help="Show this many, newest first (0: all).")
    ] = 20,
    as_json: AsJson = False,
) -> None:
    """Your jobs, newest first."""
    with reporting(as_json), signed_in() as client:
        found = []
        for job in client.jobs.list():
            found.append(job)
            if limit and len(found) >= limit:
                break
        if as_json:
            print_json([job.to_dict() for job in found])
            return
        table = Table("id", "song", "model", "status", "progress", "created")
        for job in found:
            status = job.status + (" (expired)" if job.expired else "")
            created = job.created_at.strftime("%Y-%m-%d %H:%M")
            table.add_row(
                job.id, job.filename, job.model, status, f"{job.progress}%", created
            )
        out.print(table)


@app.command()
def download(
    job_id: JobId,
    out_dir: Annotated[
        Path, typer.Option("--out", help="The folder to save into.")
    ] = Path("."),
    stem: Annotated[
        Optional[str], typer.Option(help="One stem (e.g. vocals), not the zip.")
    ] = None,
    as_json: AsJson = False,
) -> None:
    """Download a finished job's zip (or one stem)."""
    with reporting(as_json), signed_in() as client:
        out_dir = out_dir.resolve()
        out_dir.mkdir(parents=True, exist_ok=True)
        with DownloadBar(err, quiet=as_json) as bar:
            saved = client.jobs.download(job_id, out_dir, stem=stem, on_progress=bar)
        if as_json:
            print_json({"job": job_id, "file": str(saved)})
        else:
            out.print(f"Saved {saved}")


@app.command()
def delete(
    job_id: JobId,
    as_json: AsJson = False,
) -> None:
    """Delete a job: cancelled first if it has not finished (credit refunded)."""
    with reporting(as_json), signed_in() as client:
        job = client.jobs.get(job_id)
        client.jobs.delete(job)
        cancelled = job.status in ("queued", "running")
        if as_json:
            print_json({"job": job.id, "deleted": True, "cancelled": cancelled})
        elif cancelled:
            out.print(
                f"Cancelled and deleted {job.id} ({job.filename}); credit refunded."
            )
        else:
            out.print(f"Deleted {job.id} ({job.filename}).")


@app.command()
def split(
    songs: Annotated[
        list[Path],
        typer.Argument(metavar="SONG", exists=True, dir_okay=False, readable=True),
    ],
    model: Annotated[str, typer.Option(help="A model from `mux models`.")] = (
        "htdemucs"
    ),
    two_stems: Annotated[
        Optional[str],
        typer.Option(help="Split this stem (e.g. vocals) from the rest, not all."),
    ] = None,
    output_format: Annotated[
        Optional[str],
        typer.Option("--format", help="mp3 (the server's default), wav or flac."),
    ] = None,
    out_dir: Annotated[
        Path, typer.Option("--out", help="Each song's stems go to OUT/<song name>/.")
    ] = Path("."),
    as_json: AsJson = False,
) -> None:
    """Separate songs into stems, each into OUT/<song name>/.

    As many songs at once as your job slots allow, the rest as slots free up.
    Ctrl-C cancels the unfinished jobs this run started (credits refunded).
    """
    with reporting(as_json), signed_in() as client:
        view: View = View() if as_json else ProgressView(err)
        outcome = Split(
            client,
            songs,
            out=out_dir.resolve(),
            model=model,
            two_stems=two_stems,
            output_format=output_format,
            view=view,
        ).run()
        if as_json:
            print_json(outcome.to_dict())
        else:
            report(outcome)
        code = split_exit_code(outcome)
        if outcome.unreachable is not None and not as_json:
            err.print(f"[red]{message(outcome.unreachable)}[/red]", highlight=False)
        if code:
            raise typer.Exit(code)


def split_exit_code(outcome: Outcome) -> int:
    if outcome.interrupted:
        return EXIT_INTERRUPTED
    if outcome.unreachable is not None:
        return EXIT_UNREACHABLE
    if outcome.stopped_by is not None:
        return exit_code(outcome.stopped_by)
    states = {song.state for song in outcome.songs}
    if "rejected" in states:
        return EXIT_BAD_FILE
    return EXIT_FAILED if states - {"done"} else 0


def report(outcome: Outcome) -> None:
    """What happened to each song, then what this run leaves behind."""
    for song in outcome.songs:
        name = song.path.name
        if song.state == "done":
            out.print(
                f"[green]done[/green]      {name} -> {song.folder}/", highlight=False
            )
        elif song.state == "rejected":
            err.print(f"[red]refused[/red]   {name}: {song.error}", highlight=False)
        elif song.state == "failed":
            err.print(f"[red]failed[/red]    {name}: {song.error}", highlight=False)
        elif song.state == "cancelled" and not outcome.interrupted:
            err.print(
                f"[yellow]cancelled[/yellow] {name}: {song.error}", highlight=False
            )
    if outcome.stopped_by is not None:
        err.print(f"[red]{message(outcome.stopped_by)}[/red]", highlight=False)
    if outcome.cancelled:
        err.print(f"Cancelled {len(outcome.cancelled)} jobs (credits refunded):")
        _list_jobs(outcome.cancelled)
    if outcome.left:
        err.print("Left on the server (see `mux jobs`, `mux download ID`):")
        _list_jobs(outcome.left)
    waiting = [song for song in outcome.songs if song.state == "not_uploaded"]
    if waiting:
        names = ", ".join(song.path.name for song in waiting)
        err.print(f"Not uploaded: {names}", highlight=False)


def _list_jobs(songs: Sequence[Any]) -> None:
    for song in songs:
        note = f" ({song.error})" if song.error else ""
        err.print(f"  {song.job.id}  {song.path.name}{note}", highlight=False)
