"""Object detection: several boxes, several classes per frame.

Results carry boxes in *source-frame* pixels (``[x1, y1, x2, y2]``), whatever size the model
ran at, so a user function can compare them with the frame it sees. Decoding knows three output
formats, named by the manifest's first output ``decode``:

* ``centernet``: lensbox's own detector. ``heatmap`` (N, C, h, w) is already sigmoid'ed and
  peak-filtered inside the graph; ``boxes`` (N, 4, h, w) holds left/top/right/bottom distances
  in input pixels from each cell's centre.
* ``yolov8``: one ``(N, 4 + C, A)`` tensor of centre-size boxes in input pixels and class
  scores (Ultralytics' ONNX export); NMS runs here.
* ``boxes``: post-NMS ``boxes`` (N, K, 4 as x1 y1 x2 y2), ``scores`` (N, K), ``classes`` (N, K),
  in input pixels or, when ``task_params.normalized`` is true, 0..1.
"""

from __future__ import annotations

import contextlib
import io
from pathlib import Path
from typing import Any

import numpy as np

from lensbox.boxes import nms
from lensbox.data.layout import Layout, register_layout
from lensbox.errors import PackageError
from lensbox.manifest import OutputSpec
from lensbox.tasks._base import (
    EngineLike,
    Evaluator,
    ImportProbe,
    Task,
    register_evaluator,
    register_task,
)
from lensbox.tasks._labels import refuse_unknown

DEFAULT_SCORE_THRESHOLD = 0.3
DEFAULT_NMS_IOU = 0.6


def peaks(heatmap: np.ndarray) -> np.ndarray:
    """Keep only cells that are the maximum of their 3x3 neighbourhood (CenterNet's "NMS")."""
    padded = np.pad(heatmap, ((0, 0), (1, 1), (1, 1)), constant_values=-np.inf)
    height, width = heatmap.shape[1:]
    neighbourhood = np.max(
        [padded[:, dy : dy + height, dx : dx + width] for dy in range(3) for dx in range(3)],
        axis=0,
    )
    return np.where(heatmap >= neighbourhood, heatmap, 0.0)


