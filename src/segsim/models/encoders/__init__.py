"""Feature extractors. Each keeps torchvision's parameter names so its ImageNet weights load
as-is."""
