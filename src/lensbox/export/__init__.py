"""Export trained models to ONNX, verify them, and import foreign ONNX models."""
