"""A melody in: a MIDI file's one line (or its top line), quantised to the 16th-note grid, with
the times of the original kept so the result's soprano is the input note for note.

A MIDI of any metre, tempo changes or a pickup bar works: steps are counted in the file's own
ticks (a quarter note is ``resolution`` ticks), and the output is written back on that same
tick-to-time map.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from lensbox._optional import require
from lensbox.composer.grid import REST, STEPS_PER_QUARTER
from lensbox.errors import MusicError

MAX_SECONDS = 300.0  # a melody up to five minutes; longer is refused with this figure


@dataclass
class MelodyNote:
    start: float  # seconds
    end: float
    pitch: int
    velocity: int = 90


@dataclass
class Melody:
    notes: list[MelodyNote]
    midi: Any  # the pretty_midi.PrettyMIDI it came from: its tempo map places the output
    source: str
    messages: list[str] = field(default_factory=list)  # what was done to the input, said once

    def step_of(self, seconds: float) -> int:
        tick = self.midi.time_to_tick(seconds)
        return round(tick * STEPS_PER_QUARTER / self.midi.resolution)

    def time_of(self, step: int) -> float:
        return float(self.midi.tick_to_time(round(step * self.midi.resolution / STEPS_PER_QUARTER)))

    @property
    def duration(self) -> float:
        return max(n.end for n in self.notes)

    def soprano(self, steps: int | None = None) -> tuple[np.ndarray, np.ndarray]:
        """(pitches, onsets) of the melody on the grid. Two notes that round to one step keep
        the later one (the grid cannot hold both; the output keeps both from ``notes``)."""
        last = max(self.step_of(n.end) for n in self.notes)
        size = max(last, 1) if steps is None else steps
        pitches = np.full(size, REST, dtype=np.int16)
        onsets = np.zeros(size, dtype=bool)
        for note in self.notes:
            start = self.step_of(note.start)
            end = max(self.step_of(note.end), start + 1)
            if start >= size:
                continue
            pitches[start : min(end, size)] = note.pitch
            onsets[start] = True
        return pitches, onsets


def top_line(notes: list[MelodyNote]) -> tuple[list[MelodyNote], bool]:
    """The highest note at each onset, each cut where the next one starts; whether the input
    was polyphonic (overlapping notes)."""
    ordered = sorted(notes, key=lambda n: (round(n.start, 4), -n.pitch))
    line: list[MelodyNote] = []
    polyphonic = False
    for note in ordered:
        if line and round(note.start, 4) == round(line[-1].start, 4):
            polyphonic = True
            continue
        if line and note.start < line[-1].end - 1e-4:
            polyphonic = True
            line[-1] = MelodyNote(line[-1].start, note.start, line[-1].pitch, line[-1].velocity)
        line.append(note)
    return [n for n in line if n.end - n.start > 1e-4], polyphonic


def read_melody(path: Path) -> Melody:
    """A MIDI file's melody, or a one-line error naming the file and the fix."""
    if not path.is_file():
        raise MusicError(f"{path}: no such file; pass a .mid file or sample:NAME")
    return parse_melody(path.read_bytes(), str(path))


def parse_melody(data: bytes, source: str) -> Melody:
    """The melody in MIDI bytes (a file's, or an upload's, named ``source`` in errors)."""
    import io

    pretty_midi = require("pretty_midi", extra="composer")
    try:
        midi = pretty_midi.PrettyMIDI(io.BytesIO(data))
    except Exception as exc:  # mido/pretty_midi raise many kinds for a corrupt file
        raise MusicError(
            f"{source}: not a readable MIDI file ({type(exc).__name__}); export it again as a "
            "standard MIDI file"
        ) from None
    return melody_from_midi(midi, source)


def melody_from_midi(midi: Any, source: str) -> Melody:
    raw = [
        MelodyNote(float(n.start), float(n.end), int(n.pitch), int(n.velocity))
        for instrument in midi.instruments
        if not instrument.is_drum
        for n in instrument.notes
    ]
    if not raw:
        raise MusicError(f"{source}: has no notes; give a MIDI file with a melody")
    notes, polyphonic = top_line(raw)
    melody = Melody(notes, midi, source)
    if melody.duration > MAX_SECONDS:
        raise MusicError(
            f"{source}: the melody lasts {melody.duration:.0f} s, over the limit of "
            f"{MAX_SECONDS:.0f} s; cut it into parts"
        )
    if polyphonic:
        melody.messages.append(
            f"{source}: more than one note at a time; harmonising its top line "
            f"({len(notes)} of {len(raw)} notes)"
        )
    return melody


MAX_PLAYED_NOTES = 2000


def played_melody(notes: list[tuple[int, float, float]], bpm: float = 120.0) -> Melody:
    """A melody played on the studio's on-screen keyboard: (MIDI pitch, start s, end s) as
    played, from the first key pressed. Without a metronome the grid is the bpm's (MIDI's
    default 120: a 16th is 0.125 s), which the model's quantisation then follows."""
    pretty_midi = require("pretty_midi", extra="composer")
    source = "played melody"
    if not notes:
        raise MusicError(f"{source}: no keys were played; play a tune or pick a sample")
    if len(notes) > MAX_PLAYED_NOTES:
        raise MusicError(f"{source}: over {MAX_PLAYED_NOTES} notes; upload a MIDI file instead")
    origin = min(start for _, start, _ in notes)
    midi = pretty_midi.PrettyMIDI(initial_tempo=bpm)
    line = pretty_midi.Instrument(program=0, name="melody")
    for pitch, start, end in notes:
        if not 0 <= pitch <= 127 or not end > start >= origin:
            raise MusicError(f"{source}: note {pitch} at {start}-{end} s is not a played note")
        line.notes.append(pretty_midi.Note(90, int(pitch), start - origin, end - origin))
    midi.instruments.append(line)
    return melody_from_midi(midi, source)
