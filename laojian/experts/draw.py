"""The panel draw algorithm: pure, deterministic, re-runnable. No database access here.

How a draw can be trusted (see also ``services.panel_draw`` and ``laojian draw verify``):

1. The service builds the **spec**: every candidate as ``[expert id, hospital id, [specialty codes],
   draws in the workload window, integer weight]``, sorted by id; every
   exclusion with its reason, the seats that must cover a specialty, the hospitals already on the panel.
2. It takes a 32-byte seed from ``secrets`` and writes the Draw row with the spec, the SHA-256 of the
   canonical spec (``record_hash``) and the SHA-256 of the seed (``seed_hash``), and appends both hashes
   to the append-only, hash-chained audit trail (``draw.commit``). Only then does it run this module
   and store the result and the seed (``draw.reveal``). Both happen in one transaction, so nobody,
   including the clerk, sees a result before the candidates are fixed, and nobody can draw again
   "until they like it": a case has at most one active panel per purpose (the first panel, a
   second-opinion panel), and every replacement is its own, logged draw with a reason.
3. Anyone holding the record re-runs it: the seed must hash to ``seed_hash``, the spec to
   ``record_hash`` (and to the hash in the audit trail), and ``run(spec, seed)`` must give the stored
   panel. A change to any candidate, weight, exclusion or to the result is detected.

Algorithm ``laojian-draw/1``:

- Randomness: HMAC-SHA256 keyed with the seed over ``"laojian-draw/1" || counter`` (8-byte big-endian),
  read as 64-bit big-endian words; a uniform integer below ``n`` by rejection sampling. Integer-only,
  so the result never depends on floating point or on Python's ``random``.
- Weighted sampling without replacement: weights are integers (``WEIGHT_SCALE // (1 + recent draws)``,
  never below 1); each pick chooses a candidate with probability weight / total weight.
- Seats: first one seat per required specialty group (in the recorded order), then the free seats.
  For a covering seat only candidates are considered whose choice still lets the remaining groups be
  covered by different experts (Hall's condition over candidate types), so coverage never fails
  after a feasibility check has passed.
- One expert per hospital: candidates from hospitals not yet on the panel are preferred; if none is
  left for a seat, the seat is drawn among all remaining candidates and a ``same_hospital`` warning
  is recorded. (Greedy: a different earlier pick might have avoided the warning in rare pools.)
"""

from __future__ import annotations

import hashlib
import hmac
import json
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from itertools import combinations
from typing import Any

ALGORITHM = "laojian-draw/1"
WEIGHT_SCALE = 1_000_000
_WORD = 1 << 64


