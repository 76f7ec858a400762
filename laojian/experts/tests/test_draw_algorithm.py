"""The pure draw algorithm: deterministic, without duplicates, respecting exclusions, coverage,
hospitals and weights; and its frequencies over many seeded draws."""

from __future__ import annotations

import hashlib
import hmac
import math
from collections import Counter

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from laojian.experts import draw as algo
from laojian.experts.selectors import chi2_sf


def spec(candidates, *, size=3, slots=(), excluded=(), occupied=()):
    return {
        "algorithm": algo.ALGORITHM,
        "size": size,
        "slots": [list(s) for s in slots],
        "occupied_hospitals": list(occupied),
        "candidates": [[i, h, list(specs), 0, w] for i, h, specs, w in candidates],
        "excluded": [{"id": i, "reason": "manual", "detail": ""} for i in excluded],
    }


def seed(n: int) -> bytes:
    return hashlib.sha256(f"test-seed-{n}".encode()).digest()


def uniform_pool(n: int, spec_code: str = "ortho"):
    return [(i, i, [spec_code], algo.WEIGHT_SCALE) for i in range(1, n + 1)]


def test_the_stream_is_fixed_for_a_seed_so_records_verify_on_any_machine():
    stream = algo.Stream(bytes(32))
    block = hmac.new(bytes(32), b"laojian-draw/1" + (0).to_bytes(8, "big"), hashlib.sha256).digest()
    assert [stream.below(1000) for _ in range(5)] == [416, 381, 86, 85, 741]
    assert int.from_bytes(block[:8], "big") % 1000 == 416


def test_same_spec_and_seed_give_the_same_panel():
    s = spec(uniform_pool(20))
    assert algo.run(s, seed(1)).picks == algo.run(s, seed(1)).picks


def test_weight_halves_with_one_recent_draw_and_is_never_zero():
    assert algo.weight_for(0) == 1_000_000
    assert algo.weight_for(1) == 500_000
    assert algo.weight_for(10**9) == 1


@settings(max_examples=200, deadline=None)
@given(
    n=st.integers(min_value=5, max_value=30),
    size=st.sampled_from([3, 5]),
    excluded=st.sets(st.integers(min_value=1, max_value=30), max_size=10),
    seed_bytes=st.binary(min_size=32, max_size=32),
)
def test_sampler_never_repeats_an_expert_and_never_picks_an_excluded_one(n, size, excluded, seed_bytes):
    pool = [(i, i % 4, ["ortho"], 1 + (i * 7919) % 1000) for i in range(1, n + 1)]
    s = spec(pool, size=size, excluded=sorted(excluded))
    if n - len(excluded & set(range(1, n + 1))) < size:
        with pytest.raises(algo.DrawImpossible):
            algo.run(s, seed_bytes)
        return
    ids = algo.run(s, seed_bytes).expert_ids
    assert len(ids) == size
    assert len(set(ids)) == size
    assert not set(ids) & excluded


@settings(max_examples=200, deadline=None)
@given(seed_bytes=st.binary(min_size=32, max_size=32))
def test_every_needed_specialty_is_covered(seed_bytes):
    # 1 neurologist among 10 orthopaedists; Hall's condition keeps the only eye doctor for the eye seat.
    pool = [(i, i, ["ortho"], 1000) for i in range(1, 11)]
    pool += [(11, 11, ["neuro"], 1), (12, 12, ["eye", "ortho"], 1000)]
    s = spec(pool, size=3, slots=[["ortho"], ["eye"], ["neuro"]])
    picks = algo.run(s, seed_bytes).picks
    assert {p["expert"] for p in picks} >= {11, 12}
    assert [p["slot"] for p in picks] == [["ortho"], ["eye"], ["neuro"]]


def test_an_uncoverable_specialty_is_refused_before_drawing():
    s = spec(uniform_pool(10), slots=[["neuro"]])
    with pytest.raises(algo.DrawImpossible) as exc:
        algo.check(s)
    assert (exc.value.code, exc.value.slot) == ("uncovered", ["neuro"])


