"""Tiny datasets in the real on-disk formats, generated so that the answers are known.

Detection: red and blue rectangles on a noisy grey background (VOC XML, YOLO txt, COCO json).
Segmentation: a sky band, a ground band and a red box, with index masks and class_dict.csv.
Activity: a white square that moves across the frame, or one that stays put.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np

DET_LABELS = ["red", "blue"]
DET_BGR = {"red": (30, 30, 220), "blue": (220, 60, 30)}


def detection_samples(n: int, seed: int = 0, size: tuple[int, int] = (160, 120)):
    """[(BGR image, boxes xyxy, class indices)]: 1-2 non-overlapping rectangles each."""
    rng = np.random.default_rng(seed)
    width, height = size
    samples = []
    for i in range(n):
        image = rng.integers(90, 150, size=(height, width, 3), dtype=np.uint8)
        boxes, classes = [], []
        for k in range(1 + i % 2):
            cls = (i + k) % 2
            w, h = int(rng.integers(28, 56)), int(rng.integers(24, 50))
            left_half = k == 0
            x1 = (
                int(rng.integers(2, width // 2 - w))
                if left_half and width // 2 - w > 2
                else int(rng.integers(width // 2, width - w - 2))
            )
            y1 = int(rng.integers(2, height - h - 2))
            image[y1 : y1 + h, x1 : x1 + w] = DET_BGR[DET_LABELS[cls]]
            boxes.append((x1, y1, x1 + w, y1 + h))
            classes.append(cls)
        samples.append((image, np.array(boxes, np.float32), np.array(classes)))
    return samples


def _write_images(root: Path, samples, ext: str = ".jpg") -> list[str]:
    import cv2

    (root / "images").mkdir(parents=True, exist_ok=True)
    names = []
    for i, (image, _, _) in enumerate(samples):
        name = f"img{i:03d}{ext}"
        cv2.imwrite(str(root / "images" / name), image)
        names.append(name)
    return names


def write_voc(root: Path, samples, labels=DET_LABELS) -> Path:
    names = _write_images(root, samples)
    (root / "annotations").mkdir(parents=True, exist_ok=True)
    for name, (image, boxes, classes) in zip(names, samples, strict=True):
        objects = "".join(
            f"<object><name>{labels[c]}</name><bndbox><xmin>{b[0]:g}</xmin><ymin>{b[1]:g}</ymin>"
            f"<xmax>{b[2]:g}</xmax><ymax>{b[3]:g}</ymax></bndbox></object>"
            for b, c in zip(boxes, classes, strict=True)
        )
        xml = (
            f"<annotation><filename>{name}</filename><size><width>{image.shape[1]}</width>"
            f"<height>{image.shape[0]}</height><depth>3</depth></size>{objects}</annotation>"
        )
        (root / "annotations" / f"{Path(name).stem}.xml").write_text(xml)
    return root


def write_yolo(root: Path, samples, labels=DET_LABELS) -> Path:
    names = _write_images(root, samples)
    (root / "labels").mkdir(parents=True, exist_ok=True)
    (root / "classes.txt").write_text("\n".join(labels) + "\n")
    for name, (image, boxes, classes) in zip(names, samples, strict=True):
        h, w = image.shape[:2]
        lines = [
            f"{c} {(b[0] + b[2]) / 2 / w:.6f} {(b[1] + b[3]) / 2 / h:.6f} "
            f"{(b[2] - b[0]) / w:.6f} {(b[3] - b[1]) / h:.6f}"
            for b, c in zip(boxes, classes, strict=True)
        ]
        (root / "labels" / f"{Path(name).stem}.txt").write_text("\n".join(lines) + "\n")
    return root


def write_coco(root: Path, samples, labels=DET_LABELS) -> Path:
    names = _write_images(root, samples)
    images, annotations = [], []
    for i, (name, (image, boxes, classes)) in enumerate(zip(names, samples, strict=True), 1):
        images.append(
            {"id": i, "file_name": name, "width": image.shape[1], "height": image.shape[0]}
        )
        for b, c in zip(boxes, classes, strict=True):
            annotations.append(
                {
                    "id": len(annotations) + 1,
                    "image_id": i,
                    "category_id": int(c) + 1,
                    "bbox": [float(b[0]), float(b[1]), float(b[2] - b[0]), float(b[3] - b[1])],
                    "area": float((b[2] - b[0]) * (b[3] - b[1])),
                    "iscrowd": 0,
                }
            )
    categories = [{"id": i + 1, "name": n} for i, n in enumerate(labels)]
    (root / "annotations.json").write_text(
        json.dumps({"images": images, "annotations": annotations, "categories": categories})
    )
    return root


SEG_CLASSES = [
    ("sky", (70, 130, 230)),
    ("ground", (60, 160, 60)),
    ("box", (220, 30, 30)),
    ("void", (0, 0, 0)),
]


def write_segmentation(
    root: Path, n: int = 12, seed: int = 0, size=(128, 96), colour_masks: bool = False
) -> Path:
    """images/ + masks/ + class_dict.csv: the horizon height and the red box vary per image;
    a 4-pixel void (index 3) border rims every mask."""
    import cv2

    rng = np.random.default_rng(seed)
    width, height = size
    (root / "images").mkdir(parents=True, exist_ok=True)
    (root / "masks").mkdir(parents=True, exist_ok=True)
    rows = ["index,name,r,g,b"] + [
        f"{i},{n},{c[0]},{c[1]},{c[2]}" for i, (n, c) in enumerate(SEG_CLASSES)
    ]
    (root / "class_dict.csv").write_text("\n".join(rows) + "\n")
    for i in range(n):
        horizon = int(rng.integers(height // 3, 2 * height // 3))
        mask = np.zeros((height, width), np.uint8)
        mask[horizon:] = 1
        w, h = int(rng.integers(20, 40)), int(rng.integers(16, 32))
        x, y = int(rng.integers(4, width - w - 4)), int(rng.integers(4, height - h - 4))
        mask[y : y + h, x : x + w] = 2
        mask[:4], mask[-4:], mask[:, :4], mask[:, -4:] = 3, 3, 3, 3
        palette = np.array([c for _, c in SEG_CLASSES], np.uint8)
        rgb = palette[mask].astype(np.int16) + rng.integers(-25, 25, size=(height, width, 3))
        rgb = np.clip(rgb, 0, 255).astype(np.uint8)
        cv2.imwrite(str(root / "images" / f"s{i:03d}.png"), rgb[:, :, ::-1])
        if colour_masks:
            cv2.imwrite(str(root / "masks" / f"s{i:03d}.png"), palette[mask][:, :, ::-1])
        else:
            cv2.imwrite(str(root / "masks" / f"s{i:03d}.png"), mask)
    return root


def write_clip(
    path: Path, moving: bool, seed: int, frames: int = 16, size=(128, 96), fps: float = 10.0
) -> Path:
    """A white square on a dark, slightly noisy floor that bounces to and fro, or stays put."""
    import cv2

    rng = np.random.default_rng(seed)
    width, height = size
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"mp4v"), fps, (width, height))
    assert writer.isOpened()
    floor = rng.integers(20, 50, size=(height, width, 3), dtype=np.uint8)
    span = width - 30
    x, y = int(rng.integers(0, span)), int(rng.integers(10, height - 40))
    step = int(rng.choice([-1, 1]) * rng.integers(6, 9)) if moving else 0
    for _ in range(frames):
        noise = rng.integers(-3, 4, size=floor.shape)
        frame = np.clip(floor.astype(np.int16) + noise, 0, 255).astype(np.uint8)
        frame[y : y + 30, x : x + 30] = 235
        writer.write(frame)
        if not 0 <= x + step <= span:
            step = -step  # bounce off the edge, never jump
        x += step
    writer.release()
    return path


def write_activity(root: Path, per_label: int = 6, seed: int = 0) -> Path:
    for label, moving in (("moving", True), ("still", False)):
        (root / label).mkdir(parents=True, exist_ok=True)
        for k in range(per_label):
            write_clip(
                root / label / f"{label}{k}.mp4", moving, seed * 100 + k + (50 if moving else 0)
            )
    return root
