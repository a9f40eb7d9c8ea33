"""The unit-comparison tolerance: reduction-order noise must neither hide nor invent symmetry."""

from __future__ import annotations

import pytest

torch = pytest.importorskip("torch")
nn = torch.nn

from initlint.runtime.units import group, refine, rtol_for, views


@pytest.fixture(autouse=True, scope="module")
def one_thread():
    """OpenMP's barriers crawl on a loaded 2-core machine; these tensors are small."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


def _vectors(parts):
    generator = torch.Generator().manual_seed(0)
    return [torch.randn(p.shape[1], 2, generator=generator, dtype=torch.float64) for p in parts]


def _distinct(parts, dtype=torch.float32):
    return torch.unique(group(parts, _vectors(parts), rtol_for(dtype))).numel()


def test_rounding_noise_does_not_hide_symmetry():
    """Identical rows perturbed by a few ulps (as split-K / atomic reductions do on a GPU) stay one group."""
    row = torch.randn(1, 4096)
    rows = row.repeat(256, 1)
    noise = torch.randn_like(rows) * rows.abs() * 4 * torch.finfo(torch.float32).eps
    assert _distinct([rows + noise]) == 1


def test_summation_order_does_not_hide_symmetry():
    """The same gradient row computed with different reduction orders (a real GEMM, shuffled batch)."""
    x = torch.randn(512, 300)
    delta = torch.randn(512, 1).expand(512, 64)  # every unit gets the same upstream gradient
    forward = delta.t() @ x
    shuffled = torch.randperm(512)
    backward = (delta[shuffled].t() @ x[shuffled])
    mixed = torch.where(torch.rand(64, 1) < 0.5, forward, backward)
    assert _distinct([mixed]) == 1


def test_random_units_are_never_merged():
    layer = nn.Linear(1024, 4096)
    assert _distinct([layer.weight.detach()]) == 4096


def test_small_real_differences_are_kept():
    rows = torch.randn(1, 100).repeat(8, 1)
    rows[3, 17] += 1e-3 * rows.abs().max()  # one entry differs by 0.1% of the scale
    assert _distinct([rows]) == 2


def test_bias_part_breaks_ties():
    weight = torch.ones(6, 5)
    bias = torch.arange(6.0).reshape(6, 1)
    assert _distinct([weight]) == 1
    assert _distinct([weight, bias]) == 6


def test_all_zero_tensor_is_one_group():
    assert _distinct([torch.zeros(10, 7)]) == 1


def test_refine_intersects_partitions():
    a = torch.tensor([0, 0, 0, 1, 1])
    b = torch.tensor([0, 0, 1, 1, 1])
    assert torch.unique(refine(a, b)).numel() == 3


def test_half_precision_tolerance_is_looser():
    assert rtol_for(torch.float32) == 1e-5
    assert rtol_for(torch.bfloat16) > 1e-2


def test_views_use_known_axes_and_both_axes_for_raw_parameters():
    class Mixed(nn.Module):
        def __init__(self):
            super().__init__()
            self.fc = nn.Linear(3, 4)
            self.up = nn.ConvTranspose2d(4, 6, 3)
            self.emb = nn.Embedding(10, 5)
            self.norm = nn.LayerNorm(5)
            self.W = nn.Parameter(torch.randn(3, 2))

    found = {(v.name, v.axis, v.raw, v.bias is not None) for v in views(Mixed())}
    assert found == {
        ("fc.weight", 0, False, True),
        ("up.weight", 1, False, True),
        ("emb.weight", 1, False, False),
        ("W", 0, True, False),
        ("W", 1, True, False),
    }


# ---- the fast path: _all_apart settles a random init without `group` ------------------------------

from initlint.runtime.units import SAMPLE, _all_apart  # noqa: E402


def _apart(rows):
    limit = rtol_for(rows.dtype) * float(rows.abs().max())
    return _all_apart([rows], [limit], torch.Generator().manual_seed(0))


def test_all_apart_on_random_layers_of_every_width():
    for units, width in ((2, 3), (10, 256), (512, 784), (4096, 1024)):
        assert _apart(nn.Linear(width, units).weight.detach())


def test_all_apart_refuses_identical_or_tolerably_equal_rows():
    rows = nn.Linear(300, 64).weight.detach().clone()
    rows[40] = rows[7]
    assert not _apart(rows)
    rows = nn.Linear(300, 64).weight.detach().clone()
    rows[40] = rows[7] * (1 + 2 * torch.finfo(torch.float32).eps)  # rounding noise only
    assert not _apart(rows)


def test_all_apart_checks_near_neighbours_element_by_element():
    """Rows equal on every sampled coordinate project alike; they differ elsewhere, so they are
    near neighbours that the element-wise test must set apart (not merge, not give up on)."""
    width = 4 * SAMPLE
    rows = nn.Linear(width, 32).weight.detach().clone()
    rows[5] = rows[20]
    rows[5, 1] += 0.5  # coordinate 1 is not sampled (the sample takes every 4th)
    assert _apart(rows)
    assert _distinct([rows]) == 32  # and `group` agrees


def test_all_apart_gives_up_to_group_when_many_rows_are_near():
    rows = torch.zeros(200, 256)
    rows[:, 1] = torch.arange(200, dtype=torch.float32)  # distinct, but only off the sample
    assert not _apart(rows)  # one run of 200 near rows (19,900 pairs): too long to check here...
    assert _distinct([rows]) == 200  # ...and the full algorithm sets every one apart