def test_two_seats_that_only_one_expert_can_fill_are_refused():
    pool = [(1, 1, ["eye", "ent"], 1), (2, 2, ["ortho"], 1), (3, 3, ["ortho"], 1)]
    with pytest.raises(algo.DrawImpossible) as exc:
        algo.check(spec(pool, slots=[["eye"], ["ent"]]))
    assert exc.value.code == "not_coverable"


@settings(max_examples=100, deadline=None)
@given(seed_bytes=st.binary(min_size=32, max_size=32))
def test_one_expert_per_hospital_when_the_pool_allows(seed_bytes):
    # 12 experts in 4 hospitals: every panel of 3 has 3 hospitals.
    pool = [(i, i % 4, ["ortho"], 1000) for i in range(1, 13)]
    outcome = algo.run(spec(pool), seed_bytes)
    hospitals = [i % 4 for i in outcome.expert_ids]
    assert len(set(hospitals)) == 3
    assert outcome.warnings == []


def test_two_hospitals_for_three_seats_draws_anyway_and_warns():
    pool = [(i, i % 2, ["ortho"], 1000) for i in range(1, 9)]
    outcome = algo.run(spec(pool), seed(3))
    assert len(outcome.expert_ids) == 3
    assert [w["code"] for w in outcome.warnings] == ["same_hospital"]


def test_a_replacement_avoids_the_hospitals_already_on_the_panel():
    pool = [(1, 1, ["ortho"], 1000), (2, 2, ["ortho"], 1000), (3, 3, ["ortho"], 1000)]
    for n in range(50):
        outcome = algo.run(spec(pool, size=1, occupied=[1, 2]), seed(n))
        assert outcome.expert_ids == [3]


def test_unknown_algorithm_version_is_refused():
    s = spec(uniform_pool(5)) | {"algorithm": "other/9"}
    with pytest.raises(algo.DrawImpossible) as exc:
        algo.run(s, seed(1))
    assert exc.value.code == "unknown_algorithm"


# STATISTICS (seeded: the same numbers on every run) ---------------------------------------------------

DRAWS = 3000


def test_each_eligible_expert_is_drawn_within_bounds_over_many_draws():
    pool = uniform_pool(12)
    counts = Counter()
    for n in range(DRAWS):
        counts.update(algo.run(spec(pool), seed(n)).expert_ids)
    p = 3 / 12
    mean, sd = DRAWS * p, math.sqrt(DRAWS * p * (1 - p))
    assert set(counts) == set(range(1, 13))
    for expert_id in range(1, 13):
        assert abs(counts[expert_id] - mean) < 4.5 * sd, (expert_id, counts[expert_id])
    chi2 = sum((counts[i] - mean) ** 2 / mean for i in range(1, 13))
    assert chi2_sf(chi2, 11) > 0.001


def test_an_expert_drawn_recently_is_drawn_less_often_but_still_drawn():
    pool = uniform_pool(12)
    pool[0] = (1, 1, ["ortho"], algo.weight_for(3))  # a quarter of the others' weight
    counts = Counter()
    for n in range(DRAWS):
        counts.update(algo.run(spec(pool), seed(n)).expert_ids)
    others = sum(counts[i] for i in range(2, 13)) / 11
    assert 0 < counts[1] < others / 2


# CHI-SQUARE ---------------------------------------------------------------------------------------

@pytest.mark.parametrize(
    ("x", "df", "p"),
    [(3.841459, 1, 0.05), (18.307038, 10, 0.05), (6.634897, 1, 0.01), (0.0, 4, 1.0), (124.342113, 100, 0.05),
     (2.0, 2, math.exp(-1))],
)
def test_chi_square_p_value_matches_the_tables(x, df, p):
    assert chi2_sf(x, df) == pytest.approx(p, rel=1e-5)
