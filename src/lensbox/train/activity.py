"""Train an activity recogniser: frozen ImageNet backbone per frame, small temporal head.

Each frame of each clip (and its mirror image) goes once through the pretrained MobileNetV2,
pooled to a 1280-d embedding, in onnxruntime. The head then learns from every window of ``T``
consecutive embeddings: a shared per-frame projection, then the window's mean (what is in the
scene), its spread and its mean frame-to-frame change (how much moves), then a linear layer.
Why frozen: with tens of clips, fine-tuning a backbone memorises them; ImageNet features
already tell a person from an empty floor, and the change term tells walking from standing.
The loss weights labels by inverse clip count, since real footage is unbalanced.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from lensbox._optional import require
from lensbox.data.clips import ClipReport, read_frames, scan_clips
from lensbox.errors import TrainError
from lensbox.export.onnx_export import export_onnx, measure_parity
from lensbox.manifest import IMAGENET_MEAN, IMAGENET_STD, InputSpec, OutputSpec
from lensbox.preprocess import to_tensor
from lensbox.tasks import EngineLike
from lensbox.tasks.activity import HEAD_FILE, classify_clip, windows_of
from lensbox.tasks.classify import classification_metrics
from lensbox.train.callbacks import QuietProgress, TrainProgress
from lensbox.train.loop import TrainOptions, option, resolve_device
from lensbox.train.packaging import backbone_provenance, package_model
from lensbox.train.registry import Trainer, TrainResult, register_trainer
from lensbox.train.split import stratified_split

EMBEDDING = 1280


@dataclass
class ActivityOptions(TrainOptions):
    epochs: int = option(60, "epochs of the temporal head")
    image_size: int = option(224, "frame size in pixels")
    window: int = option(16, "frames in the sliding window")
    batch_size: int = option(64, "windows per step")
    lr: float = option(2e-3, "learning rate of the head")
    hidden: int = option(64, "width of the head's per-frame projection")
    val_fraction: float = option(0.0, "share of clips held out, stratified, and scored")


def build_embedder() -> Any:
    """MobileNetV2 features + global average pool: frame -> 1280-d embedding."""
    torch = require("torch", extra="train")
    from lensbox.train.backbones import mobilenet_v2_imagenet

    nn = torch.nn
    features = mobilenet_v2_imagenet().features

    class Embedder(nn.Module):  # type: ignore[name-defined]
        def __init__(self) -> None:
            super().__init__()
            self.features = features
            self.pool = nn.Sequential(nn.AdaptiveAvgPool2d(1), nn.Flatten())

        def forward(self, x: Any) -> Any:
            return self.pool(self.features(x))

    return Embedder().eval()


def build_head(num_classes: int, hidden: int) -> Any:
    torch = require("torch", extra="train")
    nn = torch.nn

    class TemporalHead(nn.Module):  # type: ignore[name-defined]
        def __init__(self) -> None:
            super().__init__()
            self.project = nn.Sequential(nn.Dropout(0.2), nn.Linear(EMBEDDING, hidden), nn.ReLU())
            self.motion = nn.Sequential(nn.Dropout(0.2), nn.Linear(EMBEDDING, hidden), nn.ReLU())
            self.classify = nn.Sequential(nn.Dropout(0.3), nn.Linear(hidden * 3 + 1, num_classes))

        def forward(self, window: Any) -> Any:
            h = self.project(window)  # (N, T, hidden): what is in view
            mean = h.mean(dim=1)
            spread = ((h - mean.unsqueeze(1)) ** 2).mean(dim=1).add(1e-6).sqrt()
            change = window[:, 1:] - window[:, :-1]  # how the raw embedding moves
            motion = self.motion(change.abs().mean(dim=1))
            # Motion energy relative to the scene's own scale: one number, hard to overfit.
            energy = torch.log(
                change.pow(2).mean(dim=(1, 2)).add(1e-6) / window.pow(2).mean(dim=(1, 2)).add(1e-6)
            ).unsqueeze(1)
            return self.classify(torch.cat([mean, spread, motion, energy], dim=1))

    return TemporalHead()


def _embed_clips(
    report: ClipReport, session: Any, spec: InputSpec, progress: TrainProgress
) -> list[tuple[np.ndarray, np.ndarray]]:
    """(embeddings, mirrored embeddings) per clip, frames resized as the device resizes."""
    progress.stage("embed clip frames", len(report.clips))
    out = []
    for clip in report.clips:
        frames = read_frames(clip.path)
        batch = np.stack([to_tensor(f, spec) for f in frames])
        mirrored = np.ascontiguousarray(batch[:, :, :, ::-1])
        plain = np.concatenate(
            [session.run(None, {"input": batch[i : i + 32]})[0] for i in range(0, len(batch), 32)]
        )
        flipped = np.concatenate(
            [
                session.run(None, {"input": mirrored[i : i + 32]})[0]
                for i in range(0, len(batch), 32)
            ]
        )
        out.append((plain.reshape(len(frames), -1), flipped.reshape(len(frames), -1)))
        progress.advance()
    return out


def train_activity(
    root: str | Path,
    out: str | Path,
    options: ActivityOptions | None = None,
    progress: TrainProgress | None = None,
) -> TrainResult:
    """Embed every clip once, train the temporal head, package both graphs."""
    ort = require("onnxruntime", extra="runtime")
    options = options or ActivityOptions()
    progress = progress or QuietProgress()
    started = time.perf_counter()
    out_dir = Path(out)
    options.validate()
    if options.window < 2:
        raise TrainError(f"--window must be at least 2 frames, got {options.window}")
    report = scan_clips(root)
    report.raise_if_unusable()
    torch = require("torch", extra="train")  # after the data check: bad data fails fast
    for problem in report.problems:
        progress.message(f"skipped: {problem.message}")
    device = resolve_device(options.device)
    torch.manual_seed(options.seed)
    spec = InputSpec(
        height=options.image_size, width=options.image_size, mean=IMAGENET_MEAN, std=IMAGENET_STD
    )
    embedder = build_embedder()
    example = torch.zeros(1, 3, spec.height, spec.width)
    backbone_bytes = export_onnx(embedder, example, output_names=("embedding",))
    session_options = ort.SessionOptions()
    session_options.intra_op_num_threads = options.workers
    backbone = ort.InferenceSession(
        backbone_bytes, session_options, providers=["CPUExecutionProvider"]
    )
    embedded = _embed_clips(report, backbone, spec, progress)

    labels_all = [c.label for c in report.clips]
    train_idx, val_idx = stratified_split(labels_all, options.val_fraction, options.seed)
    windows, targets = [], []
    stride = max(1, options.window // 4)
    for i in train_idx:
        for view in embedded[i]:
            w = windows_of(view, options.window, stride)
            windows.append(w)
            targets += [labels_all[i]] * len(w)
    x = torch.from_numpy(np.concatenate(windows)).to(device)
    y = torch.tensor(targets, dtype=torch.long, device=device)
    clip_counts = np.bincount([labels_all[i] for i in train_idx], minlength=len(report.labels))
    weights = torch.tensor(
        [1.0 / c if c else 0.0 for c in clip_counts], dtype=torch.float32, device=device
    )
    weights = weights / weights[weights > 0].mean()

    head = build_head(len(report.labels), options.hidden).to(device)
    optimizer = torch.optim.AdamW(head.parameters(), lr=options.lr, weight_decay=1e-2)
    scheduler = torch.optim.lr_scheduler.CosineAnnealingLR(optimizer, T_max=max(1, options.epochs))
    generator = torch.Generator().manual_seed(options.seed)
    history: list[dict[str, Any]] = []
    progress.stage("train temporal head", options.epochs)
    for epoch in range(1, options.epochs + 1):
        head.train()
        order = torch.randperm(len(x), generator=generator).to(device)
        loss_sum, correct = 0.0, 0
        for offset in range(0, len(order), options.batch_size):
            idx = order[offset : offset + options.batch_size]
            # Feature noise: the windows of one clip are near-copies, so jitter them a little.
            batch = x[idx] + 0.05 * torch.randn_like(x[idx]) * x[idx].std()
            logits = head(batch)
            loss = torch.nn.functional.cross_entropy(
                logits, y[idx], weight=weights, label_smoothing=0.1
            )
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
            loss_sum += float(loss.detach()) * len(idx)
            correct += int((logits.argmax(1) == y[idx]).sum())
        scheduler.step()
        record = {
            "epoch": epoch,
            "stage": "train",
            "train_loss": round(loss_sum / len(x), 5),
            "train_accuracy": round(correct / len(x), 4),
            "seconds": round(time.perf_counter() - started, 1),
        }
        history.append(record)
        progress.advance(epoch=epoch, loss=record["train_loss"], acc=record["train_accuracy"])

    head = head.to("cpu").eval()
    window_example = torch.from_numpy(windows_of(embedded[0][0], options.window, stride)[:4])
    head_bytes = export_onnx(head, window_example, input_name="window", output_names=("logits",))
    head_parity = measure_parity(head_bytes, head, window_example.numpy(), input_name="window")
    probe_frames = read_frames(report.clips[0].path)[:4]
    probe = np.stack([to_tensor(f, spec) for f in probe_frames])
    provenance = {
        "clips_per_label": report.counts(),
        "n_train_clips": len(train_idx),
        "n_train_windows": len(x),
        **backbone_provenance(),
        "backbone_trained": False,
    }

    def score(engine: EngineLike) -> dict[str, Any]:
        if not val_idx:
            return {}
        predicted = [
            engine.manifest.labels.index(
                classify_clip(engine, read_frames(report.clips[i].path))["label"]
            )
            for i in val_idx
        ]
        evaluated = classification_metrics(
            np.array([labels_all[i] for i in val_idx]), np.array(predicted), report.labels
        )
        return {**evaluated, "n_clips": len(val_idx), "evaluated_on": "validation"}

    return package_model(
        model=embedder,
        out=out_dir,
        task="activity",
        labels=report.labels,
        spec=spec,
        outputs=[OutputSpec(name="embedding", kind="embedding", decode="window")],
        probe=probe,
        report=report,
        options=options,
        provenance=provenance,
        task_params={"window": options.window, "fps_trained": _typical_fps(report)},
        history=history,
        progress=progress,
        started=started,
        score=score,
        extra_files={HEAD_FILE: head_bytes},
        extra_parity=head_parity,
    )


def _typical_fps(report: ClipReport) -> float:
    rates = [c.fps for c in report.clips if c.fps > 0]
    return round(float(np.median(rates)), 2) if rates else 0.0


register_trainer(
    Trainer(
        task="activity",
        options=ActivityOptions,
        run=train_activity,
        headline=("accuracy",),
        no_resume=(
            "the temporal head trains in seconds on embeddings computed once; "
            "rerun without --resume"
        ),
    )
)
