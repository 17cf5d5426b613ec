"""Training curves as a PNG: loss (train and val) and mIoU (train and val) per epoch."""

from __future__ import annotations

from pathlib import Path

from segsim.fileio import atomic_path


def plot_history(history: list[dict], path: str | Path) -> Path:
    import matplotlib

    matplotlib.use("Agg")  # headless; no display on servers
    import matplotlib.pyplot as plt

    path = Path(path)
    epochs = [r["epoch"] + 1 for r in history]
    fig, (ax_loss, ax_miou) = plt.subplots(1, 2, figsize=(10, 4), dpi=100)
    for key, label in (("train_loss", "train"), ("val_loss", "val")):
        xs = [e for e, r in zip(epochs, history, strict=True) if r.get(key) is not None]
        ax_loss.plot(
            xs, [r[key] for r in history if r.get(key) is not None], marker=".", label=label
        )
    for key, label in (("train_miou", "train"), ("val_miou", "val")):
        xs = [e for e, r in zip(epochs, history, strict=True) if r.get(key) is not None]
        ax_miou.plot(
            xs, [r[key] for r in history if r.get(key) is not None], marker=".", label=label
        )
    ax_loss.set(title="loss", xlabel="epoch")
    ax_miou.set(title="mIoU", xlabel="epoch", ylim=(0, 1))
    best = [r for r in history if r.get("val_miou") is not None]
    if best:
        b = max(best, key=lambda r: r["val_miou"])
        ax_miou.axhline(b["val_miou"], color="grey", lw=0.6, ls="--")
        ax_miou.annotate(
            f"best val {b['val_miou']:.3f} (epoch {b['epoch'] + 1})",
            (0.02, 0.03),
            xycoords="axes fraction",
            fontsize=8,
        )
    for ax in (ax_loss, ax_miou):
        ax.grid(alpha=0.3)
        ax.legend()
    fig.suptitle(
        f"{len(history)} epochs, {history[-1].get('minutes', 0):.1f} min" if history else ""
    )
    fig.tight_layout()
    with atomic_path(path, suffix=".png") as tmp:
        fig.savefig(tmp)
    plt.close(fig)
    return path
