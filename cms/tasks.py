"""RQ entry points for the demo: take ids, call one service, return."""

from .demo import sample_song_rerun


def sample_song_rerun_task(song_id: int) -> str:
    return sample_song_rerun(song_id=song_id)
