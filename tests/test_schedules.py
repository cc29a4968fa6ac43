"""Tests for tinyae.schedules: start/end values, shape of each curve, range, errors."""

import math
import warnings

import numpy as np
import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from tinyae.registry import lookup
from tinyae.schedules import SCHEDULES, constant, cosine_decay, cyclical, linear_warmup, sigmoid_anneal

steps = st.integers(min_value=1, max_value=5_000)
ends = st.floats(min_value=0.01, max_value=10.0)


def all_schedules(total: int, end: float) -> list:
    """Each schedule as w(t), with settings that fit a run of ``total`` steps."""
    return [
        lambda t: constant(t, end),
        lambda t: linear_warmup(t, max(1, total // 3), end=end),
        lambda t: sigmoid_anneal(t, total, end=end),
        lambda t: cyclical(t, total, n_cycles=min(4, total), end=end),
    ]


# --- values at the start and the end --------------------------------------------------


def test_constant_is_constant():
    assert np.all(constant(np.arange(50), 0.1) == 0.1)
    assert constant(0) == 1.0


@given(warmup=steps, start=st.floats(0, 0.5), end=st.floats(0.5, 5))
def test_linear_start_end_and_midpoint(warmup, start, end):
    def s(t):
        return linear_warmup(t, warmup, start=start, end=end)

    assert s(0) == pytest.approx(start)
    assert s(warmup) == pytest.approx(end)
    assert s(10 * warmup) == pytest.approx(end)  # stays at end
    if warmup % 2 == 0:
        assert s(warmup // 2) == pytest.approx((start + end) / 2)


@given(total=steps, end=ends)
def test_sigmoid_default_starts_near_zero_and_ends_near_end(total, end):
    def s(t):
        return sigmoid_anneal(t, total, end=end)

    assert s(0) < 0.01 * end
    assert s(total) > 0.99 * end
    # exactly σ(∓5)·end at the ends: the default k = 10 / total_steps, t0 = total_steps / 2
    assert s(0) == pytest.approx(end / (1 + math.exp(5)), rel=1e-12)
    assert s(total) == pytest.approx(end / (1 + math.exp(-5)), rel=1e-12)
    if total % 2 == 0:
        assert s(total // 2) == pytest.approx(end / 2)  # the midpoint gives end / 2


def test_sigmoid_matches_bowman_formula_where_naive_is_safe():
    t = np.arange(0, 400)
    w = sigmoid_anneal(t, 200, k=0.05, midpoint=80, end=2.0)
    np.testing.assert_allclose(w, 2.0 / (1 + np.exp(-0.05 * (t - 80))), rtol=1e-12)


def test_sigmoid_huge_k_is_a_step_without_overflow_warnings():
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # any overflow RuntimeWarning fails the test
        w = sigmoid_anneal(np.array([0, 49, 50, 51, 10**9]), 100, k=1e6)
    np.testing.assert_array_equal(w, [0.0, 0.0, 0.5, 1.0, 1.0])


# --- shape of the curves --------------------------------------------------------------


@given(total=steps, end=ends)
@settings(max_examples=50)
def test_linear_and_sigmoid_are_non_decreasing(total, end):
    t = np.arange(2 * total)
    for w in (linear_warmup(t, total, end=end), sigmoid_anneal(t, total, end=end)):
        assert np.all(np.diff(w) >= 0)


@given(total=steps, end=ends)
@settings(max_examples=50)
def test_every_schedule_stays_in_zero_to_end(total, end):
    t = np.arange(2 * total + 1)
    for s in all_schedules(total, end):
        w = s(t)
        assert w.min() >= 0 and w.max() <= end * (1 + 1e-12)


def test_cyclical_known_values():
    t = np.array([0, 5, 12, 13, 24, 25, 30, 99, 100, 500])
    w = cyclical(t, 100, n_cycles=4, ratio=0.5)  # cycles of 25 steps, rising over 12.5
    np.testing.assert_allclose(w, [0, 0.4, 0.96, 1, 1, 0, 0.4, 1, 1, 1])


@given(total=st.integers(10, 3_000), cycles=st.integers(1, 8), ratio=st.floats(0.05, 0.9),
       end=ends)
@settings(max_examples=60)
def test_cyclical_resets_at_each_cycle_start_and_reaches_end(total, cycles, ratio, end):
    period = total / cycles
    assume(period * (1 - ratio) >= 1)  # at least one whole step sits on the plateau
    assume(period * ratio >= 2)  # and the ramp is long enough to start below end / 2
    t = np.arange(total)
    w = cyclical(t, total, n_cycles=cycles, ratio=ratio, end=end)
    cycle = t * cycles // total  # index of the cycle each step belongs to
    for c in range(cycles):
        in_cycle = w[cycle == c]
        assert in_cycle[0] < end / (ratio * period) + 1e-12  # restarted near 0
        assert in_cycle.max() == pytest.approx(end)  # reached the top
        assert np.all(np.diff(in_cycle) >= 0)  # rises, never falls inside a cycle
    starts = np.flatnonzero(np.diff(cycle)) + 1
    assert np.all(w[starts] < w[starts - 1])  # each new cycle drops the weight
    assert len(starts) == cycles - 1


def test_cyclical_with_one_cycle_and_ratio_one_is_linear():
    t = np.arange(100)
    np.testing.assert_allclose(cyclical(t, 100, n_cycles=1, ratio=1.0), linear_warmup(t, 100))


# --- scalar and vector calls ------------------------------------------------------------


@given(total=steps, t=st.lists(st.integers(0, 20_000), min_size=1, max_size=20))
@settings(max_examples=50)
def test_vectorised_equals_scalar(total, t):
    for s in all_schedules(total, 1.0):
        vec = s(np.array(t))
        assert vec.shape == (len(t),)
        assert [s(i) for i in t] == pytest.approx(list(vec), rel=1e-15, abs=0)


def test_scalar_returns_python_float_and_array_keeps_shape():
    assert type(sigmoid_anneal(3, 10)) is float and type(sigmoid_anneal(np.int64(3), 10)) is float
    assert sigmoid_anneal(np.arange(6).reshape(2, 3), 10).shape == (2, 3)


# --- the CLI's table and errors ----------------------------------------------------------


def test_the_cli_table_names_each_schedule_rising_to_end_over_the_run():
    t, same = np.arange(250), np.testing.assert_array_equal
    same(SCHEDULES["constant"](t, 100, 2.0), constant(t, 2.0))
    same(SCHEDULES["linear"](t, 100, 2.0), linear_warmup(t, 50, end=2.0))  # over the first half
    same(SCHEDULES["linear"](t, 1, 2.0), linear_warmup(t, 1, end=2.0))
    same(SCHEDULES["sigmoid"](t, 100, 2.0), sigmoid_anneal(t, 100, end=2.0))
    same(SCHEDULES["cyclical"](t, 100, 2.0), cyclical(t, 100, end=2.0))
    assert set(SCHEDULES) == {"constant", "linear", "sigmoid", "cyclical"}


def test_unknown_name_lists_the_valid_ones():
    with pytest.raises(ValueError, match=r"'cosine'.*constant.*cyclical.*linear.*sigmoid"):
        lookup(SCHEDULES, "cosine", "KL schedule")


@pytest.mark.parametrize(
    "build, error, match",
    [
        (lambda: linear_warmup(0, -5), ValueError, "warmup_steps must be >= 1"),
        (lambda: linear_warmup(0, 0), ValueError, "warmup_steps must be >= 1"),
        (lambda: linear_warmup(0, 2.5), TypeError, "warmup_steps must be an int"),
        (lambda: linear_warmup(0, True), TypeError, "warmup_steps must be an int"),
        (lambda: linear_warmup(0, 10, start=2.0, end=1.0), ValueError, "start .* <= end"),
        (lambda: linear_warmup(0, 10, end=-2.0), ValueError, "end must be a finite number >= 0"),
        (lambda: constant(0, -1.0), ValueError, "value must be a finite number >= 0"),
        (lambda: constant(0, float("nan")), ValueError, "finite"),
        (lambda: constant(0, "1"), TypeError, "value must be a number"),
        (lambda: sigmoid_anneal(0, 0), ValueError, "total_steps must be >= 1"),
        (lambda: sigmoid_anneal(0, 10, k=0.0), ValueError, "k must be > 0"),
        (lambda: sigmoid_anneal(0, 10, k=-1.0), ValueError, "k must be a finite number >= 0"),
        (lambda: cyclical(0, 10, ratio=0.0), ValueError, r"ratio must be in \(0, 1\]"),
        (lambda: cyclical(0, 10, ratio=1.5), ValueError, r"ratio must be in \(0, 1\]"),
        (lambda: cyclical(0, 10, n_cycles=0), ValueError, "n_cycles must be >= 1"),
        (lambda: cyclical(0, 3, n_cycles=4), ValueError, "each cycle needs at least one step"),
        (lambda: cyclical(0, -1), ValueError, "total_steps must be >= 1"),
        (lambda: SCHEDULES["sigmoid"](0, 100, -1.0), ValueError, "end must be a finite number >= 0"),
    ],
)
def test_bad_arguments_raise_clear_errors(build, error, match):
    with pytest.raises(error, match=match):
        build()


@pytest.mark.parametrize("t", [1.5, np.array([0.0, 1.0]), True, "3"])
def test_non_integer_step_is_rejected(t):
    for w in all_schedules(10, 1.0):
        with pytest.raises(TypeError, match="step t must be an int"):
            w(t)


def test_negative_step_is_rejected():
    for w in all_schedules(10, 1.0):
        with pytest.raises(ValueError, match="step t must be >= 0"):
            w(np.array([3, -1]))


# --- KLAnnealing: a schedule applied to a VAE's beta during fit ------------------------


def _annealed_fit(per, schedule, epochs=3, n=40, batch_size=16):
    """Fit a tiny VAE with KLAnnealing; also return the β seen by every batch."""
    from tinyae import BCE, Adam, Callback, fit
    from tinyae.models.vae import dense_vae
    from tinyae.schedules import KLAnnealing

    class BetaSpy(Callback):  # runs after KLAnnealing, so it sees the β each batch uses
        def __init__(self):
            self.seen = []

        def on_batch_begin(self, model, step):
            self.seen.append(model.beta)

    vae, spy = dense_vae("6-4-2", beta=7.0), BetaSpy()
    x = np.random.default_rng(0).uniform(size=(n, 6)).astype(np.float32)
    history = fit(vae, x, loss=BCE("batchmean"), optimizer=Adam(1e-2), epochs=epochs,
                  batch_size=batch_size, callbacks=[KLAnnealing(schedule, per=per), spy], verbose=False)
    return vae, history, spy.seen


def test_kl_annealing_per_step_sets_beta_every_batch_and_records_its_epoch_mean():
    def schedule(t):
        return linear_warmup(t, 6)

    vae, history, seen = _annealed_fit("step", schedule)  # 3 batches per epoch, 9 in all
    np.testing.assert_allclose(seen, schedule(np.arange(9)))
    np.testing.assert_allclose(history["beta"], schedule(np.arange(9)).reshape(3, 3).mean(axis=1))
    assert vae.beta == schedule(8)


def test_kl_annealing_per_epoch_holds_beta_for_the_whole_epoch():
    def schedule(t):
        return sigmoid_anneal(t, 3)

    vae, history, seen = _annealed_fit("epoch", schedule)
    np.testing.assert_allclose(seen, np.repeat(schedule(np.arange(3)), 3))
    np.testing.assert_allclose(history["beta"], schedule(np.arange(3)))
    assert vae.beta == schedule(2)  # the β the last epoch trained with
    # the epoch's loss is recon + β·KL with that epoch's β
    recon, beta, kl = history["recon"][0], history["beta"][0], history["kl"][0]
    np.testing.assert_allclose(history["loss"][0], recon + beta * kl, rtol=1e-5)


def test_kl_annealing_refuses_models_without_beta_and_bad_units():
    from tinyae import MSE, SGD, Dense, Sequential, fit
    from tinyae.schedules import KLAnnealing

    with pytest.raises(ValueError, match="per must be 'step'"):
        KLAnnealing(constant, per="batch")
    with pytest.raises(TypeError, match="callable"):
        KLAnnealing(0.5)
    x = np.zeros((4, 2), dtype=np.float32)
    with pytest.raises(TypeError, match="use it with a VAE"):
        fit(Sequential([Dense(2, 2)]), x, loss=MSE(), optimizer=SGD(), callbacks=[KLAnnealing(constant)],
            verbose=False)


# --- cosine_decay and LearningRateSchedule: the learning rate over a run ------------------


@given(total=st.integers(2, 5000), start=st.floats(1e-5, 1.0), end_share=st.floats(0.0, 1.0),
       warm_share=st.floats(0.0, 0.9))
def test_cosine_decay_starts_at_start_ends_at_end_and_never_rises_after_warmup(total, start, end_share,
                                                                               warm_share):
    end, warmup = start * end_share, int(warm_share * (total - 1))
    lr = cosine_decay(np.arange(total + 3), total, start, end, warmup)
    assert lr[warmup] == pytest.approx(start)
    assert lr[total] == pytest.approx(end) and lr[-1] == pytest.approx(end)  # held after T
    assert np.all(np.diff(lr[warmup:]) <= 1e-12 * start)
    assert np.all(lr[warmup:] >= end - 1e-12 * start) and np.all(lr <= start * (1 + 1e-12))
    assert np.all(lr[:total] > 0)  # a step of lr 0 would be wasted
    if warmup:  # the warm-up rises linearly from start / warmup_steps
        np.testing.assert_allclose(lr[:warmup], start * np.arange(1, warmup + 1) / warmup)


def test_cosine_decay_is_half_way_at_the_middle_and_refuses_bad_settings():
    assert cosine_decay(50, 100, 2e-3, 0.0) == pytest.approx(1e-3)  # cos(π/2) = 0
    assert cosine_decay(60, 100, 2e-3, 0.0, warmup_steps=20) == pytest.approx(1e-3)
    with pytest.raises(ValueError, match="end <= start"):
        cosine_decay(0, 100, 1e-3, 2e-3)
    with pytest.raises(ValueError, match="0 < start"):
        cosine_decay(0, 100, 0.0)
    with pytest.raises(ValueError, match=r"warmup_steps must be an int in \[0, total_steps = 100\)"):
        cosine_decay(0, 100, 1e-3, warmup_steps=100)


def test_learning_rate_schedule_sets_the_optimizer_lr_every_batch_and_records_its_mean():
    from tinyae import MSE, SGD, Callback, Dense, Sequential, fit
    from tinyae.schedules import LearningRateSchedule

    optimizer = SGD(0.1)

    class Spy(Callback):  # runs after the schedule: sees the rate each batch uses
        def __init__(self):
            self.seen = []

        def on_batch_begin(self, model, step):
            self.seen.append(optimizer.lr)

    def schedule(t):
        return cosine_decay(t, 9, 0.1, warmup_steps=2)

    x, spy = np.random.default_rng(0).uniform(size=(40, 3)).astype(np.float32), Spy()
    history = fit(Sequential([Dense(3, 3)]), x, loss=MSE(), optimizer=optimizer, epochs=3,
                  batch_size=16, callbacks=[LearningRateSchedule(optimizer, schedule), spy],
                  verbose=False)
    np.testing.assert_allclose(spy.seen, schedule(np.arange(9)))
    np.testing.assert_allclose(history["lr"], schedule(np.arange(9)).reshape(3, 3).mean(axis=1))


def test_learning_rate_schedule_refuses_what_is_not_an_optimizer_or_a_rate():
    from tinyae import SGD, Dense, Sequential
    from tinyae.schedules import LearningRateSchedule

    with pytest.raises(TypeError, match="has no lr: pass the optimizer"):
        LearningRateSchedule(Sequential([Dense(2, 2)]), constant)
    callback = LearningRateSchedule(SGD(0.1), lambda t: float("nan"))
    with pytest.raises(ValueError, match="learning rate schedule returned nan at t = 0"):
        callback.on_batch_begin(None, 0)
