"""Listening and looking: the composition's MIDI rendered to a WAV with FluidSynth and a
General MIDI soundfont (Debian's ``fluidsynth`` and ``fluid-soundfont-gm``), and its piano roll
drawn with each voice in its own colour."""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import numpy as np

from lensbox._atomic import atomic_write_with
from lensbox.composer.grid import REST, STEPS_PER_BAR, STEPS_PER_QUARTER, VOICES, Grid
from lensbox.errors import MissingExtraError, MusicError

SOUNDFONTS = (
    "/usr/share/sounds/sf2/FluidR3_GM.sf2",
    "/usr/share/sounds/sf2/default-GM.sf2",
    "/usr/share/soundfonts/FluidR3_GM.sf2",
    "/usr/share/soundfonts/default.sf2",
)
SAMPLE_RATE = 44100
COLOURS = {  # soprano red, alto orange, tenor green, bass blue
    "soprano": (214, 39, 40),
    "alto": (255, 127, 14),
    "tenor": (44, 160, 44),
    "bass": (31, 119, 180),
}
_INSTALL = "install it with: apt-get install fluidsynth fluid-soundfont-gm"


def soundfont() -> Path:
    """``LENSBOX_SOUNDFONT`` or the first General MIDI soundfont a package installed."""
    named = os.environ.get("LENSBOX_SOUNDFONT")
    if named:
        if not Path(named).is_file():
            raise MusicError(f"LENSBOX_SOUNDFONT={named}: no such file; point it at an .sf2 file")
        return Path(named)
    for candidate in SOUNDFONTS:
        if Path(candidate).is_file():
            return Path(candidate)
    raise MissingExtraError(f"no General MIDI soundfont found; {_INSTALL}")


def render_wav(midi_path: Path, wav_path: Path, gain: float = 0.6) -> Path:
    """Offline rendering (no audio device), written atomically."""
    binary = shutil.which("fluidsynth")
    if binary is None:
        raise MissingExtraError(f"fluidsynth is not installed; {_INSTALL}")
    font = soundfont()

    def write(tmp: str) -> None:
        command = [
            binary,
            "-ni",
            "-q",
            "-g",
            str(gain),
            "-r",
            str(SAMPLE_RATE),
            "-F",
            tmp,
            "-T",
            "wav",
            str(font),
            str(midi_path),
        ]
        done = subprocess.run(command, capture_output=True, text=True, timeout=600)
        if done.returncode != 0 or not Path(tmp).is_file() or Path(tmp).stat().st_size <= 44:
            tail = (done.stderr or done.stdout).strip().splitlines()[-1:] or ["no output"]
            raise MusicError(f"{midi_path}: fluidsynth could not render it ({tail[0]})")

    return atomic_write_with(wav_path, write)


def piano_roll_png(grid: Grid, path: Path, title: str = "") -> Path:
    """Time across, pitch up; bar lines every 4/4 bar, each voice's notes in its colour."""
    from PIL import Image, ImageDraw

    sounding = grid.pitches[grid.pitches != REST]
    low, high = (int(sounding.min()) - 2, int(sounding.max()) + 2) if sounding.size else (48, 72)
    cell_w, cell_h = (4 if grid.steps <= 600 else 2), 6
    margin = 24 if title else 4
    width, height = grid.steps * cell_w + 8, (high - low + 1) * cell_h + margin + 4
    image = Image.new("RGB", (width, height), "white")
    draw = ImageDraw.Draw(image)
    for pitch in range(low, high + 1):  # black-key rows shaded, as on a keyboard
        if pitch % 12 in (1, 3, 6, 8, 10):
            y = margin + (high - pitch) * cell_h
            draw.rectangle([4, y, width - 4, y + cell_h - 1], fill=(242, 242, 242))
    for step in range(0, grid.steps + 1, STEPS_PER_QUARTER):
        colour = (170, 170, 170) if step % STEPS_PER_BAR == 0 else (225, 225, 225)
        draw.line([4 + step * cell_w, margin, 4 + step * cell_w, height - 4], fill=colour)
    for voice, name in enumerate(VOICES):
        for start, end, pitch in grid.notes(voice):
            y = margin + (high - pitch) * cell_h
            draw.rectangle(
                [4 + start * cell_w, y, 4 + end * cell_w - 2, y + cell_h - 1],
                fill=COLOURS[name], outline=(40, 40, 40),
            )  # fmt: skip
    if title:
        draw.text((6, 4), title, fill=(20, 20, 20))
        x = width - 4 * 70
        for name in VOICES:
            draw.rectangle([x, 8, x + 10, 16], fill=COLOURS[name])
            draw.text((x + 14, 5), name, fill=(20, 20, 20))
            x += 70
    return atomic_write_with(path, lambda tmp: image.save(tmp, format="PNG"))


def wav_seconds(path: Path) -> float:
    import wave

    with wave.open(str(path)) as handle:
        return handle.getnframes() / float(handle.getframerate())


def wav_rms(path: Path) -> float:
    """Root-mean-square level of a 16-bit WAV in [0, 1]: above 0 means it is not silence."""
    import wave

    with wave.open(str(path)) as handle:
        frames = handle.readframes(handle.getnframes())
    samples = np.frombuffer(frames, dtype=np.int16).astype(np.float64) / 32768.0
    return float(np.sqrt(np.mean(samples**2))) if samples.size else 0.0