def weight_for(recent_draws: int) -> int:
    """Lower the chance of experts drawn often recently; never zero."""
    return max(1, WEIGHT_SCALE // (1 + max(0, recent_draws)))


def canonical(spec: dict[str, Any]) -> str:
    return json.dumps(spec, sort_keys=True, separators=(",", ":"), ensure_ascii=False)


def record_hash(spec: dict[str, Any]) -> str:
    return hashlib.sha256(canonical(spec).encode()).hexdigest()


def seed_hash(seed: bytes) -> str:
    return hashlib.sha256(seed).hexdigest()


class Stream:
    """A deterministic stream of uniform integers derived from the seed."""

    def __init__(self, seed: bytes, label: str = ALGORITHM) -> None:
        self._seed = seed
        self._label = label.encode()
        self._counter = 0
        self._words: list[int] = []

    def _refill(self) -> None:
        block = hmac.new(self._seed, self._label + self._counter.to_bytes(8, "big"), hashlib.sha256).digest()
        self._counter += 1
        self._words = [int.from_bytes(block[i:i + 8], "big") for i in range(24, -1, -8)]

    def word(self) -> int:
        if not self._words:
            self._refill()
        return self._words.pop()

    def below(self, n: int) -> int:
        """A uniform integer in [0, n)."""
        if n <= 0:
            raise ValueError("n must be positive")
        limit = _WORD - (_WORD % n)
        while True:
            x = self.word()
            if x < limit:
                return x % n


class DrawImpossible(Exception):  # noqa: N818 - a domain outcome, not a programming error
    """The spec cannot produce a panel: ``code`` says why, ``slot`` which specialty group (if any)."""

    def __init__(self, code: str, slot: Sequence[str] | None = None, available: int = 0) -> None:
        self.code = code
        self.slot = list(slot) if slot else None
        self.available = available
        super().__init__(code)


@dataclass(frozen=True)
class Candidate:
    id: int
    hospital: int
    specialties: frozenset[str]
    weight: int


@dataclass
class Outcome:
    picks: list[dict[str, Any]] = field(default_factory=list)  # {"expert": id, "slot": [codes] | None}
    warnings: list[dict[str, Any]] = field(default_factory=list)

    @property
    def expert_ids(self) -> list[int]:
        return [p["expert"] for p in self.picks]


def candidates_of(spec: dict[str, Any]) -> list[Candidate]:
    """The candidates the draw may pick from: recorded candidates minus recorded exclusions."""
    excluded = {e["id"] for e in spec.get("excluded", [])}
    return [
        Candidate(int(c[0]), int(c[1]), frozenset(c[2]), int(c[4]))
        for c in spec["candidates"]
        if c[0] not in excluded
    ]


def _types(pool: Iterable[Candidate], slots: Sequence[frozenset[str]]) -> Counter[frozenset[int]]:
    """How many candidates can fill exactly which set of (indices of) slots."""
    return Counter(frozenset(i for i, s in enumerate(slots) if c.specialties & s) for c in pool)


def _coverable(remaining: Sequence[int], types: Counter[frozenset[int]]) -> bool:
    """Hall's condition: every set of remaining slots has at least as many distinct candidates."""
    for r in range(1, len(remaining) + 1):
        for subset in combinations(remaining, r):
            wanted = set(subset)
            if sum(n for t, n in types.items() if n > 0 and t & wanted) < r:
                return False
    return True


def check(spec: dict[str, Any]) -> None:
    """Raise DrawImpossible if no seed could produce a panel from this spec."""
    _check_pool(candidates_of(spec), [frozenset(s) for s in spec["slots"]], spec["size"])


def _check_pool(pool: Sequence[Candidate], slots: Sequence[frozenset[str]], size: int) -> None:
    if not pool:
        raise DrawImpossible("no_candidates")
    for slot in slots:
        available = sum(1 for c in pool if c.specialties & slot)
        if available == 0:
            raise DrawImpossible("uncovered", slot)
    if not _coverable(range(len(slots)), _types(pool, slots)):
        raise DrawImpossible("not_coverable")
    if len(pool) < size:
        raise DrawImpossible("too_few", available=len(pool))


def _choose(stream: Stream, pool: Sequence[Candidate]) -> Candidate:
    total = sum(c.weight for c in pool)
    r = stream.below(total)
    for c in pool:
        r -= c.weight
        if r < 0:
            return c
    raise AssertionError("unreachable")  # pragma: no cover


def run(spec: dict[str, Any], seed: bytes) -> Outcome:
    """Draw ``spec['size']`` experts. Same spec and seed, same outcome, on any machine."""
    if spec.get("algorithm") != ALGORITHM:
        raise DrawImpossible("unknown_algorithm")
    pool = candidates_of(spec)
    slots = [frozenset(s) for s in spec["slots"]]
    _check_pool(pool, slots, spec["size"])
    stream = Stream(seed)
    used_hospitals = {int(h) for h in spec.get("occupied_hospitals", [])}
    outcome = Outcome()
    taken: set[int] = set()

    def pick(options: list[Candidate], slot: frozenset[str] | None) -> None:
        fresh = [c for c in options if c.hospital not in used_hospitals]
        if fresh:
            chosen = _choose(stream, fresh)
        else:
            chosen = _choose(stream, options)
            outcome.warnings.append({"code": "same_hospital", "expert": chosen.id, "hospital": chosen.hospital})
        taken.add(chosen.id)
        used_hospitals.add(chosen.hospital)
        outcome.picks.append({"expert": chosen.id, "slot": sorted(slot) if slot is not None else None})

    for index, slot in enumerate(slots):
        remaining = list(range(index + 1, len(slots)))
        left = [c for c in pool if c.id not in taken]
        types = _types(left, slots)
        safe_types = set()
        for t in types:
            if index in t:
                trial = types.copy()
                trial[t] -= 1
                if _coverable(remaining, trial):
                    safe_types.add(t)
        options = [c for c in left if frozenset(i for i, s in enumerate(slots) if c.specialties & s) in safe_types]
        pick(options, slot)
    for _seat in range(spec["size"] - len(slots)):
        pick([c for c in pool if c.id not in taken], None)
    return outcome
