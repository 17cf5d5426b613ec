"""Training: config, data, augmentation, losses, metrics, the Lightning module, checkpoints."""
