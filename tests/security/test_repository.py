"""The repository itself: no secrets committed, `.env` ignored, every POST form
carries a CSRF token.

Pure file reading (plus `git`): no database.
"""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
MAX_BYTES = 1_000_000

# Built from pieces so that this file never matches its own patterns.
_BEGIN = "-----" + "BEGIN"
SECRET_PATTERNS = {
    "private key block": re.compile(_BEGIN + r" (?:[A-Z0-9]+ )*PRIVATE KEY-----"),
    "AWS access key id": re.compile(r"\b(?:AKIA|ASIA)[0-9A-Z]{16}\b"),
    "GitHub token": re.compile(r"\bgh[pousr]_[A-Za-z0-9]{36,}\b"),
    "GitHub fine-grained token": re.compile(r"\bgithub_pat_[A-Za-z0-9_]{40,}\b"),
    "Square production access token": re.compile(r"\bEAAA[A-Za-z0-9_\-]{40,}"),
    "Square OAuth/application secret": re.compile(
        r"\bsq0(?:atp|csp|idp|idb)-[A-Za-z0-9_\-]{20,}"
    ),
    "Slack token": re.compile(r"\bxox[abposr]-[A-Za-z0-9\-]{10,}"),
    "Stripe-style live key": re.compile(r"\b[sr]k_live_[A-Za-z0-9]{20,}"),
}
# A long hex or base64-ish literal assigned to something named like a secret.
SECRET_ASSIGNMENT = re.compile(
    r"""(?ix)
    \b[\w.-]*(?:secret|token|passw(?:or)?d|api_?key|signature_key)[\w.-]*
    ["']?[\ \t]*[:=][\ \t]*["']?
    (?P<value>[^\s"'`,;()]{32,})
    """
)
# (path, text) pairs known to be harmless; keep this list short and explicit.
ALLOWLIST: set[tuple[str, str]] = set()
# Test-only values may look like secrets; assignments are checked outside tests/.
ASSIGNMENT_EXEMPT_DIRS = ("tests/",)


def _repository_files() -> list[str]:
    result = subprocess.run(
        ["git", "ls-files", "--cached", "--others", "--exclude-standard", "-z"],
        cwd=ROOT,
        capture_output=True,
        check=True,
    )
    names = result.stdout.decode().split("\0")
    return sorted(name for name in names if name and (ROOT / name).is_file())


def _text(name: str) -> str | None:
    path = ROOT / name
    if path.stat().st_size > MAX_BYTES:
        return None
    data = path.read_bytes()
    if b"\0" in data:
        return None  # binary: images, audio
    return data.decode("utf-8", errors="replace")


def _looks_random(value: str) -> bool:
    """Hex, or letters of both cases with digits: not a `change-me-...` placeholder."""
    if re.fullmatch(r"[0-9a-fA-F]{32,}", value):
        return True
    classes = [r"[a-z]", r"[A-Z]", r"[0-9]"]
    return all(re.search(pattern, value) for pattern in classes)


def _findings(name: str, text: str) -> list[str]:
    found = []
    for label, pattern in SECRET_PATTERNS.items():
        found += [
            f"{name}: {label}: {m.group(0)[:24]}…" for m in pattern.finditer(text)
        ]
    if not name.startswith(ASSIGNMENT_EXEMPT_DIRS):
        found += [
            f"{name}: secret-like assignment: {m.group(0)[:40]}…"
            for m in SECRET_ASSIGNMENT.finditer(text)
            if _looks_random(m.group("value"))
            and (name, m.group("value")) not in ALLOWLIST
        ]
    return found


def test_no_secrets_in_the_repository() -> None:
    files = _repository_files()
    assert "manage.py" in files  # the listing works
    findings = []
    for name in files:
        text = _text(name)
        if text is not None:
            findings += _findings(name, text)
    assert not findings, "possible secrets:\n" + "\n".join(findings)


@pytest.mark.parametrize(
    "sample",
    [
        _BEGIN + " RSA PRIVATE KEY-----",
        _BEGIN + " OPENSSH PRIVATE KEY-----",
        "AKIA" + "ABCDEFGHIJKLMNOP",
        "ghp_" + "a" * 36,
        "EAAA" + "l" * 60,
        "sq0csp-" + "x" * 43,
        "xoxb-" + "1234567890-abc",
        "DJANGO_SECRET_KEY=" + "f" * 50,
        "SQUARE_ACCESS_TOKEN: '" + "Ab9_" * 12 + "'",
    ],
)
def test_the_scanner_recognises_secrets(sample: str) -> None:
    assert _findings("config/example.env", sample)


@pytest.mark.parametrize(
    "sample",
    [
        "DJANGO_SECRET_KEY=change-me-to-a-long-random-string",
        'SQUARE_ACCESS_TOKEN = env("SQUARE_ACCESS_TOKEN", default="")',
        "STEMWORKER_TOKEN: ${STEMWORKER_TOKEN:?set STEMWORKER_TOKEN}",
        'KNOX_TOKEN_MODEL = "accounts.ApiToken"',
    ],
)
def test_the_scanner_ignores_placeholders(sample: str) -> None:
    assert not _findings("config/example.env", sample)


def test_dotenv_is_ignored_and_never_committed() -> None:
    ignored = subprocess.run(["git", "check-ignore", "-q", ".env"], cwd=ROOT)
    assert ignored.returncode == 0, ".env must be listed in .gitignore"
    tracked = subprocess.run(
        ["git", "ls-files", "--", ".env"], cwd=ROOT, capture_output=True, text=True
    )
    assert tracked.stdout.strip() == ""


# --- CSRF tokens in templates

FORM = re.compile(r"<form\b(?P<attrs>[^>]*)>(?P<body>.*?)</form>", re.S | re.I)
ELEMENT_FORM = re.compile(
    r"{%\s*element\s+form\b(?P<attrs>[^%]*)%}(?P<body>.*?){%\s*endelement\s*%}", re.S
)
POST = re.compile(r"""method\s*=\s*["']post["']""", re.I)
CSRF = re.compile(r"{%\s*csrf_token\s*%}")


def _template_files() -> list[Path]:
    folders = [ROOT / "templates", *ROOT.glob("*/templates")]
    return sorted(p for folder in folders for p in folder.rglob("*.html"))


def test_templates_are_found() -> None:
    names = {p.name for p in _template_files()}
    assert {"base.html", "dashboard.html", "login.html"} <= names


def test_every_post_form_in_templates_has_a_csrf_token() -> None:
    missing = []
    for path in _template_files():
        text = path.read_text()
        for pattern in (FORM, ELEMENT_FORM):
            for form in pattern.finditer(text):
                if POST.search(form.group("attrs")) and not CSRF.search(
                    form.group("body")
                ):
                    line = text.count("\n", 0, form.start()) + 1
                    missing.append(f"{path.relative_to(ROOT)}:{line}")
    assert not missing, "POST forms without {% csrf_token %}: " + ", ".join(missing)
