"""The ImageNet MobileNetV2 itself as a model package: proof that the weights are real, and the
model the demo runs before any training happened.
"""

from __future__ import annotations

from pathlib import Path

from lensbox._optional import require
from lensbox.export.onnx_export import embed_metadata, export_onnx, measure_parity
from lensbox.manifest import (
    IMAGENET_MEAN,
    IMAGENET_STD,
    InputSpec,
    ModelManifest,
    ModelPackage,
    OutputSpec,
    load_package,
    write_package,
)
from lensbox.train.backbones import (
    MOBILENET_V2_FILE,
    hash_prefix,
    imagenet_categories,
    mobilenet_v2_imagenet,
)


def imagenet_package(out: Path) -> ModelPackage:
    """Export torchvision's ImageNet MobileNetV2 to ``out`` once; reuse it afterwards."""
    if (out / "manifest.json").is_file():
        return load_package(out)
    torch = require("torch", extra="train")
    model = mobilenet_v2_imagenet()
    example = torch.zeros(1, 3, 224, 224)
    onnx_bytes = export_onnx(model, example)
    probe = torch.randn(4, 3, 224, 224, generator=torch.Generator().manual_seed(0)).numpy()
    parity = measure_parity(onnx_bytes, model, probe)
    manifest = ModelManifest(
        name="mobilenet_v2-imagenet",
        task="classify",
        labels=imagenet_categories(),
        input=InputSpec(
            height=224, width=224, mean=IMAGENET_MEAN, std=IMAGENET_STD, resize="center-crop"
        ),
        outputs=[OutputSpec(name="logits")],
        sha256="0" * 64,
        provenance={
            "backbone": "mobilenet_v2",
            "pretrained_weights": "torchvision MobileNet_V2_Weights.IMAGENET1K_V1",
            "weights_file": MOBILENET_V2_FILE,
            "weights_sha256_prefix": hash_prefix(MOBILENET_V2_FILE),
            "trained_by": "torchvision (ImageNet-1k); not fine-tuned",
        },
        metrics={"imagenet_top1_reported_by_torchvision": 71.878},
        parity=parity,
        task_params={"top_k": 3},
    )
    card = manifest.model_dump(mode="json", include={"name", "task", "input", "outputs"})
    return write_package(out, embed_metadata(onnx_bytes, card), manifest)
