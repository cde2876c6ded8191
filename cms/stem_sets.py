"""The sample song's stem sets, in display order (models and presenters share it)."""

from django.db import models


class StemSet(models.TextChoices):
    ORIGINAL = "original", "Original"
    TWO_STEMS = "two_stems", "Vocals and the rest"
    SIX_STEMS = "six_stems", "Six stems"
