"""Evaluate a model package on labelled data with onnxruntime: the artefact a device runs.

Classes are matched by name, so a folder whose classes are in another order, or a subset of
the model's classes, evaluates correctly; a class the model does not know is an error.
"""

from __future__ import annotations

import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import numpy as np

from lensbox.data.imagefolder import scan_imagefolder
from lensbox.data.images import load_rgb
from lensbox.errors import DataError, LabelError
from lensbox.preprocess import to_tensor


def refuse_unknown(root: str | Path, found: list[str], labels: list[str], what: str) -> None:
    """Labels in the data that the model does not know make every score meaningless."""
    unknown = sorted(set(found) - set(labels))
    if unknown:
        shown = ", ".join(labels[:12]) + (" ..." if len(labels) > 12 else "")
        raise LabelError(
            f"{root}: {what} {unknown} are not labels of the model (it knows {shown}); "
            "rename or remove them, or evaluate another model"
        )


def model_info(engine: Any) -> dict[str, Any]:
    return {"name": engine.name, "sha256": engine.sha256, "task": engine.manifest.task}


def evaluate_classifier(
    package_path: str | Path, root: str | Path, batch_size: int = 32, threads: int | None = None
) -> dict[str, Any]:
    from lensbox.runtime.engine import Engine
    from lensbox.tasks.classify import classification_metrics

    engine = Engine.open(package_path, threads=threads)
    labels = engine.manifest.labels
    report = scan_imagefolder(root)
    if not report.samples:
        raise DataError(f"{root}: no usable images to evaluate on")
    refuse_unknown(root, report.labels, labels, "class folder(s)")
    to_model = {i: labels.index(name) for i, name in enumerate(report.labels)}
    y_true = np.array([to_model[s.label] for s in report.samples], dtype=np.int64)
    spec = engine.manifest.input

    def prepare(path: Path) -> np.ndarray:
        return to_tensor(load_rgb(path), spec, "rgb")

    predictions: list[int] = []
    infer_seconds = 0.0
    start = time.perf_counter()
    with ThreadPoolExecutor(max_workers=2) as pool:
        paths = [s.path for s in report.samples]
        for offset in range(0, len(paths), batch_size):
            batch = np.stack(list(pool.map(prepare, paths[offset : offset + batch_size])))
            t0 = time.perf_counter()
            logits = engine.run(batch)[0]
            infer_seconds += time.perf_counter() - t0
            predictions.extend(int(i) for i in np.argmax(logits, axis=1))
    wall = time.perf_counter() - start
    metrics = classification_metrics(y_true, np.array(predictions, dtype=np.int64), labels)
    skipped = [p.to_dict() for p in report.problems]
    return {
        **metrics,
        "n_images": len(y_true),
        "images_per_second": round(len(y_true) / wall, 2),
        "inference_images_per_second": round(len(y_true) / infer_seconds, 2),
        "model": model_info(engine),
        "data": str(root),
        "skipped": skipped,
    }


def _default_split(splits: list[str], asked: str | None) -> str:
    """``evaluate`` scores the test split of a dataset that has one, unless told otherwise."""
    if asked:
        return asked
    return "test" if "test" in splits else "all"


def predict_boxes(
    engine: Any, samples: list[Any], threshold: float = 0.01
) -> list[tuple[np.ndarray, np.ndarray, np.ndarray]]:
    """(boxes, scores, classes) per detection sample, in its image's pixels, through the task's
    own decoder; a low threshold, as COCO mAP wants the whole ranking."""
    from lensbox.data.detection import load_sample
    from lensbox.tasks.detect import decode_detections

    spec = engine.manifest.input
    predictions = []
    with ThreadPoolExecutor(max_workers=2) as pool:
        for image in pool.map(lambda s: load_sample(s, 100_000).image, samples):
            outputs = engine.run(to_tensor(image, spec, "rgb")[None])
            dets = decode_detections(outputs, engine.manifest, image.shape[:2], threshold)[
                "detections"
            ]
            predictions.append(
                (
                    np.array([d["box"] for d in dets], dtype=np.float32).reshape(-1, 4),
                    np.array([d["score"] for d in dets], dtype=np.float32),
                    np.array([d["class_index"] for d in dets], dtype=np.int64),
                )
            )
    return predictions


def segmentation_confusion(
    engine: Any, colours: Any, lut: np.ndarray, samples: list[Any]
) -> np.ndarray:
    """Confusion matrix over every non-ignored mask pixel (``lut`` maps mask values to model
    classes, 255 = ignore), with predictions scaled to each mask's own resolution."""
    import cv2

    from lensbox.data.images import load_rgb
    from lensbox.data.segmentation import read_mask

    n = len(engine.manifest.labels)
    spec = engine.manifest.input
    confusion = np.zeros((n, n), dtype=np.int64)

    def load(sample: Any) -> tuple[np.ndarray, np.ndarray]:
        return load_rgb(sample.image), lut[read_mask(sample.mask, colours)]

    with ThreadPoolExecutor(max_workers=2) as pool:
        for image, mask in pool.map(load, samples):
            logits = engine.run(to_tensor(image, spec, "rgb")[None])[0][0]
            height, width = mask.shape
            if (logits.shape[1], logits.shape[2]) != (height, width):
                # Bilinear on the scores, then argmax: finer borders than resizing labels.
                resized = cv2.resize(
                    np.ascontiguousarray(logits.transpose(1, 2, 0)),
                    (width, height),
                    interpolation=cv2.INTER_LINEAR,
                )
                predicted = resized.reshape(height, width, n).argmax(axis=2)
            else:
                predicted = logits.argmax(axis=0)
            valid = mask != 255
            confusion += np.bincount(
                mask[valid].astype(np.int64) * n + predicted[valid], minlength=n * n
            ).reshape(n, n)
    return confusion


