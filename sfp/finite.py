"""Finiteness checks of arrays and of nested checkpoint contents, described for a one-line error."""

from collections.abc import Iterable

import numpy as np
import torch


def non_finite(values: np.ndarray, unit: str = "row") -> str | None:
    """None when every value is finite, else e.g. '3 NaN values and 1 +inf value (row 17 first)' (`unit`: what the
    first axis counts). When all values are finite (the usual case) this costs one vectorised sum over the array."""
    values = np.asarray(values)
    if values.dtype.kind not in "fc" or values.size == 0:
        return None
    with np.errstate(all="ignore"):  # a sum that overflows only sends us to the exact count
        if np.isfinite(values.sum()):
            return None
    bad = ~np.isfinite(values)
    if not bad.any():
        return None
    counts = {
        "NaN": int(np.isnan(values).sum()),
        "+inf": int(np.isposinf(values).sum()),
        "-inf": int(np.isneginf(values).sum()),
    }
    total = sum(counts.values())
    described = " and ".join(f"{count} {label}" for label, count in counts.items() if count)
    first = int(np.flatnonzero(bad.reshape(len(values), -1).any(axis=1))[0]) if values.ndim else 0
    return f"{described} value{'s' if total > 1 else ''} ({unit} {first} first)"


def first_non_finite(content, where: str = "") -> str | None:
    """ "'<key path>' holds <non_finite description>" of the first floating tensor or array in the nested dicts,
    lists and tuples of `content` with a value that is not finite; None when all are finite."""
    items: Iterable[tuple[object, object]]
    if isinstance(content, dict):
        items = content.items()
    elif isinstance(content, (list, tuple)):
        items = enumerate(content)
    else:
        if isinstance(content, torch.Tensor) and content.is_floating_point():
            content = content.detach().cpu().float().numpy()
        problem = non_finite(content, "index") if isinstance(content, np.ndarray) else None
        return f"{where!r} holds {problem}" if problem else None
    for key, value in items:
        found = first_non_finite(value, f"{where}.{key}" if where else str(key))
        if found:
            return found
    return None
