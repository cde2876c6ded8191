"""Build randomly initialised demucs model repositories for development and tests.

The output folder has exactly the layout that ``python -m demucs --repo DIR -n NAME``
loads (see ``demucs/repo.py``): one ``<sig>-<sha256[:8]>.th`` per model holding a
``torch.save`` of ``{"klass", "args", "kwargs", "state"}`` and one ``<name>.yaml``
per bag (``models: [sig, ...]``, optional ``weights``). The bags carry the real
names (``htdemucs``, ``htdemucs_ft``, ``htdemucs_6s``) so the product runs unchanged
on them; the weights are random, so the "stems" are noise.

Sizes:

``tiny``
    ``HTDemucs(channels=8, t_layers=1, t_heads=8, nfft=4096, segment=39/5)``,
    about 1 MB per model; a 5 s clip separates in about 3 s on 2 cores.

``full``
    The hyper-parameters of the released ``htdemucs`` checkpoint (``955717e8``),
    i.e. the HTDemucs defaults plus the overrides of demucs' training config for
    htdemucs: ``channels=48, growth=2, depth=4, nfft=4096, cac=True,
    kernel_size=8, stride=4, time_stride=2, context=1, freq_emb=0.2,
    emb_scale=10, norm_starts=4, norm_groups=4, dconv_mode=3 (residual branch in
    encoder and decoder), dconv_depth=2, dconv_comp=8, dconv_init=1e-3,
    bottom_channels=512, t_layers=5, t_heads=8, t_hidden_scale=4.0, t_emb="sin",
    t_layer_scale=True, t_gelu=True, segment=Fraction(39, 5)``. The six-source
    model uses ``bottom_channels=0`` as the released ``htdemucs_6s`` does. Compute
    cost matches the real models, which makes it good for benchmarks.
"""

from __future__ import annotations

import argparse
import hashlib
import io
import json
import shutil
import sys
import tempfile
from fractions import Fraction
from pathlib import Path
from typing import Any

SOURCES_4 = ["drums", "bass", "other", "vocals"]
SOURCES_6 = [*SOURCES_4, "guitar", "piano"]
SIZES = ("tiny", "full")
_MARKER = ".muxminus-devmodels.json"

_COMMON: dict[str, Any] = {
    "audio_channels": 2,
    "samplerate": 44100,
    "segment": Fraction(39, 5),
    "nfft": 4096,
}
_TINY: dict[str, Any] = {**_COMMON, "channels": 8, "t_layers": 1, "t_heads": 8}
_FULL: dict[str, Any] = {
    **_COMMON,
    "channels": 48,
    "growth": 2,
    "depth": 4,
    "cac": True,
    "kernel_size": 8,
    "stride": 4,
    "time_stride": 2,
    "context": 1,
    "freq_emb": 0.2,
    "emb_scale": 10,
    "norm_starts": 4,
    "norm_groups": 4,
    "dconv_mode": 3,
    "dconv_depth": 2,
    "dconv_comp": 8,
    "dconv_init": 1e-3,
    "bottom_channels": 512,
    "t_layers": 5,
    "t_heads": 8,
    "t_hidden_scale": 4.0,
    "t_emb": "sin",
    "t_layer_scale": True,
    "t_gelu": True,
}


def model_kwargs(size: str, sources: list[str]) -> dict[str, Any]:
    """Return the HTDemucs keyword arguments for one model of the given size."""
    if size not in SIZES:
        raise ValueError(f"size must be one of {SIZES}, not {size!r}")
    kwargs = dict(_TINY if size == "tiny" else _FULL)
    if size == "full" and len(sources) == 6:
        kwargs["bottom_channels"] = 0
    kwargs["sources"] = list(sources)
    return kwargs


def _package_bytes(size: str, sources: list[str], seed: int) -> bytes:
    """Serialise one randomly initialised model the way demucs' states.py does."""
    import torch
    from demucs.htdemucs import HTDemucs
    from demucs.states import get_state

    torch.manual_seed(seed)
    kwargs = model_kwargs(size, sources)
    model = HTDemucs(**kwargs)
    # Same dict as states.serialize_model (minus training_args, which needs omegaconf).
    package = {
        "klass": HTDemucs,
        "args": [],
        "kwargs": kwargs,
        "state": get_state(model, None, half=True),
    }
    buf = io.BytesIO()
    torch.save(package, buf)
    return buf.getvalue()


def _write_model(folder: Path, sig: str, data: bytes) -> None:
    checksum = hashlib.sha256(data).hexdigest()[:8]
    (folder / f"{sig}-{checksum}.th").write_bytes(data)


def _write_bag(folder: Path, name: str, sigs: list[str]) -> None:
    import yaml

    bag: dict[str, Any] = {"models": sigs}
    if len(sigs) > 1:
        # Like the real htdemucs_ft: each model is trusted for part of the sources.
        bag["weights"] = [[1.0, 0.0, 1.0, 0.0], [0.0, 1.0, 0.0, 1.0]]
    (folder / f"{name}.yaml").write_text(yaml.safe_dump(bag))


def _is_complete(dest: Path, size: str) -> bool:
    marker = dest / _MARKER
    if not marker.is_file():
        return False
    try:
        return json.loads(marker.read_text()).get("size") == size
    except (OSError, ValueError):
        return False


def _populate(folder: Path, size: str, seed: int) -> None:
    plan: list[tuple[str, list[str]]] = [
        (f"{size}4a", SOURCES_4),
        (f"{size}4b", SOURCES_4),
        (f"{size}6a", SOURCES_6),
    ]
    for index, (sig, sources) in enumerate(plan):
        _write_model(folder, sig, _package_bytes(size, sources, seed + index))
    _write_bag(folder, "htdemucs", [plan[0][0]])
    _write_bag(folder, "htdemucs_ft", [plan[0][0], plan[1][0]])
    _write_bag(folder, "htdemucs_6s", [plan[2][0]])
    (folder / _MARKER).write_text(json.dumps({"size": size, "seed": seed}))


def build_repo(dest: Path, *, size: str = "tiny", seed: int = 0) -> Path:
    """Build a demucs ``--repo`` folder of random models at ``dest`` and return it.

    Idempotent: returns at once when ``dest`` already holds a complete build of
    ``size``. Written into a temporary sibling folder, then renamed, so a reader
    never sees a half-written repo and concurrent builders do not clash.
    """
    dest = Path(dest)
    if size not in SIZES:
        raise ValueError(f"size must be one of {SIZES}, not {size!r}")
    if _is_complete(dest, size):
        return dest
    dest.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{dest.name}-", dir=dest.parent))
    try:
        _populate(tmp, size, seed)
        tmp.chmod(0o755)  # mkdtemp makes it private; the repo is shared read-only
        if dest.exists():
            if _is_complete(dest, size):  # another builder won the race
                return dest
            shutil.rmtree(dest)
        tmp.rename(dest)
    except OSError:
        if not _is_complete(dest, size):
            raise
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return dest


def main(argv: list[str] | None = None) -> int:
    """CLI: ``python -m devtools.model_repo DEST [--size tiny|full]``."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("dest", type=Path)
    parser.add_argument("--size", choices=SIZES, default="tiny")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)
    path = build_repo(args.dest, size=args.size, seed=args.seed)
    sys.stdout.write(f"{path}\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
