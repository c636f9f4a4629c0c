"""Built-in melodies (public-domain tunes) to try the composer without a MIDI file at hand."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from lensbox._optional import require
from lensbox.composer.melody import Melody, melody_from_midi
from lensbox.errors import MusicError

_STEPS = {"C": 0, "D": 2, "E": 4, "F": 5, "G": 7, "A": 9, "B": 11}


@dataclass(frozen=True)
class Sample:
    name: str
    title: str
    metre: str
    bpm: int
    notes: str  # "E4 1, E4 .5, R .5": pitch (or R for a rest) and length in quarter notes

    def events(self) -> list[tuple[int | None, float]]:
        return [
            _event(token) for token in self.notes.replace("\n", " ").split(",") if token.strip()
        ]


def _event(token: str) -> tuple[int | None, float]:
    name, length = token.split()
    if name == "R":
        return None, float(length)
    letter, rest = name[0], name[1:]
    shift = rest.count("#") - rest.count("b")
    octave = int(rest.strip("#b"))
    return 12 * (octave + 1) + _STEPS[letter] + shift, float(length)


SAMPLES = {
    s.name: s
    for s in (
        Sample(
            "twinkle",
            "Twinkle, Twinkle, Little Star",
            "4/4",
            100,
            "C5 1, C5 1, G5 1, G5 1, A5 1, A5 1, G5 2, F5 1, F5 1, E5 1, E5 1, D5 1, D5 1, C5 2,"
            "G5 1, G5 1, F5 1, F5 1, E5 1, E5 1, D5 2, G5 1, G5 1, F5 1, F5 1, E5 1, E5 1, D5 2,"
            "C5 1, C5 1, G5 1, G5 1, A5 1, A5 1, G5 2, F5 1, F5 1, E5 1, E5 1, D5 1, D5 1, C5 2",
        ),
        Sample(
            "ode_to_joy",
            "Ode to Joy (Beethoven)",
            "4/4",
            110,
            "E5 1, E5 1, F5 1, G5 1, G5 1, F5 1, E5 1, D5 1, C5 1, C5 1, D5 1, E5 1, E5 1.5,"
            "D5 .5, D5 2, E5 1, E5 1, F5 1, G5 1, G5 1, F5 1, E5 1, D5 1, C5 1, C5 1, D5 1,"
            "E5 1, D5 1.5, C5 .5, C5 2",
        ),
        Sample(
            "frere_jacques",
            "Frère Jacques",
            "4/4",
            110,
            "F4 1, G4 1, A4 1, F4 1, F4 1, G4 1, A4 1, F4 1, A4 1, Bb4 1, C5 2, A4 1, Bb4 1,"
            "C5 2, C5 .5, D5 .5, C5 .5, Bb4 .5, A4 1, F4 1, C5 .5, D5 .5, C5 .5, Bb4 .5, A4 1,"
            "F4 1, F4 1, C4 1, F4 2, F4 1, C4 1, F4 2",
        ),
        Sample(
            "amazing_grace",
            "Amazing Grace (3/4, pickup)",
            "3/4",
            90,
            "D4 1, G4 2, B4 .5, G4 .5, B4 2, A4 1, G4 2, E4 1, D4 2, D4 1, G4 2, B4 .5, G4 .5,"
            "B4 2, A4 1, D5 3, R 2, B4 1, D5 1.5, B4 .5, D5 .5, B4 .5, G4 2, D4 1, E4 1.5,"
            "G4 .5, G4 .5, E4 .5, D4 2, D4 1, G4 2, B4 .5, G4 .5, B4 2, A4 1, G4 3",
        ),
        Sample(
            "saints",
            "When the Saints Go Marching In (pickup)",
            "4/4",
            120,
            "C4 1, E4 1, F4 1, G4 4, R 1, C4 1, E4 1, F4 1, G4 4, R 1, C4 1, E4 1, F4 1, G4 2,"
            "E4 2, C4 2, E4 2, D4 4, R 1, E4 1, E4 1, D4 1, C4 3, C4 1, E4 2, G4 2, G4 1, F4 3,"
            "R 1, E4 1, F4 1, G4 2, E4 2, C4 2, D4 2, C4 4",
        ),
    )
}


def sample_midi(name: str) -> Any:
    """The sample as a one-track pretty_midi.PrettyMIDI (piano), at its tempo and metre."""
    pretty_midi = require("pretty_midi", extra="composer")
    if name not in SAMPLES:
        raise MusicError(
            f"sample:{name}: no such sample; `lensbox composer samples` lists {', '.join(SAMPLES)}"
        )
    sample = SAMPLES[name]
    midi = pretty_midi.PrettyMIDI(initial_tempo=sample.bpm)
    numerator, denominator = (int(x) for x in sample.metre.split("/"))
    midi.time_signature_changes.append(pretty_midi.TimeSignature(numerator, denominator, 0.0))
    piano = pretty_midi.Instrument(program=0, name="melody")
    seconds_per_quarter = 60.0 / sample.bpm
    clock = 0.0
    for pitch, length in sample.events():
        duration = length * seconds_per_quarter
        if pitch is not None:
            piano.notes.append(pretty_midi.Note(90, pitch, clock, clock + duration * 0.98))
        clock += duration
    midi.instruments.append(piano)
    return midi


def load_sample(name: str) -> Melody:
    return melody_from_midi(sample_midi(name), f"sample:{name}")
