"""What the stemworker knows about model names without loading them."""

from __future__ import annotations

FOUR = ["drums", "bass", "other", "vocals"]
SIX = [*FOUR, "guitar", "piano"]

_DESCRIPTIONS = {
    "htdemucs": "4 stems, fast",
    "htdemucs_ft": "4 stems, fine-tuned, best quality, about 4x slower",
    "htdemucs_6s": "6 stems incl. guitar and piano",
    "hdemucs_mmi": "4 stems, previous generation (Hybrid Demucs v3)",
    "mdx": "4 stems, MDX challenge model",
    "mdx_extra": "4 stems, MDX challenge model trained on extra data",
    "mdx_q": "4 stems, MDX challenge model, quantised",
    "mdx_extra_q": "4 stems, MDX challenge model trained on extra data, quantised",
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
