"""The one representation every composer module shares: a four-voice grid.

A piece is ``pitches``, an int array (T, 4) of MIDI pitches per 16th-note step for soprano,
alto, tenor and bass (``REST`` where a voice is silent), with ``onsets`` (T, 4) saying where a
note starts (a held note and a repeated one differ only there). 16ths, because the melodies
users bring have 16th-note runs and the soprano must keep every one of them.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

VOICES = ("soprano", "alto", "tenor", "bass")
STEPS_PER_QUARTER = 4
STEPS_PER_BAR = 4 * STEPS_PER_QUARTER  # bars of 4/4 for bar-based measures (empty bars, GAN)
REST = -1
PITCH_LOW, PITCH_HIGH = 36, 84  # C2..C6: every chorale voice, transposed within +-6
N_PITCHES = PITCH_HIGH - PITCH_LOW + 1
N_CLASSES = N_PITCHES + 1  # index 0 is a rest, index k is PITCH_LOW + k - 1
# Choir ranges (inclusive MIDI pitches): what a singer can sing and what sampling keeps to.
SATB_RANGES = {"soprano": (60, 81), "alto": (53, 74), "tenor": (48, 69), "bass": (40, 64)}


@dataclass
class Grid:
    pitches: np.ndarray  # (T, 4) int16, REST where silent
    onsets: np.ndarray  # (T, 4) bool

    def __post_init__(self) -> None:
        self.pitches = np.asarray(self.pitches, dtype=np.int16)
        self.onsets = np.asarray(self.onsets, dtype=bool) & (self.pitches != REST)

    @classmethod
    def from_pitches(cls, pitches: np.ndarray) -> Grid:
        """Onsets wherever the pitch changes (repeated notes merge into held ones)."""
        pitches = np.asarray(pitches, dtype=np.int16)
        onsets = np.ones_like(pitches, dtype=bool)
        onsets[1:] = pitches[1:] != pitches[:-1]
        return cls(pitches, onsets)

    @property
    def steps(self) -> int:
        return int(self.pitches.shape[0])

    def transposed(self, semitones: int) -> Grid:
        shifted = np.where(self.pitches == REST, REST, self.pitches + semitones)
        return Grid(shifted, self.onsets.copy())

    def notes(self, voice: int) -> list[tuple[int, int, int]]:
        """(start step, end step, pitch) of each note of one voice."""
        column, starts = self.pitches[:, voice], self.onsets[:, voice]
        notes: list[tuple[int, int, int]] = []
        for t in range(self.steps):
            if column[t] == REST:
                continue
            if starts[t] or t == 0 or column[t - 1] != column[t]:
                notes.append((t, t + 1, int(column[t])))
            else:
                start, _, pitch = notes[-1]
                notes[-1] = (start, t + 1, pitch)
        return notes


def to_classes(pitches: np.ndarray) -> np.ndarray:
    """MIDI pitches (REST allowed) -> class indices 0..N_CLASSES-1, clipped into the range."""
    clipped = np.clip(pitches, PITCH_LOW, PITCH_HIGH) - PITCH_LOW + 1
    return np.where(pitches == REST, 0, clipped).astype(np.int64)


def from_classes(classes: np.ndarray) -> np.ndarray:
    return np.where(classes == 0, REST, classes + PITCH_LOW - 1).astype(np.int16)


def encode(classes: np.ndarray, known: np.ndarray) -> np.ndarray:
    """The inpainting model's input for a batch: classes (B, T, 4) and known (B, T, 4) bool ->
    float32 (B, 4 * N_CLASSES + 4, T): each voice's one-hot roll with its unknown steps zeroed,
    then each voice's known-mask (Coconet's encoding, with voices x pitches as channels)."""
    batch, steps, voices = classes.shape
    rolls = np.zeros((batch, voices, N_CLASSES, steps), dtype=np.float32)
    b, t, v = np.nonzero(known)
    rolls[b, v, classes[b, t, v], t] = 1.0
    masks = known.transpose(0, 2, 1).astype(np.float32)
    return np.concatenate([rolls.reshape(batch, voices * N_CLASSES, steps), masks], axis=1)


INPUT_CHANNELS = len(VOICES) * N_CLASSES + len(VOICES)


def voice_ranges_in_classes(shift: int) -> np.ndarray:
    """(4, N_CLASSES) bool: which classes each voice may take when the piece sits ``shift``
    semitones from where it will sound (a rest is always allowed)."""
    allowed = np.zeros((len(VOICES), N_CLASSES), dtype=bool)
    allowed[:, 0] = True
    for v, name in enumerate(VOICES):
        low, high = SATB_RANGES[name]
        for pitch in range(low + shift, high + shift + 1):
            if PITCH_LOW <= pitch <= PITCH_HIGH:
                allowed[v, pitch - PITCH_LOW + 1] = True
    return allowed
