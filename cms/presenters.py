"""The sample song as the demo players' context (templates/includes/player.html)."""

from typing import TYPE_CHECKING, Any

from django.urls import reverse

from jobs.catalog import minus_one_presets, stem_sort_key
from jobs.delivery.presenters import player_context, stem_label

from .stem_sets import StemSet

if TYPE_CHECKING:
    from .models import SampleSong

PREPARING = (
    "The separated versions of this song are being prepared; "
    "come back in a few minutes to hear its stems."
)
UNAVAILABLE = (
    "The separated versions of this song are unavailable on this server "
    "right now, so only the original can be played."
)

SET_TEXT = {
    "original": "The song as it was mixed.",
    "two_stems": "htdemucs, two stems: the vocals, and everything else.",
    "six_stems": "htdemucs_6s: vocals, drums, bass, other, guitar and piano.",
}


def sample_song_sets(song: "SampleSong") -> list[dict[str, Any]]:
    """[{key, label, text, player}] for each stem set that exists, in order."""
    tracks = list(song.tracks.all())
    sets = []
    for choice in StemSet:
        members = sorted(
            (t for t in tracks if t.stem_set == choice.value),
            key=lambda t: (t.name != "mix", stem_sort_key(t.name)),
        )
        if not members:
            continue
        stems = [
            {
                "name": t.name,
                "label": "Original mix" if t.name == "mix" else stem_label(t.name),
                "url": reverse("cms:demo_audio", args=[t.pk]),
                "peaks": t.peaks,
            }
            for t in members
        ]
        sets.append(
            {
                "key": choice.value,
                "label": choice.label,
                "text": SET_TEXT.get(choice.value, ""),
                "player": player_context(
                    player_id=f"demo-{choice.value.replace('_', '-')}",
                    label=f"{song.title}: {choice.label}",
                    stems=stems,
                    duration=max(t.duration_seconds for t in members),
                    presets=_presets([t.name for t in members if t.name != "mix"]),
                ),
            }
        )
    return sets


def _presets(names: list[str]) -> list[tuple[str, str, list[str]]]:
    """Minus-one buttons of the demo: heard by muting (nothing is rendered)."""
    return [(key, label, list(gains)) for key, label, gains in minus_one_presets(names)]


def sample_song_notice(song: "SampleSong", sets: list[dict[str, Any]]) -> str:
    """What the demo says when stem sets are missing ("" when every set is there):
    being prepared while the song waits for its separation, unavailable once it
    failed (no weights, say) or its stems are gone."""
    shown = {s["key"] for s in sets}
    if shown >= {choice.value for choice in StemSet}:
        return ""
    return PREPARING if song.status == song.Status.PENDING else UNAVAILABLE
