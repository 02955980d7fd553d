"""Plots that need a trained model: the confusion matrix and Grad-CAM heatmaps of a trial's last
checkpoint (loaded with torch.load(weights_only=True): tensors and plain data only)."""

from __future__ import annotations

from pathlib import Path

import matplotlib.pyplot as plt
import numpy as np
import torch
import torch.nn.functional as F
from matplotlib.figure import Figure

from tune_growth.data import ImageDataset
from tune_growth.data.augment import AugmentConfig, Augmenter
from tune_growth.models.registry import build_model
from tune_growth.schedule.core import Schedule


def load_trial_model(trial_dir: str | Path, data: ImageDataset) -> tuple[torch.nn.Module, Schedule]:
    """The model of a trial's newest checkpoint (eval mode, CPU) and its schedule."""
    checkpoints = sorted(Path(trial_dir).glob("checkpoint_*/trainer.pt"))
    if not checkpoints:
        raise FileNotFoundError(f"no checkpoint_*/trainer.pt under {str(trial_dir)!r}; expected a trial folder")
    state = torch.load(checkpoints[-1], map_location="cpu", weights_only=True)
    config = state["config"]
    model = build_model(config["model"], data.channels, data.num_classes, config["width"])
    model.load_state_dict(state["model"])
    return model.eval(), Schedule.from_json(state["schedule"])


def _inputs(data: ImageDataset, size: int, idx: torch.Tensor | None = None) -> torch.Tensor:
    aug = Augmenter(AugmentConfig(), data.mean, data.std, torch.device("cpu"))
    x = data.test_x.cpu() if idx is None else data.test_x.cpu()[idx]
    return aug.normalize(x, size)


@torch.no_grad()
def confusion_matrix(model: torch.nn.Module, data: ImageDataset, size: int) -> np.ndarray:
    """Counts [true class, predicted class] over the test set at `size` px."""
    preds = torch.cat([model(x).argmax(1) for x in _inputs(data, size).split(1000)])
    cm = torch.zeros(data.num_classes, data.num_classes, dtype=torch.long)
    cm.index_put_((data.test_y.cpu(), preds), torch.ones_like(preds), accumulate=True)
    return cm.numpy()


def confusion_figure(cm: np.ndarray, classes: tuple[str, ...]) -> Figure:
    """Row-normalised confusion matrix (each true class sums to 1), counts in the cells."""
    rates = cm / np.maximum(cm.sum(1, keepdims=True), 1)
    fig, ax = plt.subplots(figsize=(0.5 * len(classes) + 3, 0.5 * len(classes) + 2.5))
    im = ax.imshow(rates, cmap="Blues", vmin=0, vmax=1)
    if len(classes) <= 20:
        for i in range(len(classes)):
            for j in range(len(classes)):
                if cm[i, j]:
                    ax.text(j, i, str(cm[i, j]), ha="center", va="center", fontsize=7,
                            color="white" if rates[i, j] > 0.5 else "black")
        ax.set_xticks(range(len(classes)), classes, rotation=90, fontsize=8)
        ax.set_yticks(range(len(classes)), classes, fontsize=8)
    ax.set(xlabel="predicted", ylabel="true", title=f"Confusion matrix (accuracy {np.trace(cm) / cm.sum():.3f})")
    fig.colorbar(im, ax=ax, fraction=0.046)
    fig.tight_layout()
    return fig


def grad_cam(model: torch.nn.Module, x: torch.Tensor, classes: torch.Tensor | None = None) -> torch.Tensor:
    """Grad-CAM (Selvaraju et al. 2017) on the last conv layer: ReLU(sum_c w_c A_c) with w_c the
    spatial mean of d score / d A_c; upsampled to the input size and scaled to [0, 1] per image.
    `classes` defaults to the predicted class."""
    layer = [m for m in model.modules() if isinstance(m, torch.nn.Conv2d)][-1]
    saved = {}
    handle = layer.register_forward_hook(lambda mod, inp, out: saved.__setitem__("act", out))
    try:
        x = x.clone().requires_grad_(True)
        logits = model(x)
        classes = logits.argmax(1) if classes is None else classes
        act = saved["act"]
        grads = torch.autograd.grad(logits.gather(1, classes.view(-1, 1)).sum(), act)[0]
    finally:
        handle.remove()
    cam = F.relu((grads.mean((2, 3), keepdim=True) * act).sum(1, keepdim=True))
    cam = F.interpolate(cam, size=x.shape[-2:], mode="bilinear", align_corners=False)[:, 0]
    peak = cam.flatten(1).amax(1).clamp_min(1e-12).view(-1, 1, 1)
    return (cam / peak).detach()


def grad_cam_figure(model: torch.nn.Module, data: ImageDataset, size: int, n: int = 8, seed: int = 0) -> Figure:
    """`n` test images (seeded choice) with their Grad-CAM heatmaps and the predicted class."""
    idx = torch.randperm(len(data.test_y), generator=torch.Generator().manual_seed(seed))[:n]
    x = _inputs(data, size, idx)
    cams = grad_cam(model, x)
    with torch.no_grad():
        preds = model(x).argmax(1)
    images = data.test_x.cpu()[idx].float().div(255)
    images = F.interpolate(images, size=(size, size), mode="bilinear", antialias=True, align_corners=False)
    fig, axes = plt.subplots(2, n, figsize=(1.6 * n, 3.6))
    for i in range(n):
        img = images[i].permute(1, 2, 0).numpy()
        img = img[..., 0] if img.shape[-1] == 1 else img
        axes[0, i].imshow(img, cmap="gray" if img.ndim == 2 else None)
        truth, guess = data.classes[int(data.test_y[idx[i]])], data.classes[int(preds[i])]
        axes[0, i].set_title(f"{truth}→{guess}", fontsize=8, color="black" if truth == guess else "red")
        axes[1, i].imshow(img, cmap="gray" if img.ndim == 2 else None)
        axes[1, i].imshow(cams[i].numpy(), cmap="jet", alpha=0.5)
        for ax in axes[:, i]:
            ax.set_axis_off()
    fig.suptitle("Grad-CAM of the best model (true→predicted)", fontsize=10)
    fig.tight_layout()
    return fig
