"""Trash sorter: turns "plastic, 0.93" into "recycling bin".

Runs on the device after every result (like a DeepLens inference Lambda). Edit the "bins"
map in project.json to match local rules; labels that are not in it are matched by the
"keywords" lists, so a general ImageNet model also sorts (bottle -> recycling, banana ->
compost). Below "min_confidence" the item is sent to "uncertain_bin".
"""

from __future__ import annotations

import cv2

BIN_COLOURS = {  # BGR
    "compost": (40, 140, 60),
    "recycling": (200, 120, 20),
    "landfill": (60, 60, 60),
}


def choose_bin(material, config):
    bins = config.get("bins", {})
    if material in bins:
        return bins[material]
    words = material.lower()
    for bin_name, keywords in config.get("keywords", {}).items():
        if any(keyword in words for keyword in keywords):
            return bin_name
    return config.get("default_bin", "landfill")


def process(result, context):
    payload = result.payload
    material, confidence = payload["label"], float(payload["score"])
    config = context.config
    if confidence < float(config.get("min_confidence", 0.0)):
        chosen = config.get("uncertain_bin", "check by hand")
    else:
        chosen = choose_bin(material, config)
    counts = context.state.setdefault("counts", {})
    counts[chosen] = counts.get(chosen, 0) + 1
    return {"material": material, "bin": chosen, "confidence": round(confidence, 4)}


def draw(image, result, output, context):
    if not output:
        return
    height, width = image.shape[:2]
    text = f"{output['bin'].upper()} BIN  ({output['material']} {output['confidence']:.2f})"
    colour = BIN_COLOURS.get(output["bin"], (0, 160, 220))
    scale = max(0.3, min(height / 720 * 1.1, width / 1000))
    thickness = max(1, round(scale * 2))
    (_text_w, text_h), base = cv2.getTextSize(text, cv2.FONT_HERSHEY_SIMPLEX, scale, thickness)
    top = height - text_h - base - 24
    cv2.rectangle(image, (0, top), (width, height), colour, -1)
    cv2.putText(
        image,
        text,
        (12, height - base - 12),
        cv2.FONT_HERSHEY_SIMPLEX,
        scale,
        (255, 255, 255),
        thickness,
        cv2.LINE_AA,
    )
