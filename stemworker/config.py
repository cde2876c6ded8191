"""Stemworker settings, read from the environment.

Shared infrastructure names (``SHARED_ROOT``, ``DEMUCS_*``, ``MAX_CONCURRENT_JOBS``)
have no prefix because the Django side reads the same variables; settings that
only the stemworker has use ``STEMWORKER_``.
"""

from __future__ import annotations

from functools import cached_property, lru_cache
from pathlib import Path
from typing import Annotated, Literal

from fastapi import Depends
from pydantic import Field, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from .capacity import Capacity, for_this_machine

DEFAULT_ENTRY_POINT = "demucs.separate:main"


class Settings(BaseSettings):
    """All stemworker configuration; required fields have no default."""

    model_config = SettingsConfigDict(extra="ignore", populate_by_name=True)

    token: str = Field(validation_alias="STEMWORKER_TOKEN", min_length=1)
    shared_root: Path = Field(validation_alias="SHARED_ROOT")
    demucs_repo: Path | None = Field(default=None, validation_alias="DEMUCS_REPO")
    demucs_models: str = Field(
        default="htdemucs,htdemucs_ft,htdemucs_6s", validation_alias="DEMUCS_MODELS"
    )
    # Unset (or "auto"): chosen from the machine (stemworker/capacity.py).
    max_concurrent_jobs: int | None = Field(
        default=None, ge=1, le=64, validation_alias="MAX_CONCURRENT_JOBS"
    )
    torch_threads_per_job: int | None = Field(
        default=None, ge=1, le=256, validation_alias="STEMWORKER_TORCH_THREADS"
    )
    # demucs' -j on the CPU: chunks of a song separated at once, 0: one by one.
    segment_workers: int | None = Field(
        default=None, ge=0, le=64, validation_alias="STEMWORKER_SEGMENT_WORKERS"
    )
    demucs_device: Literal["auto", "cpu", "cuda"] = Field(
        default="auto", validation_alias="DEMUCS_DEVICE"
    )
    # demucs' --segment (seconds per chunk; less GPU memory, htdemucs at most 7)
    # and --overlap; unset: demucs' own defaults.
    demucs_segment: int | None = Field(
        default=None, ge=1, le=7, validation_alias="DEMUCS_SEGMENT"
    )
    demucs_overlap: float | None = Field(
        default=None, ge=0, lt=1, validation_alias="DEMUCS_OVERLAP"
    )
    # The cap on one separation. The web side reads the same variable and
    # refuses at upload a song that could not finish within it (jobs/budget.py);
    # 8 hours admits 20 minutes of htdemucs_ft on a CPU.
    job_timeout: int = Field(
        default=8 * 3600, ge=1, validation_alias="STEMWORKER_JOB_TIMEOUT"
    )
    # The longest song separated; the web side reads the same variable and
    # decodes no further (jobs/decoding.py), this side checks it again.
    max_audio_minutes: int = Field(
        default=20, ge=0, validation_alias="MAX_AUDIO_MINUTES"
    )
    # Loaded models kept per warm worker (stemworker/model_cache.py); unset: all
    # of DEMUCS_MODELS, 0: load for every job as the bare CLI does.
    model_cache: int | None = Field(
        default=None, ge=0, validation_alias="STEMWORKER_MODEL_CACHE"
    )
    recycle_after: int = Field(
        default=25, ge=1, validation_alias="STEMWORKER_RECYCLE_AFTER"
    )
    warmup: bool = Field(default=True, validation_alias="STEMWORKER_WARMUP")
    # "module:function" or "/path/file.py:function" called with the demucs argv.
    # Only tests change it (a fake CLI for crashes, timeouts and garbage output).
    entry_point: str = Field(
        default=DEFAULT_ENTRY_POINT, validation_alias="STEMWORKER_ENTRY_POINT"
    )

    @field_validator("shared_root")
    @classmethod
    def _absolute_dir(cls, value: Path) -> Path:
        if not value.is_absolute():
            raise ValueError("SHARED_ROOT must be an absolute path")
        if not value.is_dir():
            raise ValueError(f"SHARED_ROOT {value} is not a directory")
        return value.resolve()

    @field_validator(
        "demucs_repo",
        "max_concurrent_jobs",
        "torch_threads_per_job",
        "segment_workers",
        "demucs_segment",
        "demucs_overlap",
        "model_cache",
        mode="before",
    )
    @classmethod
    def _empty_or_auto_is_none(cls, value: object) -> object:
        return None if value in ("", "auto", None) else value

    @property
    def model_names(self) -> list[str]:
        """The offered model names, in configured order, without blanks."""
        return [n.strip() for n in self.demucs_models.split(",") if n.strip()]

    @property
    def model_cache_size(self) -> int:
        """How many loaded models each worker keeps."""
        if self.model_cache is None:
            return len(self.model_names)
        return self.model_cache

    @property
    def work_root(self) -> Path:
        """Folder holding one sub-folder per separation."""
        return self.shared_root / "work"

    @cached_property
    def capacity(self) -> Capacity:
        """Slots, torch threads and device: as set, else chosen from the machine."""
        return for_this_machine(
            self.demucs_device,
            self.max_concurrent_jobs,
            self.torch_threads_per_job,
            self.segment_workers,
        )


@lru_cache
def get_settings() -> Settings:
    """Return the process-wide settings (cached; tests clear or override it)."""
    return Settings()  # type: ignore[call-arg]  # filled from the environment


SettingsDep = Annotated[Settings, Depends(get_settings)]
