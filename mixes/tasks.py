"""RQ entry points of mixes: take ids, call one service, return."""

from .services import mix_render, mixes_reap


def mix_render_task(mix_id: str) -> None:
    mix_render(mix_id=mix_id)


def mixes_reap_task() -> int:
    return mixes_reap()
