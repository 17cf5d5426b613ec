"""Inference: Predictor (torch | ONNX Runtime) with TTA, multi-scale and sliding windows;
robust image reading; overlays; ONNX export; evaluation on a labelled split."""
