"""sigv4kit._memo.Memo: a dict with a bound, filled with put()."""

from __future__ import annotations

import copy
import pickle

import pytest

from sigv4kit._memo import Memo

# (limit, keys put in order, contents afterwards)
FILLS = [
    (1, ["a"], {"a": 0}),
    (1, ["a", "b"], {"b": 1}),
    (2, ["a", "b"], {"a": 0, "b": 1}),
    (2, ["a", "b", "c"], {"c": 2}),
    (3, ["a", "b", "c", "d", "e"], {"d": 3, "e": 4}),
    (3, ["a", "b", "c", "d", "e", "f", "g"], {"g": 6}),
    (4, ["a", "a", "a", "b"], {"a": 2, "b": 3}),
]


@pytest.mark.parametrize(("limit", "keys", "after"), FILLS)
def test_put_clears_at_the_bound(limit: int, keys: list[str], after: dict[str, int]) -> None:
    memo: Memo[str, int] = Memo(limit)
    for i, key in enumerate(keys):
        assert memo.put(key, i) == i
        assert len(memo) <= limit
        assert memo.get(key) == i
    assert dict(memo) == after


def test_a_memo_never_grows_past_its_bound() -> None:
    memo: Memo[int, int] = Memo(100)
    high = 0
    for i in range(10_000):
        memo.put(i, i)
        high = max(high, len(memo))
    assert high == 100


def test_reads_are_dict_reads() -> None:
    memo: Memo[str, str] = Memo(8)
    memo.put("k", "v")
    assert memo.get("k") == "v" and memo.get("x") is None
    assert memo["k"] == "v" and "k" in memo
    assert isinstance(memo, dict)
    # the bound is not part of equality: a memo equals the dict it holds
    assert memo == {"k": "v"}


@pytest.mark.parametrize("limit", [0, -1])
def test_the_limit_is_positive(limit: int) -> None:
    with pytest.raises(ValueError, match="positive limit"):
        Memo(limit)


def test_repr_shows_no_contents() -> None:
    memo: Memo[str, str] = Memo(8)
    memo.put("AKIDEXAMPLE", "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY")
    assert "wJalr" not in repr(memo) and "AKID" not in repr(memo)
    assert repr(memo) == "Memo(1/8 entries)"


@pytest.mark.parametrize(
    "clone", [copy.copy, copy.deepcopy, lambda m: pickle.loads(pickle.dumps(m))]
)
def test_a_copy_starts_empty_with_the_same_bound(clone: object) -> None:
    memo: Memo[str, int] = Memo(5)
    memo.put("a", 1)
    other = clone(memo)  # type: ignore[operator]
    assert type(other) is Memo and other.limit == 5 and len(other) == 0
    assert len(memo) == 1


def test_memos_are_not_shared() -> None:
    a: Memo[str, int] = Memo(5)
    b: Memo[str, int] = Memo(5)
    a.put("x", 1)
    assert b.get("x") is None
