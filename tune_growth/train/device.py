"""Device and precision: one code path for CUDA and CPU.

On the CPU the fastest setting depends on the model, so it comes from measurement, not a rule:
each model's record (models/registry.py: cpu_precision, cpu_channels_last) holds its fastest
(precision, memory layout) on a bf16-capable CPU (the step times behind it are in the README's
benchmark section, "CPU precision and layout per model"). `precision="auto"` picks bf16 on CUDA
with bf16 support; on a CPU with native bf16 (AMX or AVX512-BF16) it follows the record;
elsewhere fp32. Accuracy under bf16 is checked by the precision benchmark.
"""

from __future__ import annotations

import contextlib
from typing import Union

import torch

from tune_growth.models.registry import MODELS

PRECISIONS = ("auto", "fp32", "bf16")
DEVICES = ("auto", "cpu", "cuda")


def pick_device(name: str = "auto") -> torch.device:
    """`auto`: CUDA when present, else CPU. An explicit name must exist on this machine."""
    if name not in DEVICES and not name.startswith("cuda:"):
        raise ValueError(f"device {name!r} is invalid; expected one of {', '.join(DEVICES)} or cuda:N")
    if name == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    if name.startswith("cuda") and not torch.cuda.is_available():
        raise ValueError(f"device {name!r} was asked for but CUDA is not available; expected cpu or auto")
    return torch.device(name)


# /proc/cpuinfo flag -> its name in figures: the native bf16 dot products oneDNN uses under bf16
# autocast (Intel AMX tiles; AVX512-BF16, as on AMD Zen 4 or Intel Cooper Lake)
BF16_FLAGS = {"amx_bf16": "AMX", "avx512_bf16": "AVX512-BF16"}


def cpu_bf16_features(cpuinfo: str | None = None) -> tuple[str, ...]:
    """The native bf16 features of this CPU (or of the text `cpuinfo`, /proc/cpuinfo's format)
    by name, e.g. ("AMX", "AVX512-BF16"); () when it has none or /proc/cpuinfo is unreadable."""
    if cpuinfo is None:
        try:
            with open("/proc/cpuinfo") as f:
                cpuinfo = f.read()
        except OSError:
            return ()
    flags = {flag for line in cpuinfo.splitlines() if line.startswith("flags") for flag in line.split()}
    return tuple(name for flag, name in BF16_FLAGS.items() if flag in flags)


def cpu_has_bf16() -> bool:
    """True when the CPU has native bf16 dot products (cpu_bf16_features)."""
    return bool(cpu_bf16_features())


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
    record = MODELS.get(model_name)
    return "fp32" if record is None else record.cpu_precision  # an unmeasured model: fp32, which is exact


def use_channels_last(device: Union[str, torch.device], model_name: str) -> bool:
    """channels_last pays for convolutions on CUDA tensor cores; on the CPU only where measured."""
    record = MODELS.get(model_name)
    if torch.device(device).type == "cuda":
        return record is None or record.convolutional
    return record is not None and record.cpu_channels_last


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
