"""Request and response bodies of the stemworker HTTP API."""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from pydantic import BaseModel, Field

SeparationStatus = Literal["running", "succeeded", "failed", "cancelled"]


class Health(BaseModel):
    """Liveness plus slot usage."""

    status: Literal["ok"] = "ok"
    slots: int
    busy: int
    device: str = "cpu"  # what the slots run on: "cpu" or "cuda"


class ModelInfo(BaseModel):
    """One offered model."""

    name: str
    stems: list[str]
    description: str
    available: bool
    # Why it cannot load (weights missing, damaged, not downloaded); null if it can.
    reason: str | None = None


class SeparationIn(BaseModel):
    """POST /separations body."""

    id: str = Field(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9_-]+$")
    input_path: str = Field(min_length=1)
    model: str = Field(min_length=1)
    two_stems: str | None = None
    # The format people will get. Stems are always written as WAV: 16-bit for
    # wav (the final file), 32-bit float for mp3 and flac, which the product
    # encodes once this slot is free again.
    output_format: Literal["mp3", "wav", "flac"] = "mp3"
    timeout_seconds: int | None = Field(default=None, ge=1)


class StemOut(BaseModel):
    """One written stem file."""

    name: str
    path: str


class SeparationOut(BaseModel):
    """A separation as the API reports it."""

    id: str
    status: SeparationStatus
    progress: float = Field(ge=0, le=100)
    stems: list[StemOut]
    error: str | None
    log: str
    started_at: datetime
    finished_at: datetime | None
