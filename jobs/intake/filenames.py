"""Uploaded file names are for display only: cleaned here, never used as paths."""

import unicodedata

# Bidi controls reorder how a name is shown: "a\u202e3pm.exe" shows as "aexe.mp3".
BIDI_CONTROLS = frozenset(
    "\u061c\u200e\u200f\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069"
)
# Joiners shape emoji sequences and several scripts: kept.
JOINERS = frozenset("\u200c\u200d")
WINDOWS_RESERVED = frozenset(
    ["CON", "PRN", "AUX", "NUL"]
    + [f"{port}{n}" for port in ("COM", "LPT") for n in range(1, 10)]
)
MAX_FILENAME_CHARS = 200
# Browsers send these three as escapes in a multipart file name (HTML spec).
BROWSER_ESCAPES = {"%22": '"', "%0D": " ", "%0A": " "}
MAX_EXTENSION_CHARS = 16


def clean_filename(name: str) -> str:
    """A display name only (stored files get our names): the last path part, in
    NFC, without control or bidi characters, leading or trailing dots and spaces,
    or a Windows device name; at most 200 characters, the extension kept.
    """
    for escape, char in BROWSER_ESCAPES.items():
        name = name.replace(escape, char)
    name = unicodedata.normalize("NFC", name).replace("\\", "/").rsplit("/", 1)[-1]
    name = " ".join("".join(_display_char(ch) for ch in name).split())
    stem, dot, extension = name.rpartition(".")
    if not dot or len(extension) > MAX_EXTENSION_CHARS or " " in extension:
        stem, extension = name, ""
    stem = stem.strip(" .")
    if stem.split(".", 1)[0].upper() in WINDOWS_RESERVED:
        stem = f"_{stem}"
    stem = (stem or "song")[: MAX_FILENAME_CHARS - len(extension) - 1].rstrip(" .")
    return f"{stem}.{extension}" if extension else stem


def extension_of(name: str) -> str:
    return name.rsplit(".", 1)[-1].lower() if "." in name else ""


def _display_char(ch: str) -> str:
    if ch.isspace():
        return " "
    if ch in JOINERS or (ch.isprintable() and ch not in BIDI_CONTROLS):
        return ch
    return ""
