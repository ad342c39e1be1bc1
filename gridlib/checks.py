"""One check that every module shares: counts must be positive integers, and a bad one gets one clear error."""


def require_positive_int(name: str, value) -> None:
    """One ValueError naming `name` unless `value` is an int >= 1 (True and False are not counts)."""
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise ValueError(f"{name} must be a positive integer, got {value!r}")
