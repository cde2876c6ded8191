"""Which models we offer and their stems, as the stemworker reads them."""

import logging
from typing import Any

from django.conf import settings
from django.core.cache import cache

from . import stemworker

logger = logging.getLogger(__name__)
CACHE_KEY = "jobs:models"

# Only used while the stemworker cannot be asked; it reads the real models.
FALLBACK_STEMS = {
    "htdemucs_6s": ["drums", "bass", "other", "vocals", "guitar", "piano"],
}
DEFAULT_STEMS = ["drums", "bass", "other", "vocals"]


def models_available() -> list[dict[str, Any]]:
    """[{name, stems, description}] for every model in DEMUCS_MODELS, cached briefly."""
    models = cache.get(CACHE_KEY)
    if models is None:
        try:
            models = [
                {
                    "name": m["name"],
                    "stems": list(m["stems"]),
                    "description": m.get("description", ""),
                }
                for m in stemworker.models_list()
                if m["name"] in settings.DEMUCS_MODELS
            ]
            cache.set(CACHE_KEY, models, 300)
        except stemworker.StemworkerUnavailable:
            logger.warning("stemworker unreachable; listing models from settings")
            models = [
                {
                    "name": name,
                    "stems": FALLBACK_STEMS.get(name, DEFAULT_STEMS),
                    "description": "",
                }
                for name in settings.DEMUCS_MODELS
            ]
    return models


def model_get(name: str) -> dict[str, Any] | None:
    return next((m for m in models_available() if m["name"] == name), None)
