"""The detector's network, training targets and losses (CenterNet/TTFNet style).

See ``lensbox.train.detect`` for why this design; this module holds what is specific to it:
the pyramid and heads over MobileNetV2, the Gaussian centre heatmaps and box targets, the
penalty-reduced focal loss and the GIoU box loss.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from lensbox._optional import require

STRIDE = 8
FROZEN_BLOCKS = 7


def build_detector(num_classes: int) -> Any:
    """MobileNetV2 (ImageNet) + a three-level pyramid + heatmap and box-distance heads."""
    torch = require("torch", extra="train")
    from lensbox.train.backbones import mobilenet_v2_imagenet

    nn = torch.nn
    features = mobilenet_v2_imagenet().features

    def head(channels: int, out: int, bias: float = 0.0) -> Any:
        block = nn.Sequential(
            nn.Conv2d(channels, channels, 3, padding=1),
            nn.ReLU(inplace=True),
            nn.Conv2d(channels, channels, 3, padding=1),
            nn.ReLU(inplace=True),
            nn.Conv2d(channels, out, 1),
        )
        nn.init.constant_(block[-1].bias, bias)
        return block

    class Detector(nn.Module):  # type: ignore[name-defined]
        def __init__(self) -> None:
            super().__init__()
            self.stem = features[:FROZEN_BLOCKS]  # stride 8, 32 channels
            self.c4 = features[FROZEN_BLOCKS:14]  # stride 16, 96 channels
            self.c5 = features[14:18]  # stride 32, 320 channels
            width = 96
            self.lat5 = nn.Conv2d(320, width, 1)
            self.lat4 = nn.Conv2d(96, width, 1)
            self.lat3 = nn.Conv2d(32, width, 1)
            self.smooth4 = nn.Sequential(
                nn.Conv2d(width, width, 3, padding=1), nn.ReLU(inplace=True)
            )
            self.smooth3 = nn.Sequential(
                nn.Conv2d(width, width, 3, padding=1), nn.ReLU(inplace=True)
            )
            # Prior 0.01 for every class at start: focal-loss training is unstable without it.
            self.heatmap = head(width, num_classes, bias=-math.log(99.0))
            self.distances = head(width, 4, bias=-2.0)

        def forward(self, x: Any) -> tuple[Any, Any]:
            f = nn.functional
            c3 = self.stem(x)
            c4 = self.c4(c3)
            c5 = self.c5(c4)
            p5 = self.lat5(c5)
            p4 = self.smooth4(self.lat4(c4) + f.interpolate(p5, size=c4.shape[-2:], mode="nearest"))
            p3 = self.smooth3(self.lat3(c3) + f.interpolate(p4, size=c3.shape[-2:], mode="nearest"))
            heat = torch.sigmoid(self.heatmap(p3))
            # Distances as fractions of the input size: parity-friendly small numbers.
            distances = f.softplus(self.distances(p3))
            return heat, distances

    model = Detector()
    for parameter in model.stem.parameters():
        parameter.requires_grad_(False)
    return model


def build_targets(
    boxes: np.ndarray, classes: np.ndarray, num_classes: int, size: int, alpha: float = 0.54
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """TTFNet targets on the stride-8 grid: Gaussian centre heatmaps, and for the cells under
    each box's (smaller) Gaussian the box itself with a weight that sums to log(area)."""
    cells = size // STRIDE
    heat = np.zeros((num_classes, cells, cells), dtype=np.float32)
    box_target = np.zeros((4, cells, cells), dtype=np.float32)
    weight = np.zeros((cells, cells), dtype=np.float32)
    centres = (np.arange(cells, dtype=np.float32) + 0.5) * STRIDE
    areas = (boxes[:, 2] - boxes[:, 0]) * (boxes[:, 3] - boxes[:, 1])
    for k in np.argsort(-areas):  # small boxes last, so they win shared cells
        x1, y1, x2, y2 = boxes[k]
        w, h = x2 - x1, y2 - y1
        if w < 1 or h < 1:
            continue
        cx, cy = (x1 + x2) / 2, (y1 + y2) / 2
        sx, sy = max(alpha * w / 6, 0.8), max(alpha * h / 6, 0.8)
        gx = np.exp(-((centres - cx) ** 2) / (2 * sx**2))
        gy = np.exp(-((centres - cy) ** 2) / (2 * sy**2))
        g = gy[:, None] * gx[None, :]
        col = min(cells - 1, int(cx // STRIDE))
        row = min(cells - 1, int(cy // STRIDE))
        g[row, col] = 1.0
        c = int(classes[k])
        heat[c] = np.maximum(heat[c], g)
        inside = (
            (centres[None, :] >= x1)
            & (centres[None, :] <= x2)
            & (centres[:, None] >= y1)
            & (centres[:, None] <= y2)
        )
        region = (g > 0.05) & inside
        region[row, col] = True
        share = g * region
        share = share / share.sum() * np.log(max(w * h, 2.0))
        box_target[:, region] = np.array([x1, y1, x2, y2], dtype=np.float32)[:, None]
        weight[region] = share[region]
    return heat, box_target, weight


def focal_loss(pred: Any, target: Any) -> Any:
    """CenterNet's penalty-reduced focal loss on a Gaussian heatmap."""
    torch = require("torch", extra="train")
    pred = pred.clamp(1e-4, 1 - 1e-4)
    positive = target.eq(1).float()
    pos = -torch.log(pred) * (1 - pred) ** 2 * positive
    neg = -torch.log(1 - pred) * pred**2 * (1 - target) ** 4 * (1 - positive)
    return (pos.sum() + neg.sum()) / positive.sum().clamp(min=1.0)


def giou_loss(distances: Any, box_target: Any, weight: Any, size: int) -> Any:
    torch = require("torch", extra="train")
    mask = weight > 0
    if not bool(mask.any()):
        return distances.sum() * 0
    cells = distances.shape[-1]
    centres = (torch.arange(cells, dtype=distances.dtype, device=distances.device) + 0.5) * STRIDE
    cy, cx = torch.meshgrid(centres, centres, indexing="ij")
    d = distances * size
    pred = torch.stack([cx - d[:, 0], cy - d[:, 1], cx + d[:, 2], cy + d[:, 3]], dim=1)
    p = pred.permute(0, 2, 3, 1)[mask]
    t = box_target.permute(0, 2, 3, 1)[mask]
    w = weight[mask]
    inter_w = (torch.minimum(p[:, 2], t[:, 2]) - torch.maximum(p[:, 0], t[:, 0])).clamp(min=0)
    inter_h = (torch.minimum(p[:, 3], t[:, 3]) - torch.maximum(p[:, 1], t[:, 1])).clamp(min=0)
    inter = inter_w * inter_h
    area_p = (p[:, 2] - p[:, 0]) * (p[:, 3] - p[:, 1])
    area_t = (t[:, 2] - t[:, 0]) * (t[:, 3] - t[:, 1])
    union = area_p + area_t - inter + 1e-6
    enclose = (torch.maximum(p[:, 2], t[:, 2]) - torch.minimum(p[:, 0], t[:, 0])) * (
        torch.maximum(p[:, 3], t[:, 3]) - torch.minimum(p[:, 1], t[:, 1])
    ) + 1e-6
    giou = inter / union - (enclose - union) / enclose
    return ((1 - giou) * w).sum() / w.sum().clamp(min=1e-6)
