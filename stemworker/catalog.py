"""What the stemworker knows about model names without loading them."""

from __future__ import annotations

FOUR = ["drums", "bass", "other", "vocals"]
SIX = [*FOUR, "guitar", "piano"]

_DESCRIPTIONS = {
    "htdemucs": "Four stems, fast",
    "htdemucs_ft": "Four stems, best quality, about 4x slower",
    "htdemucs_6s": "Six stems: adds guitar and piano",
    "hdemucs_mmi": "Four stems, previous generation",
    "mdx": "Four stems, older MDX model",
    "mdx_extra": "Four stems, older MDX model trained on more music",
    "mdx_q": "Four stems, older MDX model, smaller",
    "mdx_extra_q": "Four stems, older MDX model trained on more music, smaller",
}


def known_stems(name: str) -> list[str] | None:
    """Stems of a standard demucs model name, or None when the name is unknown."""
    if name == "htdemucs_6s":
        return list(SIX)
    if name in _DESCRIPTIONS or name.startswith("mdx"):
        return list(FOUR)
    return None


def description(name: str) -> str:
    """Short human description of a model name."""
    return _DESCRIPTIONS.get(name, "Custom model")