def evaluate_detector(
    package_path: str | Path, root: str | Path, split: str | None = None, threads: int | None = None
) -> dict[str, Any]:
    """COCO mAP of a detection package on a dataset (VOC, YOLO or COCO), boxes by class name."""
    from lensbox.data.detection import scan_detection
    from lensbox.runtime.engine import Engine
    from lensbox.tasks.detect import detection_metrics

    engine = Engine.open(package_path, threads=threads)
    labels = engine.manifest.labels
    report = scan_detection(root)
    report.raise_if_unusable()
    chosen = _default_split(report.splits, split)
    samples = report.select(chosen)
    refuse_unknown(
        root, [report.labels[int(c)] for s in samples for c in s.classes], labels, "class(es)"
    )
    to_model = np.array([labels.index(n) if n in labels else -1 for n in report.labels])
    start = time.perf_counter()
    predictions = predict_boxes(engine, samples)
    wall = time.perf_counter() - start
    truth = [(s.boxes, to_model[s.classes]) for s in samples]
    metrics = detection_metrics(truth, predictions, labels)
    return {
        **metrics,
        "n_images": len(samples),
        "split": chosen,
        "images_per_second": round(len(samples) / wall, 2) if wall else 0.0,
        "model": model_info(engine),
        "data": str(root),
        "skipped": [p.to_dict() for p in report.problems],
    }


def evaluate_segmenter(
    package_path: str | Path,
    root: str | Path,
    split: str | None = None,
    ignore_index: int | None = None,
    threads: int | None = None,
) -> dict[str, Any]:
    """mIoU, per-class IoU and pixel accuracy, scored at each mask's own resolution."""
    from lensbox.data.segmentation import scan_segmentation
    from lensbox.runtime.engine import Engine
    from lensbox.tasks.segment import segmentation_metrics

    engine = Engine.open(package_path, threads=threads)
    labels = engine.manifest.labels
    if ignore_index is None:
        ignore_index = engine.manifest.provenance.get("ignore_index")
    report = scan_segmentation(root, ignore_index)
    report.raise_if_unusable()
    chosen = _default_split(report.splits, split)
    samples = report.select(chosen)
    lut = np.full(256, 255, dtype=np.uint8)
    unknown = []
    for index, name in enumerate(report.labels):
        if index == ignore_index:
            continue
        if name in labels:
            lut[index] = labels.index(name)
        else:
            unknown.append(name)
    if unknown:
        raise LabelError(
            f"{root}: class(es) {unknown} are not labels of the model (it knows {labels}); "
            "pass --ignore-index for a void class"
        )
    start = time.perf_counter()
    confusion = segmentation_confusion(engine, report.colours, lut, samples)
    wall = time.perf_counter() - start
    return {
        **segmentation_metrics(confusion, labels),
        "n_images": len(samples),
        "split": chosen,
        "ignore_index": ignore_index,
        "confusion_matrix": confusion.tolist(),
        "labels": labels,
        "images_per_second": round(len(samples) / wall, 2) if wall else 0.0,
        "model": model_info(engine),
        "data": str(root),
        "skipped": [p.to_dict() for p in report.problems],
    }


def evaluate_activity(
    package_path: str | Path, root: str | Path, threads: int | None = None
) -> dict[str, Any]:
    """Clip accuracy and per-class precision/recall: each clip scored on all its windows."""
    from lensbox.data.clips import read_frames, scan_clips
    from lensbox.runtime.engine import Engine
    from lensbox.tasks.activity import classify_clip
    from lensbox.tasks.classify import classification_metrics

    engine = Engine.open(package_path, threads=threads)
    labels = engine.manifest.labels
    report = scan_clips(root)
    if not report.clips:
        raise DataError(f"{root}: no readable clips to evaluate on")
    refuse_unknown(root, report.labels, labels, "label folder(s)")
    y_true, y_pred, clips = [], [], []
    start = time.perf_counter()
    for clip in report.clips:
        outcome = classify_clip(engine, read_frames(clip.path))
        y_true.append(labels.index(report.labels[clip.label]))
        y_pred.append(labels.index(outcome["label"]))
        clips.append({"path": str(clip.path), "label": report.labels[clip.label], **outcome})
    wall = time.perf_counter() - start
    metrics = classification_metrics(np.array(y_true), np.array(y_pred), labels)
    return {
        **metrics,
        "n_clips": len(clips),
        "clips_per_second": round(len(clips) / wall, 2) if wall else 0.0,
        "clips": clips,
        "model": model_info(engine),
        "data": str(root),
        "skipped": [p.to_dict() for p in report.problems],
    }
