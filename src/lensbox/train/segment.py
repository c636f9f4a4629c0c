"""Train a semantic-segmentation model on the ImageNet MobileNetV2 backbone, on a CPU.

The head is LR-ASPP (the "lite reduced ASPP" of the MobileNetV3 paper, as torchvision builds
it): the stride-32 features are squeezed and gated by their global average (cheap context), then
added to a projection of the stride-8 features for detail. Why: it is the segmentation head
designed for mobile backbones, a few thousand multiply-adds per pixel, so the device runs it at
video rates. The graph ends with a bilinear upsample to the input size, so its ``logits`` are
per input pixel, the usual form for segmentation ONNX models.

Training crops random windows from rescaled, flipped, colour-jittered images (small crops are
what make a CPU epoch take seconds). The loss is cross-entropy weighted towards rare classes
(the square root of SegNet's median-frequency balancing), because mIoU counts a pole as much as
the road. The first four backbone blocks stay frozen and BatchNorm keeps ImageNet statistics.
"""

from __future__ import annotations

import math
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from functools import partial
from pathlib import Path
from typing import Any

import numpy as np

from lensbox._optional import require
from lensbox.data.segmentation import (
    SegmentationReport,
    SegmentationSample,
    read_mask,
    scan_segmentation,
)
from lensbox.errors import TrainError
from lensbox.manifest import IMAGENET_MEAN, IMAGENET_STD, InputSpec, OutputSpec
from lensbox.preprocess import resize_for, to_tensor
from lensbox.tasks import EngineLike
from lensbox.tasks.segment import segmentation_confusion, segmentation_metrics
from lensbox.train.callbacks import Checkpointer, QuietProgress, TrainProgress
from lensbox.train.loop import (
    TrainOptions,
    freeze_batchnorm,
    held_out_split,
    option,
    prefetched,
    resolve_device,
    resume_from,
    save_epoch,
    warmup_cosine,
)
from lensbox.train.packaging import backbone_provenance, package_model
from lensbox.train.registry import Trainer, TrainResult, register_trainer

FROZEN_BLOCKS = 4
IGNORE = 255


@dataclass
class SegmentOptions(TrainOptions):
    epochs: int = option(40, "training epochs")
    image_size: int = option(480, "input width (a multiple of 32); the height follows the data")
    crop: int = option(288, "side of the random training crops (a multiple of 32)")
    batch_size: int = option(8, "crops per step")
    split: str = option("train,val", "split(s) to train on where the data defines them")
    eval_split: str = option("test", "split scored after training, never trained on")
    ignore_index: int | None = option(
        None, "mask value of a void class, left out of the loss and the metrics"
    )
    lr: float = option(2e-3, "learning rate of the head")
    backbone_lr: float = option(5e-4, "learning rate of the fine-tuned backbone blocks")
    val_fraction: float = option(0.0, "share held out for scoring when the data has no test split")


def class_mapping(labels: list[str], ignore_index: int | None) -> tuple[list[str], np.ndarray]:
    """Model labels (the dataset's minus the ignored class) and a 256-entry lookup table from
    mask values to model indices (255 = ignore)."""
    if ignore_index is not None and not 0 <= ignore_index <= 255:
        raise TrainError(f"--ignore-index must be 0..255, got {ignore_index}")
    lut = np.full(256, IGNORE, dtype=np.uint8)
    kept: list[str] = []
    for index, name in enumerate(labels):
        if index == ignore_index:
            continue
        lut[index] = len(kept)
        kept.append(name)
    return kept, lut


def build_segmenter(num_classes: int) -> Any:
    torch = require("torch", extra="train")
    from lensbox.train.backbones import mobilenet_v2_imagenet

    nn = torch.nn
    features = mobilenet_v2_imagenet().features

    class Segmenter(nn.Module):  # type: ignore[name-defined]
        def __init__(self) -> None:
            super().__init__()
            self.stem = features[:FROZEN_BLOCKS]  # stride 4
            self.low = features[FROZEN_BLOCKS:7]  # stride 8, 32 channels
            self.high = features[7:18]  # stride 32, 320 channels
            self.cbr = nn.Sequential(
                nn.Conv2d(320, 128, 1, bias=False), nn.BatchNorm2d(128), nn.ReLU(inplace=True)
            )
            self.scale = nn.Sequential(
                nn.AdaptiveAvgPool2d(1), nn.Conv2d(320, 128, 1, bias=False), nn.Sigmoid()
            )
            self.mid = nn.Sequential(
                nn.Conv2d(96, 64, 1, bias=False), nn.BatchNorm2d(64), nn.ReLU(inplace=True)
            )
            self.low_classifier = nn.Conv2d(32, num_classes, 1)
            self.mid_classifier = nn.Conv2d(64, num_classes, 1)
            self.high_classifier = nn.Conv2d(128, num_classes, 1)

        def forward(self, x: Any) -> Any:
            f = nn.functional
            low = self.low(self.stem(x))
            mid = self.high[:7](low)  # stride 16, 96 channels
            high = self.high[7:](mid)
            context = self.cbr(high) * self.scale(high)
            y = f.interpolate(
                self.high_classifier(context),
                size=mid.shape[-2:],
                mode="bilinear",
                align_corners=False,
            )
            y = y + self.mid_classifier(self.mid(mid))
            y = f.interpolate(y, size=low.shape[-2:], mode="bilinear", align_corners=False)
            y = y + self.low_classifier(low)
            return f.interpolate(y, size=x.shape[-2:], mode="bilinear", align_corners=False)

    model = Segmenter()
    for parameter in model.stem.parameters():
        parameter.requires_grad_(False)
    return model


