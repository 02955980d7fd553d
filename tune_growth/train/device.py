"""Device and precision: one code path for CUDA and CPU.

On the CPU the fastest setting depends on the model, so it comes from measurement, not a rule:
CPU_FASTEST holds each model's fastest (precision, memory layout) on a bf16-capable CPU (the step
times behind it are in the README's benchmark section, "CPU precision and layout per model").
`precision="auto"` picks bf16 on CUDA with bf16 support; on a CPU with native bf16 (AMX or
AVX512-BF16) it follows CPU_FASTEST; elsewhere fp32. Accuracy under bf16 is checked by the
precision benchmark.
"""

from __future__ import annotations

import contextlib
from typing import Union

import torch

PRECISIONS = ("auto", "fp32", "bf16")
DEVICES = ("auto", "cpu", "cuda")
# model -> (precision, channels_last) measured fastest on a bf16-capable CPU (README, benchmarks).
CPU_FASTEST: dict[str, tuple[str, bool]] = {
    "lenet5": ("fp32", False),
    "mlp": ("bf16", False),
    "cnn": ("bf16", True),
    "resnet9": ("bf16", True),
    "xresnet18": ("bf16", True),
    "resnet18": ("bf16", True),
    "xresnet34": ("fp32", False),
    "resnet34": ("fp32", False),
    "xresnet50": ("bf16", True),
    "resnet50": ("bf16", True),
}


def pick_device(name: str = "auto") -> torch.device:
    """`auto`: CUDA when present, else CPU. An explicit name must exist on this machine."""
    if name not in DEVICES and not name.startswith("cuda:"):
        raise ValueError(f"device {name!r} is invalid; expected one of {', '.join(DEVICES)} or cuda:N")
    if name == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    if name.startswith("cuda") and not torch.cuda.is_available():
        raise ValueError(f"device {name!r} was asked for but CUDA is not available; expected cpu or auto")
    return torch.device(name)


def cpu_has_bf16() -> bool:
    """True when the CPU has native bf16 dot products (Intel AMX tiles, or AVX512-BF16 as on
    AMD Zen 4), which PyTorch's oneDNN kernels use under bf16 autocast."""
    try:
        with open("/proc/cpuinfo") as f:
            flags = f.read()
        return "amx_bf16" in flags or "avx512_bf16" in flags
    except OSError:
        return False


def resolve_precision(precision: str, device: torch.device, model_name: str) -> str:
    """Turn `auto` into `bf16` or `fp32` for this device and model; validate explicit choices."""
    if precision not in PRECISIONS:
        raise ValueError(f"precision {precision!r} is invalid; expected one of {', '.join(PRECISIONS)}")
    if precision != "auto":
        return precision
    if device.type == "cuda":
        return "bf16" if torch.cuda.is_bf16_supported() else "fp32"
    if not cpu_has_bf16():
        return "fp32"
    return CPU_FASTEST.get(model_name, ("fp32", False))[0]


def use_channels_last(device: Union[str, torch.device], model_name: str) -> bool:
    """channels_last pays for convolutions on CUDA tensor cores; on the CPU only where measured."""
    if torch.device(device).type == "cuda":
        return model_name != "mlp"
    return CPU_FASTEST.get(model_name, ("fp32", False))[1]


def autocast(device: torch.device, precision: str):
    """Context manager for the forward pass: bf16 autocast, or nothing for fp32."""
    if precision == "bf16":
        return torch.autocast(device_type=device.type, dtype=torch.bfloat16)
    return contextlib.nullcontext()


COMPILE_CHOICES = ("auto", "on", "off")
CPU_EVAL_BATCH = 1000  # images per evaluation forward pass on a CPU
GPU_EVAL_BATCH = 4096  # no activations are kept for a backward pass, so ~4x the largest training batch fits


def default_eval_batch(device: Union[str, torch.device]) -> int:
    return GPU_EVAL_BATCH if torch.device(device).type == "cuda" else CPU_EVAL_BATCH


def resolve_compile(choice: str, device: Union[str, torch.device]) -> bool:
    """`auto`: compile on CUDA (where per-op launch overhead dominates a small net's step), not on
    the CPU (inductor's first step per image size costs seconds there and the loop benchmark
    shows eager within 5% of the bare loop). `choice` is RunConfig's, checked there."""
    return choice == "on" or (choice == "auto" and torch.device(device).type == "cuda")


def configure_cuda() -> None:
    """Process-wide CUDA settings for training: cuDNN picks the fastest convolution for each
    shape (one search per image size, then cached), and fp32 matmuls and convolutions may use
    TF32 tensor cores (10-bit mantissa; bf16 autocast already uses fewer)."""
    torch.backends.cudnn.benchmark = True
    torch.backends.cuda.matmul.allow_tf32 = True
    torch.backends.cudnn.allow_tf32 = True
