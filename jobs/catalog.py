"""Which models we offer and their stems, as the stemworker reads them."""

import logging
from typing import Any

from django.conf import settings
from django.core.cache import cache

from . import stemworker

logger = logging.getLogger(__name__)
CACHE_KEY = "jobs:models"
UNAVAILABLE_CACHE_SECONDS = 60

# Only used while the stemworker cannot be asked; it reads the real models.
FALLBACK_STEMS = {
    "htdemucs_6s": ["drums", "bass", "other", "vocals", "guitar", "piano"],
}
DEFAULT_STEMS = ["drums", "bass", "other", "vocals"]


def models_available() -> list[dict[str, Any]]:
    """[{name, stems, description, available, reason}] for every model in
    DEMUCS_MODELS, cached briefly.

    `available` is what the stemworker found at start-up (can its weights load);
    `reason` says why not ("" when available). While the stemworker cannot be
    asked, every model in the settings is listed as available.
    """
    models = cache.get(CACHE_KEY)
    if models is None:
        try:
            models = [
                {
                    "name": m["name"],
                    "stems": list(m["stems"]),
                    "description": m.get("description", ""),
                    "available": bool(m.get("available", True)),
                    "reason": m.get("reason") or "",
                }
                for m in stemworker.models_list()
                if m["name"] in settings.DEMUCS_MODELS
            ]
            # Weights fetched later show up within a minute, not five.
            fresh = all(m["available"] for m in models)
            cache.set(CACHE_KEY, models, 300 if fresh else UNAVAILABLE_CACHE_SECONDS)
        except stemworker.StemworkerUnavailable:
            # No stemworker here (the web of a deployment whose separation
            # hosts are elsewhere): what the hosts up now offer.
            models = _from_hosts()
            if models:
                cache.set(CACHE_KEY, models, UNAVAILABLE_CACHE_SECONDS)
                return models
            logger.warning("stemworker unreachable; listing models from settings")
            models = [
                {
                    "name": name,
                    "stems": FALLBACK_STEMS.get(name, DEFAULT_STEMS),
                    "description": "",
                    "available": True,
                    "reason": "",
                }
                for name in settings.DEMUCS_MODELS
            ]
    return models


def _from_hosts() -> list[dict[str, Any]]:
    from .hosts import hosts_models  # the hosts' heartbeats, in PostgreSQL

    offered = {str(model["name"]): model for model in hosts_models()}
    return [
        {
            "name": name,
            "stems": list(offered[name].get("stems") or DEFAULT_STEMS),
            "description": str(offered[name].get("description", "")),
            "available": bool(offered[name].get("available", True)),
            "reason": str(offered[name].get("reason") or ""),
        }
        for name in settings.DEMUCS_MODELS
        if name in offered
    ]


def model_is_available(model: dict[str, Any]) -> bool:
    """Whether the stemworker can load it (older cache entries have no flag)."""
    return bool(model.get("available", True))


def model_get(name: str) -> dict[str, Any] | None:
    return next((m for m in models_available() if m["name"] == name), None)


# How musicians list stems: the voice first, then the rhythm section, then the
# rest; a two-stem job's "everything else" comes after its stem.
MUSICIAN_ORDER = ["vocals", "drums", "bass", "other", "guitar", "piano"]


def stem_sort_key(name: str) -> tuple[int, str]:
    """Sort key putting stem names in MUSICIAN_ORDER ("no_vocals" after
    "vocals", unknown names last, alphabetically)."""
    base = name.removeprefix("no_")
    rank = MUSICIAN_ORDER.index(base) if base in MUSICIAN_ORDER else len(MUSICIAN_ORDER)
    return (2 * rank + (1 if name.startswith("no_") else 0), name)


def minus_one_presets(stem_names: list[str]) -> list[tuple[str, str, dict[str, float]]]:
    """One-click minus-one mixes: (preset, label, gains) for each stem a job can
    leave out, in a musician's order: "without vocals" is every other stem at
    full volume (for a two-stem job, the `no_vocals` stem)."""
    presets = []
    for name in sorted(stem_names, key=stem_sort_key):
        if name.startswith("no_"):
            continue
        others = {
            other: 1.0 for other in stem_names if other not in (name, f"no_{name}")
        }
        if others:
            label = f"Without {name.replace('_', ' ')}"
            presets.append((f"without_{name}", label, others))
    return presets
