"""Melodies in: files of any shape are read or refused in one line, never with a traceback."""

from __future__ import annotations

from pathlib import Path

import pytest

from lensbox.composer.melody import MAX_SECONDS, read_melody
from lensbox.composer.samples import SAMPLES, load_sample
from lensbox.errors import MusicError
from tests.composer.conftest import pretty_midi, write_melody
from tests.helpers import cli_in_process


def test_a_melody_is_quantised_to_16ths_with_its_rests_and_runs(tune: Path) -> None:
    melody = read_melody(tune)
    pitches, onsets = melody.soprano()
    assert len(melody.notes) == 14 and int(onsets.sum()) == 14
    # the 16th-note run (69, 71, 72, 74) after the rest at quarter 5
    assert pitches[24:28].tolist() == [69, 71, 72, 74]
    assert (pitches[20:24] == -1).all()


def test_a_polyphonic_file_gives_its_top_line_and_says_so(tmp_path: Path) -> None:
    midi = pretty_midi.PrettyMIDI(initial_tempo=120)
    piano = pretty_midi.Instrument(0)
    for i, (top, low) in enumerate([(72, 60), (74, 62), (76, 64)]):
        piano.notes += [pretty_midi.Note(80, top, i * 0.5, i * 0.5 + 0.5)]
        piano.notes += [pretty_midi.Note(80, low, i * 0.5, i * 0.5 + 0.5)]
    midi.instruments.append(piano)
    midi.write(str(tmp_path / "chords.mid"))
    melody = read_melody(tmp_path / "chords.mid")
    assert [n.pitch for n in melody.notes] == [72, 74, 76]
    assert "top line" in melody.messages[0]


@pytest.mark.parametrize("kind", ["corrupt", "empty", "no-notes", "too-long", "missing"])
def test_bad_melodies_get_one_line_naming_the_file(tmp_path: Path, kind: str) -> None:
    path = tmp_path / f"{kind}.mid"
    if kind == "corrupt":
        path.write_bytes(b"MThd\x00\x00\x00\x06garbage")
    elif kind == "empty":
        path.write_bytes(b"")
    elif kind == "no-notes":
        pretty_midi.PrettyMIDI().write(str(path))
    elif kind == "too-long":
        write_melody(path, [(60, 4)] * int(MAX_SECONDS / 2), bpm=60)
    with pytest.raises(MusicError) as raised:
        read_melody(path)
    message = str(raised.value)
    assert str(path) in message and "\n" not in message
    if kind == "too-long":
        assert f"{MAX_SECONDS:.0f} s" in message


def test_the_cli_refuses_bad_input_in_one_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (tmp_path / "bad.mid").write_bytes(b"nope")
    code, _, err = cli_in_process(
        capsys, "composer", "generate", str(tmp_path / "pkg"), "--melody", str(tmp_path / "bad.mid"),
        "--out", str(tmp_path / "o.mid"),
    )  # fmt: skip
    assert code == 1 and "bad.mid" in err and "Traceback" not in err
    assert len(err.strip().splitlines()) == 1
    code, _out, err = cli_in_process(
        capsys, "composer", "generate", str(tmp_path / "pkg"), "--melody", "sample:nosuch",
        "--out", str(tmp_path / "o.mid"),
    )  # fmt: skip
    assert code == 1 and "sample:nosuch" in err and "twinkle" in err


def test_samples_are_listed_and_each_reads_as_a_melody(capsys: pytest.CaptureFixture[str]) -> None:
    import json

    code, out, _ = cli_in_process(capsys, "composer", "samples", "--json")
    assert code == 0
    names = [row["name"] for row in json.loads(out)]
    assert names == list(SAMPLES) and {"twinkle", "ode_to_joy"} <= set(names)
    for name in names:
        melody = load_sample(name)
        assert len(melody.notes) == len([e for e in SAMPLES[name].events() if e[0] is not None])


def test_train_and_evaluate_refuse_missing_input_in_one_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    for args, needle in (
        (["train", "--data", str(tmp_path / "nope"), "--out", str(tmp_path / "m")], "nope"),
        (["evaluate", str(tmp_path / "no-model")], "no-model"),
        (["generate", str(tmp_path / "no-model"), "--melody", "sample:twinkle", "--out",
          str(tmp_path / "o.mid")], "no-model"),
    ):  # fmt: skip
        code, _, err = cli_in_process(capsys, "composer", *args)
        assert code == 1 and "Traceback" not in err, err
        errors = [line for line in err.splitlines() if line.startswith("error:")]
        assert len(errors) == 1 and needle in errors[0], err  # progress lines may come before
