"""Model registry: every model runs forward and backward at two image sizes and both channel counts,
and each record's facts (layer groups, inputs accepted) hold for the model it builds."""

import pytest
import torch

from tune_growth.models.groups import group_names
from tune_growth.models.registry import MODELS, ModelRecord, build_model, model_record


@pytest.mark.parametrize("size", [8, 28])
@pytest.mark.parametrize("channels", [1, 3])
@pytest.mark.parametrize("name", sorted(MODELS))
def test_every_model_forward_backward(name, channels, size):
    torch.manual_seed(0)
    width = 0.25 if name == "resnet9" else 1.0  # narrow ResNet-9 keeps the CPU test fast
    model = build_model(name, channels, 7, width)
    x = torch.randn(4, channels, size, size)
    logits = model(x)
    assert logits.shape == (4, 7) and torch.isfinite(logits).all()
    logits.logsumexp(1).mean().backward()
    grads = [p.grad for p in model.parameters()]
    assert all(g is not None and torch.isfinite(g).all() for g in grads)


def test_lenet5_keeps_the_classic_feature_map_at_28px():
    model = build_model("lenet5", 1, 10)
    features = model.body(torch.zeros(2, 1, 28, 28))  # up to conv2's ReLU
    assert features.shape == (2, 16, 5, 5)


def test_resnet9_width_scales_channels():
    full, narrow = build_model("resnet9", 3, 10), build_model("resnet9", 3, 10, width=0.5)
    count = lambda m: sum(p.numel() for p in m.parameters())  # noqa: E731
    assert 3.5 < count(full) / count(narrow) < 4.5  # conv parameters scale with width squared


@pytest.mark.parametrize("args, message", [
    (("vgg", 3, 10), "unknown model 'vgg'"),
    (("cnn", 2, 10), "in_channels=2"),
    (("cnn", 3, 1), "num_classes=1"),
    (("cnn", 3, 10, 0.0), "width=0.0"),
])
def test_bad_model_arguments(args, message):
    with pytest.raises(ValueError, match=message.replace("(", r"\(")):
        build_model(*args)


@pytest.mark.parametrize("name", list(MODELS))
def test_every_record_describes_the_model_it_builds(name):
    record = MODELS[name]
    assert record.name == name and model_record(name) is record
    assert record.cpu_precision in ("bf16", "fp32") and isinstance(record.cpu_channels_last, bool)
    assert set(record.in_channels) <= {1, 3}  # what the forward test above runs (both, at 8 px)
    torch.manual_seed(0)
    channels, side = record.in_channels[-1], record.min_image_size
    model = build_model(name, channels, 3, 0.25 if name == "resnet9" else 1.0).eval()
    assert tuple(group_names(model)) == record.groups
    with torch.no_grad():
        assert model(torch.randn(2, channels, side, side)).shape == (2, 3)
    assert record.convolutional == any(isinstance(m, torch.nn.Conv2d) for m in model.modules())


def test_unknown_model_error_lists_the_registry_on_one_line():
    with pytest.raises(ValueError) as info:
        model_record("vgg")
    assert str(info.value) == f"unknown model 'vgg'; expected one of {', '.join(sorted(MODELS))} or package.module:factory"


def test_a_record_rejects_an_invalid_cpu_precision():
    with pytest.raises(ValueError, match="cpu_precision='fp16' is invalid; expected one of bf16, fp32"):
        ModelRecord("toy", MODELS["mlp"].factory, ("body", "head"), "fp16", False)


def test_a_users_model_by_import_path_keeps_its_groups_and_its_own_init():
    torch.manual_seed(0)
    model = build_model("user_model:small_cnn", 3, 5, 0.5)
    torch.manual_seed(0)
    from user_model import small_cnn
    assert group_names(model) == ["body", "head"]
    assert all(torch.equal(a, b) for a, b in zip(model.state_dict().values(), small_cnn(3, 5, 0.5).state_dict().values()))
    assert model(torch.zeros(2, 3, 16, 16)).shape == (2, 5)
    plain = build_model("user_model:plain", 1, 4)
    assert group_names(plain) == ["head"] and plain(torch.zeros(2, 1, 12, 12)).shape == (2, 4)


@pytest.mark.parametrize("name, message", [
    ("no_such_module:f", "module 'no_such_module' does not import"),
    ("user_model:missing", "module 'user_model' has no 'missing'"),
    ("user_model:NOT_A_FACTORY", "'NOT_A_FACTORY' is not callable"),
    ("user_model:not_a_module", "returned str; expected an nn.Module"),
])
def test_a_bad_import_path_is_one_line(name, message):
    with pytest.raises(ValueError) as err:
        build_model(name, 1, 10)
    assert message in str(err.value) and "\n" not in str(err.value)
