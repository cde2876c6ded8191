"""Random model repos in the on-disk format demucs loads with --repo."""

from __future__ import annotations

import time
from pathlib import Path

import yaml
from demucs.apply import BagOfModels
from demucs.pretrained import get_model

from devtools.model_repo import build_repo


def test_tiny_repo_loads_with_demucs(tiny_repo: Path) -> None:
    four = get_model("htdemucs", repo=tiny_repo)
    assert list(four.sources) == ["drums", "bass", "other", "vocals"]
    six = get_model("htdemucs_6s", repo=tiny_repo)
    assert list(six.sources)[-2:] == ["guitar", "piano"]
    bag = get_model("htdemucs_ft", repo=tiny_repo)
    assert isinstance(bag, BagOfModels)
    assert len(bag.models) == 2
    bag_yaml = yaml.safe_load((tiny_repo / "htdemucs_ft.yaml").read_text())
    assert len(bag_yaml["models"]) == len(bag_yaml["weights"]) == 2


def test_build_is_idempotent(tiny_repo: Path) -> None:
    before = {p.name: p.stat().st_mtime_ns for p in tiny_repo.iterdir()}
    started = time.monotonic()
    assert build_repo(tiny_repo, size="tiny") == tiny_repo
    assert time.monotonic() - started < 0.5
    assert {p.name: p.stat().st_mtime_ns for p in tiny_repo.iterdir()} == before


def test_checkpoint_names_carry_their_checksum(tiny_repo: Path) -> None:
    checkpoints = sorted(tiny_repo.glob("*.th"))
    assert len(checkpoints) == 3
    for path in checkpoints:
        sig, checksum = path.stem.rsplit("-", 1)
        assert len(checksum) == 8 and sig
