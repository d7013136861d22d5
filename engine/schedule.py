"""Noise schedule and DDIM-style sampler, as plain objects apart from the network.

Notation (CodeFusion / Diffusion-LM):
    x0          clean program embeddings L(y)                      (B, L, d)
    t           diffusion step, 1..T (T = diffusion_steps, paper 1,200)
    alpha_bar_t cumulative signal level; sqrt schedule: 1 - sqrt(t/T + s)
    x_t         = sqrt(alpha_bar_t) * x0 + sqrt(1 - alpha_bar_t) * eps,  eps ~ N(0, I)
The network predicts x0_hat (see model.py for why); eps_hat follows from x_t and x0_hat.
The sampler walks a respaced subsequence of the T steps (DDIM, eta = 0), so any number
of sampling steps <= T works with a model trained on T.
"""
from __future__ import annotations

import math

import torch


class SqrtSchedule:
    """alpha_bar(t) = 1 - sqrt(t/T + s), the square-root schedule of Diffusion-LM."""

    def __init__(self, num_train_timesteps: int = 1200, s: float = 1e-4):
        self.T = num_train_timesteps
        t = torch.arange(0, self.T + 1, dtype=torch.float64)
        ab = 1.0 - torch.sqrt(t / self.T + s)
        ab[0] = 1.0  # t = 0 is the clean program
        self.alpha_bar = ab.clamp(min=1e-5).float()  # (T+1,)

    def add_noise(self, x0: torch.Tensor, noise: torch.Tensor, t: torch.Tensor) -> torch.Tensor:
        """q(x_t | x0): x_t = sqrt(ab_t) x0 + sqrt(1-ab_t) eps.  x0, noise (B,L,d); t (B,) long."""
        ab = self.alpha_bar.to(x0.device)[t].view(-1, 1, 1)  # (B,1,1)
        return ab.sqrt() * x0 + (1 - ab).sqrt() * noise

    def predict_eps(self, x_t: torch.Tensor, x0_hat: torch.Tensor, t: torch.Tensor) -> torch.Tensor:
        """eps_hat = (x_t - sqrt(ab_t) x0_hat) / sqrt(1-ab_t): the exact inverse of add_noise."""
        ab = self.alpha_bar.to(x_t.device)[t].view(-1, 1, 1)
        return (x_t - ab.sqrt() * x0_hat) / (1 - ab).sqrt()

    def recover_x0(self, x_t: torch.Tensor, eps: torch.Tensor, t: torch.Tensor) -> torch.Tensor:
        """x0 = (x_t - sqrt(1-ab_t) eps) / sqrt(ab_t)."""
        ab = self.alpha_bar.to(x_t.device)[t].view(-1, 1, 1)
        return (x_t - (1 - ab).sqrt() * eps) / ab.sqrt()


class DDIMSampler:
    """Deterministic DDIM (eta = 0) over a respaced subsequence of the T training steps.

        sampler.set_timesteps(20)
        x = torch.randn(...)                      # x_T
        for t, t_prev in sampler.pairs():
            x0_hat = model(x, t, ...)
            x = sampler.step(x0_hat, t, t_prev, x)  # x_{t_prev}
    """

    def __init__(self, schedule: SqrtSchedule):
        self.schedule = schedule
        self.timesteps: list[int] = []

    def set_timesteps(self, num_steps: int, spacing: float = 1.0) -> list[int]:
        """t_i = T (1 - i/n)^spacing for i < n, then 0 (the clean end point): spacing 1 is
        even; spacing < 1 puts more of the steps where the noise is high."""
        T = self.schedule.T
        if not 1 <= num_steps <= T:
            raise ValueError(f"steps must be in 1..{T}, got {num_steps}")
        if not spacing > 0:
            raise ValueError(f"spacing must be > 0, got {spacing}")
        ts = [int(round(T * (1 - i / num_steps) ** spacing)) for i in range(num_steps)]
        self.timesteps = sorted(set(max(1, t) for t in ts), reverse=True)
        return self.timesteps

    def pairs(self) -> list[tuple[int, int]]:
        ts = self.timesteps + [0]
        return list(zip(ts[:-1], ts[1:]))

    def step(self, x0_hat: torch.Tensor, t: int, t_prev: int, x_t: torch.Tensor) -> torch.Tensor:
        """x_{t_prev} = sqrt(ab_prev) x0_hat + sqrt(1-ab_prev) eps_hat (DDIM, eta = 0)."""
        ab = self.schedule.alpha_bar
        if t_prev == 0:
            return x0_hat
        a_t, a_p = float(ab[t]), float(ab[t_prev])
        eps = (x_t - math.sqrt(a_t) * x0_hat) / math.sqrt(1 - a_t)
        return math.sqrt(a_p) * x0_hat + math.sqrt(1 - a_p) * eps
