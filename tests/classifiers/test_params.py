"""Hyper-parameter checks without scikit-learn: the same verdicts and words as its own."""

from numbers import Integral, Real

import numpy as np
import pytest
from sklearn.utils import _param_validation as sk

from maskdet.classifiers.params import Interval, InvalidParameterError, StrOptions, validate_params

CASES = [
    (Integral, 1, None, "left", [1, 2, 10**400], [0, -1, -10**400, 1.5, "3", None]),
    (Integral, 16, 512, "both", [16, 512, np.int64(100)], [15, 513, 32.0]),
    (Real, 0, 1, "left", [0, 0.5, 0.999], [1, 1.0, -0.1, float("nan"), "0.5"]),
    (Real, 0, 1, "right", [1, 1e-9, 0.3], [0, 0.0, 1.01]),
    (Real, 0, None, "neither", [1e-12, 5, 1e9, 10**400], [0, -3.0, float("nan"), -10**400]),
]


@pytest.mark.parametrize("kind, left, right, closed, inside, outside", CASES)
def test_intervals_agree_with_scikit_learn(kind, left, right, closed, inside, outside):
    ours, theirs = Interval(kind, left, right, closed=closed), sk.Interval(
        kind, left, right, closed=closed)
    assert str(ours) == str(theirs)
    for value in inside:
        assert ours.is_satisfied_by(value) and theirs.is_satisfied_by(value), value
    for value in outside:
        assert not ours.is_satisfied_by(value) and not theirs.is_satisfied_by(value), value


def test_the_message_names_parameter_caller_allowed_and_value():
    constraints = {"epochs": [Interval(Integral, 1, None, closed="left"), None],
                   "kernel": [StrOptions({"rbf", "linear"})], "flip": ["boolean"],
                   "n_jobs": [int, None]}
    good = {"epochs": None, "kernel": "rbf", "flip": np.bool_(True), "n_jobs": 2, "other": []}
    validate_params(constraints, good, "Backend")  # passes; "other" has no constraint
    with pytest.raises(InvalidParameterError) as info:
        validate_params(constraints, {"epochs": 0}, "Backend")
    assert str(info.value) == ("The 'epochs' parameter of Backend must be an int in the range "
                               "[1, inf) or None. Got 0 instead.")
    assert isinstance(info.value, ValueError)
    with pytest.raises(InvalidParameterError, match=r"must be a str among \{linear, rbf\}\. "
                                                    r"Got 'poly' instead\."):
        validate_params(constraints, {"kernel": "poly"}, "Backend")
    with pytest.raises(InvalidParameterError, match="must be a bool. Got 1 instead"):
        validate_params(constraints, {"flip": 1}, "Backend")
    with pytest.raises(InvalidParameterError, match="must be an instance of 'int' or None"):
        validate_params(constraints, {"n_jobs": "2"}, "Backend")


def test_a_third_party_backend_may_use_scikit_learns_constraints():
    constraints = {"alpha": [sk.Interval(Real, 0, None, closed="left")]}
    validate_params(constraints, {"alpha": 0.5}, "Plugin")
    with pytest.raises(ValueError, match="The 'alpha' parameter of Plugin must be a float"):
        validate_params(constraints, {"alpha": -1}, "Plugin")
