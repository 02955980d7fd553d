import pytest
import torch

from tune_growth.models.registry import MODELS
from tune_growth.schedule.builders import default_batch_size
from tune_growth.train import device as device_module
from tune_growth.train.config import RunConfig
from tune_growth.train.device import (
    autocast,
    default_eval_batch,
    pick_device,
    resolve_compile,
    resolve_precision,
    use_channels_last,
)


def test_auto_device_is_cpu_without_cuda():
    assert pick_device("auto").type == ("cuda" if torch.cuda.is_available() else "cpu")


@pytest.mark.parametrize("name, message", [("tpu", "device 'tpu' is invalid"),
                                           ("cuda", "CUDA is not available")])
def test_bad_device(name, message):
    if name == "cuda" and torch.cuda.is_available():
        pytest.skip("this machine has CUDA")
    with pytest.raises(ValueError, match=message):
        pick_device(name)


def test_every_model_has_a_measured_cpu_setting():
    assert all(r.cpu_precision in ("bf16", "fp32") and isinstance(r.cpu_channels_last, bool) for r in MODELS.values())


@pytest.mark.parametrize("has_bf16", [True, False])
def test_auto_precision_on_a_cpu_follows_its_bf16_support(monkeypatch, has_bf16):
    monkeypatch.setattr(device_module, "cpu_has_bf16", lambda: has_bf16)
    cpu = torch.device("cpu")
    assert resolve_precision("auto", cpu, "resnet9") == ("bf16" if has_bf16 else "fp32")
    assert resolve_precision("auto", cpu, "lenet5") == "fp32"  # measured faster than bf16 even with native bf16
    assert resolve_precision("auto", cpu, "no_such_model") == "fp32"  # unmeasured: fp32
    assert resolve_precision("bf16", cpu, "lenet5") == "bf16" and resolve_precision("fp32", cpu, "resnet9") == "fp32"


@pytest.mark.parametrize("name", list(MODELS))
def test_every_record_sets_the_cpu_choice(monkeypatch, name):
    record, cpu = MODELS[name], torch.device("cpu")
    monkeypatch.setattr(device_module, "cpu_has_bf16", lambda: True)
    assert resolve_precision("auto", cpu, name) == record.cpu_precision
    monkeypatch.setattr(device_module, "cpu_has_bf16", lambda: False)
    assert resolve_precision("auto", cpu, name) == "fp32"
    assert use_channels_last(cpu, name) == record.cpu_channels_last
    assert use_channels_last("cuda", name) == record.convolutional


@pytest.mark.parametrize("supported", [True, False])
def test_auto_precision_on_cuda_follows_its_bf16_support(monkeypatch, supported):
    monkeypatch.setattr(torch.cuda, "is_bf16_supported", lambda *args, **kwargs: supported)
    assert resolve_precision("auto", torch.device("cuda"), "lenet5") == ("bf16" if supported else "fp32")
    assert use_channels_last("cuda", "lenet5") and not use_channels_last("cuda", "mlp")


def test_precision_resolution():
    cpu = torch.device("cpu")
    assert resolve_precision("fp32", cpu, "resnet9") == "fp32"
    assert resolve_precision("auto", cpu, "lenet5") == "fp32"  # measured faster than bf16 here
    assert resolve_precision("auto", cpu, "resnet9") in ("bf16", "fp32")
    with pytest.raises(ValueError, match="precision 'fp16' is invalid"):
        resolve_precision("fp16", cpu, "cnn")
    assert use_channels_last(cpu, "resnet9") and not use_channels_last(cpu, "lenet5")


def test_bf16_autocast_runs_a_model_on_cpu():
    from tune_growth.models.registry import build_model
    model = build_model("cnn", 1, 10, 0.25)
    with autocast(torch.device("cpu"), "bf16"):
        out = model(torch.randn(2, 1, 16, 16))
    assert out.dtype == torch.bfloat16


@pytest.mark.parametrize("device, n_train, batch", [("cpu", 45_000, 128), ("cuda", 45_000, 1024), ("cuda", 4_500, 128),
                                                    ("cuda", 16_384, 512), ("cuda:1", 100, 128)])
def test_the_batch_size_rule(device, n_train, batch):
    assert default_batch_size(device, n_train) == batch  # CPU 128; CUDA: up to 1024 with >= 32 steps per epoch


def test_compile_and_eval_batch_follow_the_device():
    assert not resolve_compile("auto", "cpu") and resolve_compile("auto", "cuda") and resolve_compile("on", "cpu")
    assert default_eval_batch("cpu") == 1000 and default_eval_batch("cuda") == 4096
    with pytest.raises(ValueError, match="compile='yes' is invalid; expected one of auto, on, off"):
        RunConfig(compile="yes")
    with pytest.raises(ValueError, match="eval_batch=0 is invalid"):
        RunConfig(eval_batch=0)


@pytest.mark.parametrize("flags, features", [
    ("fpu sse2 avx2 avx512f avx512_bf16 amx_bf16 amx_tile amx_int8", ("AMX", "AVX512-BF16")),  # Sapphire Rapids
    ("fpu sse2 avx2 avx512f avx512_bf16", ("AVX512-BF16",)),  # AMD Zen 4
    ("fpu sse2 avx2 fma", ()),  # AVX2 only: fp32
])
def test_the_cpus_bf16_features_are_read_from_its_flags(flags, features):
    cpuinfo = f"processor\t: 0\nmodel name\t: some CPU\nflags\t\t: {flags}\n\nprocessor\t: 1\nflags\t\t: {flags}\n"
    assert device_module.cpu_bf16_features(cpuinfo) == features
    assert device_module.cpu_bf16_features("model name\t: amx_bf16 in a name is not a flag\n") == ()
