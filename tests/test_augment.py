"""Batched augmentation and the index stream: exact geometry on known images, determinism, resume."""

from types import SimpleNamespace

import pytest
import torch
import torch.nn.functional as F

from tune_growth.data.augment import (
    AugmentConfig,
    Augmenter,
    IndexStream,
    cutout,
    gather_crop,
    iterate_batches,
    mixup,
    random_flip,
    resize_batch,
)


def gen(seed=0):
    return torch.Generator().manual_seed(seed)


def ramp(n=6, c=2, h=8, w=8):
    return torch.arange(n * c * h * w, dtype=torch.int64).remainder(251).to(torch.uint8).view(n, c, h, w)


def test_crop_is_a_per_example_shift_of_the_reflect_padded_image():
    x = ramp()
    out = gather_crop(x, torch.arange(len(x)), 2, gen(1))
    padded = F.pad(x, (2, 2, 2, 2), mode="reflect")
    for i in range(len(x)):  # each output equals exactly one of the 25 windows of its own padded image
        windows = [padded[i, :, dy:dy + 8, dx:dx + 8] for dy in range(5) for dx in range(5)]
        assert any(torch.equal(out[i], wdw) for wdw in windows)
    shifts = {bytes(out[i].numpy()) for i in range(len(x))}
    assert len(shifts) > 1 or len(x) == 1  # offsets differ between examples
    assert torch.equal(gather_crop(x, torch.arange(len(x)), 0, gen()), x)


def test_flip_flips_about_half_the_batch_and_nothing_else():
    x = ramp(n=400, c=1, h=4, w=4)
    out = random_flip(x, gen())
    flipped = torch.tensor([torch.equal(o, xi.flip(-1)) for o, xi in zip(out, x)])
    kept = torch.tensor([torch.equal(o, xi) for o, xi in zip(out, x)])
    assert (flipped | kept).all() and 150 < int(flipped.sum()) < 250


def test_cutout_fills_one_clipped_square_per_image():
    x = torch.full((50, 3, 16, 16), 200, dtype=torch.uint8)
    fill = torch.tensor([1, 2, 3], dtype=torch.uint8)
    out = cutout(x, 6, fill, gen())
    holes = (out != 200).all(dim=1)  # all three channels replaced at a hole pixel
    assert (holes.sum((1, 2)) <= 36).all() and (holes.sum((1, 2)) >= 9).all()  # >= 3x3 when at a corner
    for image, hole in zip(out, holes):
        assert (image[:, hole] == fill[:, None]).all()  # the hole holds the fill value, per channel
        assert (image[:, ~hole] == 200).all()  # and nothing outside it changed


def test_resize_is_antialiased_when_shrinking_and_preserves_constants():
    x = torch.zeros(1, 1, 32, 32)
    x[..., ::2] = 1.0  # 1-pixel stripes: aliasing would give 0 or 1, antialiasing gives 0.5
    small = resize_batch(x, 8)
    assert torch.allclose(small[..., 1:-1], torch.full((1, 1, 8, 6), 0.5), atol=1e-5)
    assert torch.allclose(small, torch.full((1, 1, 8, 8), 0.5), atol=0.05)  # filter clipped at the border
    assert torch.allclose(resize_batch(torch.full((2, 3, 8, 8), 0.3), 20), torch.full((2, 3, 20, 20), 0.3))
    assert resize_batch(x, 32) is x


def test_normalize_matches_the_formula_and_resizes():
    aug = Augmenter(AugmentConfig(), (0.5, 0.25), (0.2, 0.1), torch.device("cpu"))
    x = ramp(n=3)
    expected = ((x.float() / 255 - torch.tensor([0.5, 0.25]).view(1, 2, 1, 1)) / torch.tensor([0.2, 0.1]).view(1, 2, 1, 1))
    batch = aug(x, torch.zeros(3, dtype=torch.long), 8, gen(), train=False)
    assert torch.allclose(batch.x, expected, atol=1e-5)
    assert aug(x, torch.zeros(3), 4, gen()).x.shape == (3, 2, 4, 4)


