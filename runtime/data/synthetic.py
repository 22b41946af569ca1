"""Synthetic datasets, generated offline from a seed (numpy only).

Each function is self-contained (numpy imported inside) because the exported training script
embeds their source verbatim: the script's data is exactly what the app trained on.
"""

from __future__ import annotations

WAVEFORM_KINDS = ("sine", "square", "sawtooth", "pulse")


def make_moons(samples=1000, noise=0.1, seed=0):
    """Two interleaving half circles: x (N, 2) float32, y (N,) int64 in {0, 1}."""
    import numpy as np

    rng = np.random.default_rng(seed)
    n_out = samples // 2
    n_in = samples - n_out
    t_out = np.linspace(0, np.pi, n_out)
    t_in = np.linspace(0, np.pi, n_in)
    x = np.concatenate([np.stack([np.cos(t_out), np.sin(t_out)], 1),
                        np.stack([1 - np.cos(t_in), 0.5 - np.sin(t_in)], 1)])
    y = np.concatenate([np.zeros(n_out), np.ones(n_in)]).astype(np.int64)
    x = x + rng.normal(0.0, noise, x.shape)
    order = rng.permutation(samples)
    return x[order].astype(np.float32), y[order]


def make_spirals(samples=1000, noise=0.1, seed=0, arms=3):
    """`arms` interleaved spirals: x (N, 2) float32, y (N,) int64 in range(arms)."""
    import numpy as np

    rng = np.random.default_rng(seed)
    y = np.arange(samples) % arms
    r = rng.uniform(0.05, 1.0, samples)
    theta = r * 3.0 * np.pi + y * (2 * np.pi / arms)
    x = np.stack([r * np.cos(theta), r * np.sin(theta)], 1) + rng.normal(0.0, noise, (samples, 2))
    order = rng.permutation(samples)
    return x[order].astype(np.float32), y[order].astype(np.int64)


def make_sine(samples=1000, seq_len=32, horizon=1, noise=0.05, seed=0):
    """Sine-wave forecasting: x (N, seq_len, 1) noisy past values, y (N, horizon) the next clean values."""
    import numpy as np

    rng = np.random.default_rng(seed)
    t = np.arange(seq_len + horizon, dtype=np.float64)[None, :]
    period = rng.uniform(8.0, 24.0, (samples, 1))  # steps per cycle
    amplitude = rng.uniform(0.5, 1.5, (samples, 1))
    phase = rng.uniform(0.0, 2 * np.pi, (samples, 1))
    clean = amplitude * np.sin(2 * np.pi * t / period + phase)
    x = clean[:, :seq_len] + rng.normal(0.0, noise, (samples, seq_len))
    return x[:, :, None].astype(np.float32), clean[:, seq_len:].astype(np.float32)


def make_waveforms(samples=1000, seq_len=32, noise=0.1, seed=0):
    """Sequence classification: x (N, seq_len, 1) of a sine, square, sawtooth or pulse wave; y (N,) its kind."""
    import numpy as np

    rng = np.random.default_rng(seed)
    y = rng.permutation(np.arange(samples) % 4).astype(np.int64)
    t = np.arange(seq_len, dtype=np.float64)[None, :]
    cycles = rng.uniform(1.5, 4.0, (samples, 1))
    phase = rng.uniform(0.0, 1.0, (samples, 1))
    amplitude = rng.uniform(0.5, 1.5, (samples, 1))
    u = (t * cycles / seq_len + phase) % 1.0  # position in the cycle, 0..1
    waves = np.stack([
        np.sin(2 * np.pi * u),
        np.where(u < 0.5, 1.0, -1.0),
        2.0 * u - 1.0,
        np.where(u < 0.2, 1.0, -0.25),  # short pulses on a low baseline
    ])  # (4, N, seq_len)
    x = amplitude * waves[y, np.arange(samples)] + rng.normal(0.0, noise, (samples, seq_len))
    return x[:, :, None].astype(np.float32), y