def spec_for(
    report: SegmentationReport, samples: list[SegmentationSample], width: int
) -> InputSpec:
    """Input size: ``width`` wide, the data's typical aspect ratio, both multiples of 32."""
    from PIL import Image

    ratios = []
    for sample in samples[:50]:
        with Image.open(sample.image) as image:
            ratios.append(image.size[1] / image.size[0])
    height = max(32, round(width * float(np.median(ratios)) / 32) * 32)
    return InputSpec(height=height, width=width, mean=IMAGENET_MEAN, std=IMAGENET_STD)


def load_pair(
    sample: SegmentationSample, spec: InputSpec, colours: Any, lut: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """Photo and mask at the model's input size (the photo exactly as the device resizes it)."""
    cv2 = require("cv2", extra="runtime")
    from lensbox.data.images import load_rgb

    image = resize_for(load_rgb(sample.image), spec)
    mask = lut[read_mask(sample.mask, colours)]
    mask = cv2.resize(mask, (spec.width, spec.height), interpolation=cv2.INTER_NEAREST)
    return image, mask


def _augment(
    image: np.ndarray, mask: np.ndarray, crop: int, rng: np.random.Generator
) -> tuple[np.ndarray, np.ndarray]:
    cv2 = require("cv2", extra="runtime")
    scale = rng.uniform(0.75, 1.5)
    height, width = image.shape[:2]
    new_w, new_h = max(crop, round(width * scale)), max(crop, round(height * scale))
    image = cv2.resize(image, (new_w, new_h), interpolation=cv2.INTER_LINEAR)
    mask = cv2.resize(mask, (new_w, new_h), interpolation=cv2.INTER_NEAREST)
    top = int(rng.integers(0, new_h - crop + 1))
    left = int(rng.integers(0, new_w - crop + 1))
    image = image[top : top + crop, left : left + crop]
    mask = mask[top : top + crop, left : left + crop]
    if rng.random() < 0.5:
        image, mask = image[:, ::-1], mask[:, ::-1]
    jitter = image.astype(np.float32)
    mean = jitter.mean()
    jitter = (jitter - mean) * rng.uniform(0.8, 1.2) + mean * rng.uniform(0.8, 1.2)
    return np.clip(jitter, 0, 255).astype(np.uint8), np.ascontiguousarray(mask)


def class_weights(masks: list[np.ndarray], n: int) -> np.ndarray:
    """sqrt of median-frequency balancing, capped, so rare classes count without dominating."""
    counts = np.zeros(n, dtype=np.float64)
    for mask in masks:
        counts += np.bincount(mask.reshape(-1), minlength=256)[:n]
    freq = counts / max(1.0, counts.sum())
    present = freq > 0
    weights = np.ones(n, dtype=np.float64)
    weights[present] = np.sqrt(np.median(freq[present]) / freq[present])
    return np.clip(weights, 0.3, 4.0).astype(np.float32)


def train_segmenter(
    root: str | Path,
    out: str | Path,
    options: SegmentOptions | None = None,
    progress: TrainProgress | None = None,
) -> TrainResult:
    """Train, export and package a segmenter; see the module docstring for the recipe."""
    options = options or SegmentOptions()
    progress = progress or QuietProgress()
    started = time.perf_counter()
    out_dir = Path(out)
    if options.image_size % 32 or options.crop % 32:
        raise TrainError("--image-size and the crop must be multiples of 32 for segmentation")
    report = scan_segmentation(root, options.ignore_index)
    report.raise_if_unusable()
    torch = require("torch", extra="train")  # after the data check: bad data fails fast
    for problem in report.problems:
        progress.message(f"skipped: {problem.message}")
    labels, lut = class_mapping(report.labels, options.ignore_index)
    train_samples, held, held_name = held_out_split(report, options)
    spec = spec_for(report, train_samples, options.image_size)
    device = resolve_device(options.device)
    torch.manual_seed(options.seed)
    model = build_segmenter(len(labels)).to(device)

    progress.stage("decode images", len(train_samples))
    pairs: list[tuple[np.ndarray, np.ndarray]] = []
    with ThreadPoolExecutor(max_workers=max(1, options.workers)) as pool:
        for pair in pool.map(lambda s: load_pair(s, spec, report.colours, lut), train_samples):
            pairs.append(pair)
            progress.advance()
    weights = torch.from_numpy(class_weights([m for _, m in pairs], len(labels))).to(device)
    crop = min(options.crop, spec.height, spec.width)

    trainable = [p for p in model.parameters() if p.requires_grad]
    backbone_ids = {id(p) for m in (model.low, model.high) for p in m.parameters()}
    optimizer = torch.optim.AdamW(
        [
            {"params": [p for p in trainable if id(p) in backbone_ids], "lr": options.backbone_lr},
            {"params": [p for p in trainable if id(p) not in backbone_ids], "lr": options.lr},
        ],
        weight_decay=1e-4,
    )
    steps_per_epoch = math.ceil(len(pairs) / options.batch_size)
    total_steps = options.epochs * steps_per_epoch
    scheduler = warmup_cosine(optimizer, total_steps, min(steps_per_epoch, total_steps // 4))
    checkpoints = Checkpointer(out_dir / "checkpoints")
    fingerprint = report.fingerprint()
    resumed = resume_from(checkpoints, options, fingerprint, model, optimizer, scheduler, progress)
    history, start_epoch = resumed.history, resumed.start_epoch

    crop_spec = spec.model_copy(update={"height": crop, "width": crop})

    def make_batch(indices: np.ndarray, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
        views = [_augment(*pairs[int(i)], crop, rng) for i in indices]
        return np.stack([to_tensor(v, crop_spec) for v, _ in views]), np.stack(
            [m for _, m in views]
        )

    model.to(memory_format=torch.channels_last)
    progress.stage("train segmenter", max(0, options.epochs - start_epoch + 1))
    for epoch in range(start_epoch, options.epochs + 1):
        torch.manual_seed(options.seed * 1000 + epoch)
        rng = np.random.default_rng([options.seed, epoch])
        order = rng.permutation(len(pairs))
        batches = [
            order[i : i + options.batch_size] for i in range(0, len(order), options.batch_size)
        ]
        model.train()
        for backbone_part in (model.stem, model.low, model.high):  # the head's BN learns
            freeze_batchnorm(backbone_part)
        loss_sum, correct, counted = 0.0, 0, 0
        for images, masks in prefetched(batches, partial(make_batch, rng=rng)):
            x = torch.from_numpy(images).to(device).to(memory_format=torch.channels_last)
            y = torch.from_numpy(masks.astype(np.int64)).to(device)
            logits = model(x)
            loss = torch.nn.functional.cross_entropy(logits, y, weight=weights, ignore_index=IGNORE)
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
            scheduler.step()
            loss_sum += float(loss.detach())
            valid = y != IGNORE
            correct += int((logits.argmax(1)[valid] == y[valid]).sum())
            counted += int(valid.sum())
        record = {
            "epoch": epoch,
            "stage": "train",
            "train_loss": round(loss_sum / len(batches), 5),
            "train_accuracy": round(correct / max(1, counted), 4),
            "lr": scheduler.get_last_lr()[-1],
            "seconds": round(time.perf_counter() - started, 1),
        }
        history.append(record)
        save_epoch(
            checkpoints, options, fingerprint, labels, epoch, model, optimizer, scheduler, history
        )
        progress.advance(epoch=epoch, loss=record["train_loss"], acc=record["train_accuracy"])

    model.to(memory_format=torch.contiguous_format).eval()
    probe_source = [load_pair(s, spec, report.colours, lut) for s in held[:4]] or pairs
    probe = np.stack([to_tensor(image, spec) for image, _ in probe_source[:4]])
    provenance = {
        "train_split": options.split,
        "n_train": len(train_samples),
        "ignore_index": options.ignore_index,
        "class_weights": [round(float(w), 3) for w in weights.cpu()],
        **backbone_provenance(),
        "epochs_run": len(history),
    }
    colours = report.colours
    task_params: dict[str, Any] = {"include_mask": False}
    if colours:
        task_params["colours"] = [
            list(c) for i, c in enumerate(colours) if i != options.ignore_index
        ]

    def score(engine: EngineLike) -> dict[str, Any]:
        if not held:
            return {}
        confusion = segmentation_confusion(engine, report.colours, lut, held)
        return {
            **segmentation_metrics(confusion, labels),
            "evaluated_on": held_name,
            "n_images": len(held),
            "evaluated_with": "onnxruntime, at each mask's own resolution",
        }

    return package_model(
        model=model,
        out=out_dir,
        task="segment",
        labels=labels,
        spec=spec,
        outputs=[OutputSpec(name="logits", kind="logits", decode="argmax")],
        probe=probe,
        report=report,
        options=options,
        provenance=provenance,
        task_params=task_params,
        history=history,
        progress=progress,
        started=started,
        score=score,
    )


register_trainer(
    Trainer(
        task="segment",
        options=SegmentOptions,
        run=train_segmenter,
        headline=("miou", "pixel_accuracy"),
    )
)
