"""``lensbox composer train`` on tiny generated chorales, then every mode of ``generate``
through the real CLI: the MIDI's voices, the WAV, the piano roll, the held-out measures."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from lensbox.composer.render import wav_rms, wav_seconds
from lensbox.manifest import load_package
from tests.composer.conftest import pretty_midi, write_four_part
from tests.helpers import cli_in_process

pytestmark = pytest.mark.slow  # trains two small networks (about a minute together)

HAS_FLUIDSYNTH = shutil.which("fluidsynth") is not None


@pytest.fixture(scope="module")
def inpaint(chorale_folder: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("models") / "inpaint"
    code = _cli(
        "composer", "train", "--model", "inpaint", "--data", str(chorale_folder),
        "--minutes", "0.15", "--out", str(out),
    )  # fmt: skip
    assert code == 0
    return out


def _cli(*args: str) -> int:
    from lensbox.cli import main

    try:
        main(list(args))
    except SystemExit as exc:
        return int(exc.code or 0)
    return 0


def test_int8_inpainter_is_judged_by_its_held_out_nll(inpaint: Path, tmp_path: Path) -> None:
    from lensbox.optimize.int8 import optimize_int8

    result = optimize_int8(inpaint, None, tmp_path / "int8", max_drop=0.5)
    assert result.metric == "nll" and result.calibration_images > 0
    assert 0.0 < result.fp32 < 6.0 and 0.0 < result.int8 < 6.0  # nats; uniform is log(C)
    assert result.drop == pytest.approx(result.int8 - result.fp32, abs=1e-3)  # worse = higher
    package = load_package(result.out)
    assert package.manifest.precision == "int8"
    assert _cli("composer", "generate", str(result.out), "--melody", "sample:twinkle",
                "--mode", "accompany", "--out", str(tmp_path / "t.mid")) == 0  # fmt: skip


def test_training_writes_a_package_with_held_out_measures(inpaint: Path) -> None:
    manifest = load_package(inpaint).manifest
    assert manifest.task == "compose" and manifest.task_params["model"] == "inpaint"
    assert manifest.labels == ["soprano", "alto", "tenor", "bass"]
    assert manifest.parity is not None and manifest.parity.passed
    metrics = manifest.metrics
    assert 0 < metrics["nll"] < np.log(50)  # better than a uniform guess over 50 classes
    assert metrics["test_pieces"] == 2  # sorted files 5 and 10 of 11; file 0 (broken.mid) skipped
    for name in ("scale_consistency", "pitch_class_entropy", "parallel_fifths_octaves"):
        assert set(metrics["measures"][name]) == {"model", "real"}
    # The generated chorales are pure C major / A minor triads.
    assert metrics["measures"]["scale_consistency"]["real"] == 1.0
    report = (inpaint / "report.html").read_text()
    assert "How Bach-like" in report and "piano roll" in report
    assert (
        "broken.mid" in json.dumps(manifest.provenance) or manifest.provenance["skipped_files"] == 1
    )


def _notes(path: Path, track: int) -> list[tuple[float, float, int]]:
    midi = pretty_midi.PrettyMIDI(str(path))
    return [(round(n.start, 3), round(n.end, 3), n.pitch) for n in midi.instruments[track].notes]


def test_accompany_keeps_the_melody_note_for_note_and_writes_three_voices_under_it(
    inpaint: Path, tune: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out, wav, png = tmp_path / "out.mid", tmp_path / "out.wav", tmp_path / "out.png"
    args = ["composer", "generate", str(inpaint), "--melody", str(tune), "--mode", "accompany"]
    args += ["--out", str(out), "--png", str(png), "--json"]
    if HAS_FLUIDSYNTH:
        args += ["--wav", str(wav)]
    code, stdout, err = cli_in_process(capsys, *args)
    assert code == 0, err
    result = json.loads(stdout)
    midi = pretty_midi.PrettyMIDI(str(out))
    assert [i.name for i in midi.instruments] == ["soprano", "alto", "tenor", "bass"]
    assert len({i.program for i in midi.instruments}) == 4  # four timbres, each voice audible
    assert _notes(out, 0) == _notes(tune, 0)
    for track in (1, 2, 3):
        assert len(midi.instruments[track].notes) > 0
    assert result["measures"]["out_of_range_rate"] <= 0.05
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    if HAS_FLUIDSYNTH:
        length = pretty_midi.PrettyMIDI(str(tune)).get_end_time()
        assert length <= wav_seconds(wav) <= length + 3  # FluidSynth renders the release too
        assert wav_rms(wav) > 0.005


def test_rewrite_changes_about_the_requested_share_and_extend_adds_bars(
    inpaint: Path, tune: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    base = ["composer", "generate", str(inpaint), "--melody", str(tune), "--json"]
    code, stdout, err = cli_in_process(
        capsys, *base, "--mode", "rewrite", "--fraction", "0.5", "--out", str(tmp_path / "r.mid")
    )
    assert code == 0, err
    before, after = _notes(tune, 0), _notes(tmp_path / "r.mid", 0)
    assert [n[:2] for n in before] == [n[:2] for n in after]  # the rhythm stays
    changed = sum(a[2] != b[2] for a, b in zip(before, after, strict=True))
    assert changed == json.loads(stdout)["changed_notes"] == 7  # half of the 14 notes
    code, stdout, err = cli_in_process(
        capsys, *base, "--mode", "extend", "--bars", "2", "--out", str(tmp_path / "e.mid")
    )
    assert code == 0, err
    assert json.loads(stdout)["added_steps"] == 32
    original = pretty_midi.PrettyMIDI(str(tune))
    extended = pretty_midi.PrettyMIDI(str(tmp_path / "e.mid"))
    two_bars = 8 * 60 / 100  # 8 quarter notes at 100 bpm
    assert extended.get_end_time() > original.get_end_time() + two_bars - 1.0
    assert _notes(tmp_path / "e.mid", 0)[: len(before)] == before


def test_generation_imports_no_torch(inpaint: Path, tune: Path, tmp_path: Path) -> None:
    code = (
        "import sys\n"
        "from lensbox.cli import main\n"
        "try:\n"
        f"    main(['composer', 'generate', {str(inpaint)!r}, '--melody', {str(tune)!r},"
        f" '--out', {str(tmp_path / 'x.mid')!r}])\n"
        "except SystemExit as exc:\n"
        "    assert not exc.code, exc.code\n"
        "assert 'torch' not in sys.modules, 'torch was imported'\n"
        "print('no torch')\n"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert done.returncode == 0 and "no torch" in done.stdout, done.stderr[-2000:]


def test_a_gan_trains_and_accompanies_with_the_melody_on_top(
    chorale_folder: Path, tune: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    model = tmp_path / "gan"
    code, _, err = cli_in_process(
        capsys, "composer", "train", "--model", "gan", "--data", str(chorale_folder),
        "--minutes", "0.2", "--out", str(model), "--json",
    )  # fmt: skip
    assert code == 0, err
    manifest = load_package(model).manifest
    assert manifest.task_params["model"] == "gan" and "nll" not in manifest.metrics
    history = json.loads((model / "history.json").read_text())
    assert history and all("critic_loss" in row and row["sample"] for row in history)
    assert "GAN losses" in (model / "report.html").read_text()
    out = tmp_path / "g.mid"
    code, _stdout, err = cli_in_process(
        capsys, "composer", "generate", str(model), "--melody", str(tune), "--out", str(out)
    )
    assert code == 0, err
    assert _notes(out, 0) == _notes(tune, 0)
    midi = pretty_midi.PrettyMIDI(str(out))
    roll = [{round(n.start, 2): n.pitch for n in track.notes} for track in midi.instruments]
    for onset, pitch in roll[0].items():
        assert all(lower.get(onset, 0) <= pitch for lower in roll[1:])
    code, _, err = cli_in_process(
        capsys, "composer", "generate", str(model), "--melody", str(tune), "--mode", "rewrite",
        "--out", str(out),
    )  # fmt: skip
    assert code == 1 and "accompany" in err


def test_resume_trains_on_from_the_checkpoint(
    inpaint: Path, chorale_folder: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    model = tmp_path / "again"
    shutil.copytree(inpaint, model)
    before = json.loads((model / "history.json").read_text())
    code, _, err = cli_in_process(
        capsys, "composer", "train", "--data", str(chorale_folder), "--minutes", "0.05",
        "--resume", "--out", str(model),
    )  # fmt: skip
    assert code == 0, err
    after = json.loads((model / "history.json").read_text())
    assert after[: len(before)] == before and len(after) > len(before)
    assert after[len(before)]["epoch"] == before[-1]["epoch"] + 1
    assert load_package(model).manifest.provenance["resumed"] is True
    other = tmp_path / "other-pieces"
    other.mkdir()
    for i in range(3):
        write_four_part(other / f"x{i}.mid", seed=100 + i)
    code, _, err = cli_in_process(
        capsys, "composer", "train", "--data", str(other), "--minutes", "0.05", "--resume",
        "--out", str(model),
    )  # fmt: skip
    assert code == 1 and "another recipe" in err  # --data is part of the recipe


def test_the_device_runtime_refuses_a_composer_package_in_one_line(
    inpaint: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, _, err = cli_in_process(capsys, "run", str(inpaint), "--source", "test")
    assert code == 1 and "composer generate" in err and str(inpaint) in err
    assert len(err.strip().splitlines()) == 1