def _centernet(
    outputs: list[np.ndarray], input_hw: tuple[int, int], k: int
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    heatmap, distances = outputs[0][0], outputs[1][0]
    _, height, width = heatmap.shape
    flat = peaks(heatmap).reshape(-1)
    k = min(k, flat.size)
    top = np.argpartition(-flat, k - 1)[:k]
    scores = flat[top]
    classes = top // (height * width)
    cell = top % (height * width)
    ys, xs = cell // width, cell % width
    stride_y, stride_x = input_hw[0] / height, input_hw[1] / width
    cx, cy = (xs + 0.5) * stride_x, (ys + 0.5) * stride_y
    ltrb = distances[:, ys, xs] * np.array([input_hw[1], input_hw[0]] * 2, np.float32)[:, None]
    boxes = np.stack([cx - ltrb[0], cy - ltrb[1], cx + ltrb[2], cy + ltrb[3]], axis=1)
    return boxes, scores, classes


def _yolov8(
    outputs: list[np.ndarray], k: int, n_classes: int
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    raw = outputs[0][0]  # (4 + C, A), or (A, 4 + C) from some exporters
    if raw.shape[0] != 4 + n_classes and raw.shape[1] == 4 + n_classes:
        raw = raw.T
    class_scores = raw[4:]
    classes = class_scores.argmax(axis=0)
    scores = class_scores[classes, np.arange(class_scores.shape[1])]
    top = np.argsort(-scores)[: k * 10]
    cx, cy, w, h = raw[0, top], raw[1, top], raw[2, top], raw[3, top]
    boxes = np.stack([cx - w / 2, cy - h / 2, cx + w / 2, cy + h / 2], axis=1)
    return boxes, scores[top], classes[top]


def _post_nms(
    outputs: list[np.ndarray], input_hw: tuple[int, int], normalized: bool
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    boxes = np.asarray(outputs[0]).reshape(-1, 4).astype(np.float32)
    scores = np.asarray(outputs[1]).reshape(-1)
    classes = np.asarray(outputs[2]).reshape(-1).astype(np.int64)
    if normalized:
        boxes = boxes * np.array([input_hw[1], input_hw[0]] * 2, dtype=np.float32)
    return boxes, scores, classes


def count_labels(detections: list[dict[str, Any]]) -> dict[str, int]:
    counts: dict[str, int] = {}
    for det in detections:
        name = str(det["label"])
        counts[name] = counts.get(name, 0) + 1
    return counts


def decode_detections(
    outputs: list[np.ndarray],
    manifest: Any,
    frame_size: tuple[int, int],
    score_threshold: float | None = None,
) -> dict[str, Any]:
    """One image's raw outputs -> its detections in frame pixels, best first."""
    params = manifest.task_params
    threshold = float(params.get("score_threshold", DEFAULT_SCORE_THRESHOLD))
    if score_threshold is not None:
        threshold = score_threshold
    max_det = int(params.get("max_detections", 100))
    input_hw = (manifest.input.height, manifest.input.width)
    style = manifest.outputs[0].decode
    if style == "yolov8":
        boxes, scores, classes = _yolov8(outputs, max_det, len(manifest.labels))
    elif style == "boxes":
        boxes, scores, classes = _post_nms(outputs, input_hw, bool(params.get("normalized")))
    else:
        boxes, scores, classes = _centernet(outputs, input_hw, max_det)
    keep = scores >= threshold
    boxes, scores, classes = boxes[keep], scores[keep], classes[keep]
    if style != "boxes" and len(scores):
        kept = nms(boxes, scores, classes, float(params.get("nms_iou", DEFAULT_NMS_IOU)))
        boxes, scores, classes = boxes[kept], scores[kept], classes[kept]
    order = np.argsort(-scores)[:max_det]
    height, width = frame_size
    scale = np.array([width / input_hw[1], height / input_hw[0]] * 2, dtype=np.float32)
    boxes = np.clip(boxes[order] * scale, 0, [width, height, width, height])
    labels = manifest.labels
    detections = [
        {
            "label": labels[int(c)] if 0 <= int(c) < len(labels) else str(int(c)),
            "class_index": int(c),
            "score": round(float(s), 4),
            "box": [round(float(v), 1) for v in b],
        }
        for b, s, c in zip(boxes, scores[order], classes[order], strict=True)
    ]
    return {
        "detections": detections,
        "counts": count_labels(detections),
        "n_detections": len(detections),
        "frame_size": [width, height],
    }


def _colour(index: int) -> tuple[int, int, int]:
    """A stable, distinct BGR colour per class (golden-ratio hue steps)."""
    import colorsys

    r, g, b = colorsys.hsv_to_rgb((index * 0.618034) % 1.0, 0.85, 0.95)
    return int(b * 255), int(g * 255), int(r * 255)


def detection_metrics(
    ground_truth: list[tuple[np.ndarray, np.ndarray]],
    predictions: list[tuple[np.ndarray, np.ndarray, np.ndarray]],
    labels: list[str],
) -> dict[str, Any]:
    """COCO mAP@0.5 and mAP@0.5:0.95 with pycocotools, overall and per class.

    ``ground_truth`` is per image (boxes xyxy, classes); ``predictions`` per image (boxes xyxy,
    scores, classes). Classes with no ground-truth box are left out of the means, as COCO does.
    """
    from lensbox._optional import require

    require("pycocotools", extra="runtime")
    from pycocotools.coco import COCO
    from pycocotools.cocoeval import COCOeval

    images: list[dict[str, Any]] = []
    annotations: list[dict[str, Any]] = []
    detections: list[dict[str, Any]] = []
    for image_id, ((gt_boxes, gt_classes), (boxes, scores, classes)) in enumerate(
        zip(ground_truth, predictions, strict=True), start=1
    ):
        images.append({"id": image_id, "width": 1, "height": 1})
        for box, cls in zip(gt_boxes, gt_classes, strict=True):
            x1, y1, x2, y2 = (float(v) for v in box)
            annotations.append(
                {
                    "id": len(annotations) + 1,
                    "image_id": image_id,
                    "category_id": int(cls) + 1,
                    "bbox": [x1, y1, x2 - x1, y2 - y1],
                    "area": (x2 - x1) * (y2 - y1),
                    "iscrowd": 0,
                }
            )
        for box, score, cls in zip(boxes, scores, classes, strict=True):
            x1, y1, x2, y2 = (float(v) for v in box)
            detections.append(
                {
                    "image_id": image_id,
                    "category_id": int(cls) + 1,
                    "bbox": [x1, y1, x2 - x1, y2 - y1],
                    "score": float(score),
                }
            )
    n_boxes = np.zeros(len(labels), dtype=np.int64)
    for _, gt_classes in ground_truth:
        np.add.at(n_boxes, np.asarray(gt_classes, dtype=np.int64), 1)
    per_class: dict[str, dict[str, float | int]] = {}
    if not annotations:
        return {"map50": 0.0, "map50_95": 0.0, "per_class": per_class, "n_boxes": 0}
    with contextlib.redirect_stdout(io.StringIO()):
        coco_gt = COCO()
        coco_gt.dataset = {
            "images": images,
            "annotations": annotations,
            "categories": [{"id": i + 1, "name": name} for i, name in enumerate(labels)],
        }
        coco_gt.createIndex()
        coco_dt = coco_gt.loadRes(detections) if detections else COCO()
        if not detections:
            coco_dt.dataset = {"images": images, "annotations": [], "categories": []}
            coco_dt.createIndex()
        evaluator = COCOeval(coco_gt, coco_dt, iouType="bbox")
        evaluator.params.maxDets = [1, 10, 100]
        evaluator.evaluate()
        evaluator.accumulate()
        evaluator.summarize()
    precision = evaluator.eval["precision"]  # [IoU, recall, class, area, maxDets]

    def ap(cls: int | None, iou_index: int | None) -> float:
        p = (
            precision[:, :, :, 0, -1]
            if iou_index is None
            else precision[iou_index : iou_index + 1, :, :, 0, -1]
        )
        p = p if cls is None else p[:, :, cls : cls + 1]
        valid = p[p > -1]
        return float(valid.mean()) if valid.size else 0.0

    present = [i for i in range(len(labels)) if n_boxes[i] > 0]
    for i in present:
        per_class[labels[i]] = {
            "ap50": round(ap(i, 0), 4),
            "ap50_95": round(ap(i, None), 4),
            "n_boxes": int(n_boxes[i]),
        }
    return {
        "map50": round(float(np.mean([ap(i, 0) for i in present])), 4),
        "map50_95": round(float(np.mean([ap(i, None) for i in present])), 4),
        "per_class": per_class,
        "n_boxes": int(n_boxes.sum()),
    }


class DetectTask(Task):
    name = "detect"
    description = "object detection: labelled boxes, several per image"
    import_formats = "YOLOv8-style (1, 4 + C, A), or post-NMS boxes + scores + classes"

    def decode(
        self, outputs: list[np.ndarray], manifest: Any, frame_size: tuple[int, int]
    ) -> list[dict[str, Any]]:
        return [decode_detections(outputs, manifest, frame_size)]

    def new_state(self, package: Any) -> Any:
        from lensbox.tasks.tracking import IouTracker

        return IouTracker()

    def decode_frame(
        self, outputs: list[np.ndarray], manifest: Any, frame_size: tuple[int, int], state: Any
    ) -> dict[str, Any]:
        """With ``task_params.track`` (``lensbox run --set track=true``) every detection gets
        a ``track_id`` that follows its object from frame to frame."""
        if not manifest.task_params.get("track") or state is None:
            return decode_detections(outputs, manifest, frame_size)
        # ByteTrack: detections down to half the threshold may continue a track; only those
        # above it start one.
        threshold = float(manifest.task_params.get("score_threshold", DEFAULT_SCORE_THRESHOLD))
        state.high_score, state.low_score = threshold, threshold / 2
        payload = decode_detections(outputs, manifest, frame_size, threshold / 2)
        tracked = state.update(payload["detections"])
        return {
            **payload,
            "detections": tracked,
            "counts": count_labels(tracked),
            "n_detections": len(tracked),
        }

    def draw(self, image: np.ndarray, payload: dict[str, Any], manifest: Any) -> None:
        import cv2

        from lensbox.draw import label_box

        thickness = max(2, round(min(image.shape[:2]) / 240))
        for det in payload["detections"]:
            x1, y1, x2, y2 = (round(v) for v in det["box"])
            colour = _colour(det["class_index"])
            cv2.rectangle(image, (x1, y1), (x2, y2), colour, thickness)
            text = f"{det['label']} {det['score']:.2f}"
            if "track_id" in det:
                text = f"#{det['track_id']} {text}"
            tag = max(24, round(image.shape[0] / 720 * 40))  # the label's height, about
            label_box(image, text, (x1, y1 - tag if y1 >= tag else y1 + thickness))
        counts = ", ".join(f"{n} {label}" for label, n in payload["counts"].items())
        # Bottom-left, where it cannot hide a box's own label.
        label_box(
            image,
            counts or "no detections",
            (10, image.shape[0] - max(30, round(image.shape[0] / 720 * 50))),
        )

    def summary(self, payload: dict[str, Any]) -> str:
        if not payload["detections"]:
            return "no detections"
        return "; ".join(
            f"{d['label']} {d['score']:.2f} [{', '.join(f'{v:.0f}' for v in d['box'])}]"
            for d in payload["detections"][:10]
        )

    def check_data(self, root: Path) -> Any:
        from lensbox.data.detection import scan_detection

        return scan_detection(root)

    def import_outputs(self, probe: ImportProbe) -> tuple[list[OutputSpec], dict[str, Any]]:
        path, labels_path, names, values = probe.path, probe.labels_path, probe.names, probe.values
        labels = probe.labels
        """Ultralytics-style ``(1, 4 + C, A)`` raw output, or post-NMS boxes/scores/classes."""
        params: dict[str, Any] = {
            "score_threshold": DEFAULT_SCORE_THRESHOLD,
            "nms_iou": DEFAULT_NMS_IOU,
            "max_detections": 100,
            "normalized": bool(probe.options.get("boxes_normalized", False)),
        }
        if len(values) == 1 and values[0].ndim == 3:
            rows = values[0].shape[1:]
            if len(labels) + 4 in rows:
                return [OutputSpec(name=names[0], kind="raw", decode="yolov8")], params
            raise PackageError(
                f"{path}: output {names[0]} has shape {list(values[0].shape)}; a YOLOv8-style "
                f"output needs 4 + {len(labels)} rows (one per label in {labels_path})"
            )
        if len(values) >= 3:

            def pick(*keys: str) -> str:
                for name in names:
                    if any(k in name.lower() for k in keys):
                        return name
                raise PackageError(
                    f"{path}: outputs {names}: cannot tell which holds the {keys[0]}; name them "
                    "boxes, scores and classes"
                )

            chosen = [pick("box"), pick("score", "conf"), pick("class", "label")]
            return [
                OutputSpec(name=n, kind=k, decode="boxes")
                for n, k in zip(chosen, ("boxes", "scores", "classes"), strict=True)
            ], params
        raise PackageError(
            f"{path}: outputs {names} are not a standard detection format (one (1, 4+C, A) "
            "tensor, or boxes + scores + classes)"
        )


def predict_boxes(
    engine: EngineLike, samples: list[Any], threshold: float = 0.01
) -> list[tuple[np.ndarray, np.ndarray, np.ndarray]]:
    """(boxes, scores, classes) per detection sample, in its image's pixels, through the task's
    own decoder; a low threshold, as COCO mAP wants the whole ranking."""
    from concurrent.futures import ThreadPoolExecutor

    from lensbox.data.detection import load_sample
    from lensbox.preprocess import to_tensor

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


def score_detector(
    engine: EngineLike, samples: list[Any], dataset_labels: list[str]
) -> dict[str, Any]:
    """COCO metrics of ``engine`` on ``samples`` whose classes index ``dataset_labels``
    (matched to the model's labels by name)."""
    labels = engine.manifest.labels
    to_model = np.array([labels.index(n) if n in labels else -1 for n in dataset_labels])
    truth = [(s.boxes, to_model[s.classes]) for s in samples]
    return detection_metrics(truth, predict_boxes(engine, samples), labels)


def evaluate_detector(engine: EngineLike, root: Path, split: str | None = None) -> dict[str, Any]:
    """COCO mAP of a detection package on a dataset (VOC, YOLO or COCO), boxes by class name."""
    from lensbox.data.detection import scan_detection
    from lensbox.data.splits import default_split

    labels = engine.manifest.labels
    report = scan_detection(root)
    report.raise_if_unusable()
    chosen = default_split(report.splits, split)
    samples = report.select(chosen)
    refuse_unknown(
        root, [report.labels[int(c)] for s in samples for c in s.classes], labels, "class(es)"
    )
    return {
        **score_detector(engine, samples, report.labels),
        "n_images": len(samples),
        "split": chosen,
        "skipped": [p.to_dict() for p in report.problems],
    }


def looks_like_detection(root: Path) -> bool:
    return (root / "annotations.json").is_file() or (
        (root / "images").is_dir()
        and ((root / "annotations").is_dir() or (root / "labels").is_dir())
    )


register_task(DetectTask())
register_evaluator(
    Evaluator(
        task="detect",
        run=evaluate_detector,
        options=frozenset({"split"}),
        headline=("map50", "map50_95"),
    )
)
register_layout(
    Layout(
        "detect",
        looks_like_detection,
        10,
        "images/ with annotations/ (VOC), labels/ (YOLO) or annotations.json (COCO)",
    )
)
