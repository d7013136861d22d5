"""Noise schedules and the DDIM-style sampler, as plain objects apart from the network.

Notation (CodeFusion / Diffusion-LM):
    x0          clean program embeddings L(y), each token at RMS s = x0_scale per dimension  (B, L, d)
    t           diffusion step, 1..T (T = diffusion_steps, paper 1,200)
    alpha_bar_t cumulative signal level
    x_t         = sqrt(alpha_bar_t) * x0 + sqrt(1 - alpha_bar_t) * eps,  eps ~ N(0, I)
    token SNR   = d * s^2 * alpha_bar_t / (1 - alpha_bar_t): the signal-to-noise ratio of one
                  token's whole embedding. It, not t, says whether a token can be read off x_t:
                  near 20 and above the nearest embedding of x_t is the token, below ~1 nothing is.

Two schedules:
    LogSNRSchedule (ships)  log token-SNR falls linearly in t from snr_max to snr_min, so uniform t
                            trains every band from "trivially readable" to "unreadable" equally,
                            whatever d and s are, and evenly spaced sampling steps are even in log-SNR.
    SqrtSchedule (paper)    alpha_bar = 1 - sqrt(t/T + s) (Diffusion-LM, CodeFusion). At s = 0.1,
                            d = 256 tokens are readable only for t/T < 0.02, so uniform t spends
                            ~98 % of training where x_t says almost nothing
                            (shared/notes/diffusion-pitfalls.md). Kept for the paper's recipe and
                            for checkpoints trained with it.

The network predicts x0_hat (see model.py for why); eps_hat follows from x_t and x0_hat.
The sampler walks a subsequence of the T steps (DDIM, eta = 0), so any number of sampling
steps <= T works with a model trained on T.
"""

from __future__ import annotations

import math

import torch

# Token-SNR bands for per-noise-level figures (training logs, `codefusion diagnose`):
# unreadable, faint, partial, mostly readable, readable.
SNR_BANDS: tuple = (
    ("lt0.3", 0.0, 0.3),
    ("0.3-2", 0.3, 2.0),
    ("2-5", 2.0, 5.0),
    ("5-20", 5.0, 20.0),
    ("ge20", 20.0, float("inf")),
)


def snr_band(snr: float) -> str:
    for name, lo, hi in SNR_BANDS:
        if lo <= snr < hi:
            return name
    return SNR_BANDS[-1][0]


class _Schedule:
    """alpha_bar (T+1,) over t = 0..T, and the forward process q(x_t | x0) on it."""

    T: int
    alpha_bar: torch.Tensor

    def __init__(self, d: int, x0_scale: float):
        self.d, self.x0_scale = d, x0_scale

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

    def token_snr(self, t) -> torch.Tensor:
        """d s^2 ab_t / (1 - ab_t) for t (int or tensor of 1..T); inf at t = 0."""
        ab = self.alpha_bar.double()[torch.as_tensor(t)]
        return (self.d * self.x0_scale**2 * ab / (1 - ab)).float()

    def t_at_snr(self, snr: float) -> int:
        """The step 1..T whose token SNR is closest to `snr` (in log)."""
        s = self.token_snr(torch.arange(1, self.T + 1)).double().log()
        return int((s - math.log(snr)).abs().argmin()) + 1

    def prior_scale(self, t: torch.Tensor) -> torch.Tensor:
        """sqrt(ab_t) / (1 - ab_t): log N(x_t; sqrt(ab_t) x0(v), 1 - ab_t) = this * x_t . x0(v) + const
        over tokens v (every x0(v) has the same norm), the output prior's factor.  t (B,) -> (B,)."""
        ab = self.alpha_bar.to(t.device)[t]
        return ab.sqrt() / (1 - ab)


