import pytest
import torch

from engine.schedule import DDIMSampler, SqrtSchedule


def test_alpha_bar_is_decreasing_sqrt_schedule():
    s = SqrtSchedule(1200)
    ab = s.alpha_bar
    assert ab.shape == (1201,)
    assert ab[0] == 1.0
    assert torch.all(ab[1:] <= ab[:-1])
    assert abs(float(ab[300]) - (1 - (0.25 + 1e-4) ** 0.5)) < 1e-6
    assert float(ab[-1]) < 1e-3  # x_T is (almost) pure noise


@pytest.mark.parametrize("t", [1, 10, 600, 1199, 1200])
def test_noising_then_exact_inverse_recovers_x0(t):
    torch.manual_seed(0)
    s = SqrtSchedule(1200)
    x0 = torch.randn(3, 7, 16)
    eps = torch.randn_like(x0)
    tt = torch.full((3,), t)
    x_t = s.add_noise(x0, eps, tt)
    assert torch.allclose(s.predict_eps(x_t, x0, tt), eps, atol=1e-3)
    if t < 1200:  # at t = T the signal is ~3e-3 of x_t: recovery is ill-conditioned
        assert torch.allclose(s.recover_x0(x_t, eps, tt), x0, atol=1e-3)


def test_ddim_respacing_and_exact_step():
    s = SqrtSchedule(1200)
    d = DDIMSampler(s)
    ts = d.set_timesteps(10)
    assert ts[0] == 1200 and len(ts) == 10 and ts == sorted(ts, reverse=True)
    assert d.pairs()[-1][1] == 0
    # with the true x0, a DDIM step lands exactly on the noised x0 at t_prev (same eps)
    x0 = torch.randn(2, 5, 8)
    eps = torch.randn_like(x0)
    x_t = s.add_noise(x0, eps, torch.full((2,), 600))
    x_prev = d.step(x0, 600, 480, x_t)
    assert torch.allclose(x_prev, s.add_noise(x0, eps, torch.full((2,), 480)), atol=1e-4)
    assert torch.equal(d.step(x0, 120, 0, x_t), x0)
    with pytest.raises(ValueError):
        d.set_timesteps(0)


def test_step_spacing_puts_steps_at_high_noise():
    s = SqrtSchedule(1200)
    even = DDIMSampler(s).set_timesteps(4)
    dense_high = DDIMSampler(s).set_timesteps(4, spacing=0.5)
    assert even == [1200, 900, 600, 300]
    assert dense_high[0] == 1200 and len(dense_high) == 4
    assert all(a >= b for a, b in zip(dense_high, even))  # every step at least as noisy
    with pytest.raises(ValueError):
        DDIMSampler(s).set_timesteps(4, spacing=0)
