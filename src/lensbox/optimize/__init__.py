"""Model optimizer: static INT8 post-training quantization with an accuracy guard.

DeepLens ran every model through Intel's optimizer before it reached a device; here the
package's ONNX graph is quantized by onnxruntime's own tools (QDQ, per-channel weights),
calibrated on the user's images preprocessed exactly as the device preprocesses frames, and
kept only when the task's own metric drops by no more than the user allows.
"""