def test_mixup_mixes_with_the_rolled_neighbour():
    x, y = torch.randn(5, 1, 4, 4), torch.arange(5)
    batch = mixup(x, y, 0.4, gen())
    assert 0.0 <= batch.lam <= 1.0
    assert torch.allclose(batch.x, batch.lam * x + (1 - batch.lam) * x.roll(1, 0))
    assert torch.equal(batch.y_mix, y.roll(1, 0))


def test_same_seed_same_batches_different_seed_different():
    cfg = AugmentConfig(crop_pad=2, flip=True, cutout=4, mixup_alpha=0.2)
    aug = Augmenter(cfg, (0.5,), (0.25,), torch.device("cpu"))
    x, y = ramp(n=40, c=1, h=12, w=12), torch.arange(40) % 4

    def run(seed):
        g = gen(seed)
        return [b.x for b in iterate_batches(x, y, IndexStream(torch.arange(40), g), aug, 16, 5, 10)]

    assert all(torch.equal(a, b) for a, b in zip(run(3), run(3)))
    assert not all(torch.equal(a, b) for a, b in zip(run(3), run(4)))


def test_index_stream_visits_each_example_once_per_pass_and_fills_small_subsets():
    subset = torch.tensor([3, 7, 11, 19, 23])
    stream = IndexStream(subset, gen())
    drawn = torch.cat([stream.next(2) for _ in range(5)])  # 10 = two full passes
    assert sorted(drawn[:5].tolist()) == subset.tolist() and sorted(drawn[5:].tolist()) == subset.tolist()
    big = stream.next(12)  # a batch larger than the subset still fills, from consecutive passes
    assert len(big) == 12 and set(big.tolist()) <= set(subset.tolist())


def test_index_stream_state_resumes_exactly():
    g = gen(5)
    stream = IndexStream(torch.arange(10), g)
    stream.next(7)
    state, g_state = stream.state_dict(), g.get_state()
    expected = [stream.next(4) for _ in range(4)]
    g2 = torch.Generator()
    g2.set_state(g_state)
    resumed = IndexStream(torch.arange(10), g2)
    resumed.load_state_dict(state)
    assert all(torch.equal(a, b) for a, b in zip(expected, [resumed.next(4) for _ in range(4)]))


@pytest.mark.parametrize("kwargs, message", [({"crop_pad": -1}, "crop_pad=-1"), ({"cutout": 2.5}, "cutout=2.5"),
                                             ({"mixup_alpha": -0.1}, "mixup_alpha=-0.1")])
def test_bad_augment_config(kwargs, message):
    with pytest.raises(ValueError, match=message):
        AugmentConfig(**kwargs)


def test_an_index_stream_with_host_copies_hands_the_same_indices_on_the_host():
    g = gen(2)
    stream = IndexStream(torch.arange(10), g, host_copy=True)
    plain = IndexStream(torch.arange(10), gen(2))
    for _ in range(7):  # 28 indices: batches that straddle permutations
        idx = stream.next(4)
        assert torch.equal(idx, plain.next(4)) and torch.equal(stream.last_host, idx.cpu())
    state, g_state = stream.state_dict(), g.get_state()
    expected = stream.next(4)
    g2 = torch.Generator()
    g2.set_state(g_state)
    resumed = IndexStream(torch.arange(10), g2, host_copy=True)
    resumed.load_state_dict(state)
    assert torch.equal(resumed.next(4), expected) and torch.equal(resumed.last_host, expected)


def test_mixup_draws_its_weight_from_a_host_generator():
    x, y = torch.randn(8, 1, 4, 4), torch.arange(8)
    a, b = mixup(x, y, 0.4, gen(3)), mixup(x, y, 0.4, gen(3))
    assert a.lam == b.lam and torch.equal(a.x, b.x)
    on_device = SimpleNamespace(device=torch.device("cuda"))  # what a CUDA run's generator reports
    with pytest.raises(ValueError, match="expected a CPU generator, got cuda"):
        mixup(x, y, 0.4, on_device)
