"""Hyper-parameter constraints, checked without importing scikit-learn.

Backends declare the allowed values of each hyper-parameter in scikit-learn's notation and
words (``Interval``, ``StrOptions``, ``"boolean"``, a type, ``None``). scikit-learn's own
checker is private (``sklearn.utils._param_validation``), and importing scikit-learn costs
about 0.9 s and 100 MB: every ``maskdet detect`` paid it just to check the parameters of the
model it loaded. This module checks the same constraints with the same messages; a constraint
object of scikit-learn's (a third-party backend's) is handed to scikit-learn.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from numbers import Integral, Real
from typing import Any

import numpy as np


class InvalidParameterError(ValueError, TypeError):
    """A hyper-parameter outside its allowed values (like scikit-learn's, a ValueError and a
    TypeError)."""


class Interval:
    """Numbers of ``type`` (``Integral`` or ``Real``) between ``left`` and ``right`` (``None``:
    unbounded); ``closed`` is ``"left"``, ``"right"``, ``"both"`` or ``"neither"``."""

    def __init__(self, type: type, left: float | None, right: float | None, *,
                 closed: str) -> None:
        if type not in (Integral, Real) or closed not in ("left", "right", "both", "neither"):
            raise ValueError(f"bad Interval({type!r}, closed={closed!r})")
        self.type, self.left, self.right, self.closed = type, left, right, closed

    def is_satisfied_by(self, value: Any) -> bool:
        if not isinstance(value, self.type):
            return False
        if value != value:  # NaN (math.isnan would overflow on a huge int from JSON)
            return False
        closed_left = self.closed in ("left", "both")
        closed_right = self.closed in ("right", "both")
        if self.left is not None and (value < self.left or (value == self.left
                                                             and not closed_left)):
            return False
        return self.right is None or not (value > self.right or (value == self.right
                                                                  and not closed_right))

    def __str__(self) -> str:
        as_float = self.type is not Integral
        left = "-inf" if self.left is None else float(self.left) if as_float else self.left
        right = "inf" if self.right is None else float(self.right) if as_float else self.right
        return (f"{'an int' if not as_float else 'a float'} in the range "
                f"{'[' if self.closed in ('left', 'both') else '('}{left}, "
                f"{right}{']' if self.closed in ('right', 'both') else ')'}")


class StrOptions:
    """One of a set of strings."""

    def __init__(self, options: Iterable[str]) -> None:
        self.options = frozenset(options)

    def is_satisfied_by(self, value: Any) -> bool:
        return isinstance(value, str) and value in self.options

    def __str__(self) -> str:
        return f"a str among {{{', '.join(sorted(self.options))}}}"


def _satisfies(constraint: Any, value: Any) -> bool:
    if constraint is None:
        return value is None
    if constraint == "boolean":
        return isinstance(value, (bool, np.bool_))
    if isinstance(constraint, type):
        return isinstance(value, constraint)
    if isinstance(constraint, (Interval, StrOptions)):
        return constraint.is_satisfied_by(value)
    raise TypeError(f"not a maskdet constraint: {constraint!r}")


def _describe(constraint: Any) -> str:
    if constraint is None:
        return "None"
    if constraint == "boolean":
        return "a bool"
    if isinstance(constraint, type):
        return f"an instance of {constraint.__qualname__!r}"
    return str(constraint)


def _own(constraint: Any) -> bool:
    return constraint is None or constraint == "boolean" or isinstance(
        constraint, (type, Interval, StrOptions))


def validate_params(constraints: Mapping[str, list], params: Mapping[str, Any],
                    caller_name: str) -> None:
    """Check each of ``params`` that has constraints: it must satisfy one of them.

    Raises:
        InvalidParameterError: naming the parameter, what it must be and the value, e.g.
            "The 'batch_size' parameter of CnnClassifier must be an int in the range
            [1, 8192]. Got 0 instead."
    """
    for name, value in params.items():
        allowed = constraints.get(name)
        if allowed is None or allowed == "no_validation":
            continue
        if not all(_own(c) for c in allowed):  # scikit-learn's constraint objects
            from sklearn.utils._param_validation import validate_parameter_constraints

            validate_parameter_constraints({name: allowed}, {name: value}, caller_name)
            continue
        if any(_satisfies(c, value) for c in allowed):
            continue
        described = [_describe(c) for c in allowed]
        text = (described[0] if len(described) == 1
                else f"{', '.join(described[:-1])} or {described[-1]}")
        raise InvalidParameterError(
            f"The {name!r} parameter of {caller_name} must be {text}. Got {value!r} instead.")