class LogSNRSchedule(_Schedule):
    """log token-SNR(t) = log snr_max + (log snr_min - log snr_max) t / T; alpha_bar(0) = 1."""

    def __init__(
        self,
        num_train_timesteps: int = 1200,
        d: int = 256,
        x0_scale: float = 0.1,
        snr_min: float = 0.05,
        snr_max: float = 100.0,
    ):
        super().__init__(d, x0_scale)
        if not 0 < snr_min < snr_max:
            raise ValueError(f"need 0 < snr_min < snr_max, got {snr_min}, {snr_max}")
        self.T = num_train_timesteps
        t = torch.arange(0, self.T + 1, dtype=torch.float64)
        log_snr = math.log(snr_max) + (math.log(snr_min) - math.log(snr_max)) * t / self.T
        g = log_snr.exp() / (d * x0_scale**2)  # ab / (1 - ab)
        ab = g / (1 + g)
        ab[0] = 1.0  # t = 0 is the clean program
        self.alpha_bar = ab.float()  # (T+1,)


class SqrtSchedule(_Schedule):
    """alpha_bar(t) = 1 - sqrt(t/T + s), the square-root schedule of Diffusion-LM."""

    def __init__(self, num_train_timesteps: int = 1200, s: float = 1e-4, d: int = 256, x0_scale: float = 1.0):
        super().__init__(d, x0_scale)
        self.T = num_train_timesteps
        t = torch.arange(0, self.T + 1, dtype=torch.float64)
        ab = 1.0 - torch.sqrt(t / self.T + s)
        ab[0] = 1.0  # t = 0 is the clean program
        self.alpha_bar = ab.clamp(min=1e-5).float()  # (T+1,)


def make_schedule(cfg) -> _Schedule:
    """The schedule a ModelConfig names."""
    if cfg.schedule == "logsnr":
        return LogSNRSchedule(cfg.diffusion_steps, cfg.d_model, cfg.x0_scale, cfg.snr_min, cfg.snr_max)
    if cfg.schedule == "sqrt":
        return SqrtSchedule(cfg.diffusion_steps, d=cfg.d_model, x0_scale=cfg.x0_scale)
    raise ValueError(f"unknown noise schedule '{cfg.schedule}' (logsnr or sqrt)")


class DDIMSampler:
    """Deterministic DDIM (eta = 0) over a subsequence of the T training steps.

    sampler.set_timesteps(20)
    x = torch.randn(...)                      # x_T
    for t, t_prev in sampler.pairs():
        x0_hat = model(x, t, ...)
        x = sampler.step(x0_hat, t, t_prev, x)  # x_{t_prev}
    """

    def __init__(self, schedule: _Schedule):
        self.schedule = schedule
        self.timesteps: list[int] = []

    def set_timesteps(
        self, num_steps: int, spacing: float = 1.0, t_end: int | None = None, t_start: int | None = None
    ) -> list[int]:
        """The n steps at which the network is queried, from t_start (default T: pure noise)
        down to t_end, then 0 (the clean end point).

        t_end None: t_i = t_start (1 - i/n)^spacing (spacing 1 is even; < 1 puts more steps where
        the noise is high). t_end given: n steps evenly from t_start to t_end (for LogSNRSchedule,
        even in log-SNR), so the last query sits where tokens are readable whatever n is."""
        T = self.schedule.T
        start = T if t_start is None else int(t_start)
        if not 1 <= num_steps <= T:
            raise ValueError(f"steps must be in 1..{T}, got {num_steps}")
        if not spacing > 0:
            raise ValueError(f"spacing must be > 0, got {spacing}")
        if not 1 <= start <= T:
            raise ValueError(f"t_start must be in 1..{T}, got {start}")
        if t_end is None or num_steps == 1:
            ts = [int(round(start * (1 - i / num_steps) ** spacing)) for i in range(num_steps)]
        else:
            end = min(max(1, int(t_end)), start)
            ts = [int(round(start + (end - start) * i / (num_steps - 1))) for i in range(num_steps)]
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
