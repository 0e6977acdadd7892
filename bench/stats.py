"""Summaries of benchmark rounds: median with min and max, and ratios computed round by round."""

import statistics


def summary(values):
    """{'median', 'min', 'max', 'n'} of the non-None values, or None when there are none."""
    values = [v for v in values if v is not None]
    if not values:
        return None
    return {"median": statistics.median(values), "min": min(values), "max": max(values), "n": len(values)}


def ratios(numerators, denominators):
    """a[i] / b[i] for each round i (rounds alternate, so each ratio compares neighbours in time)."""
    return [a / b if a is not None and b else None for a, b in zip(numerators, denominators, strict=False)]


def fmt(s, digits=2):
    """'median (min–max)' or 'n/a'."""
    if s is None:
        return "n/a"
    if s["n"] == 1:
        return f"{s['median']:.{digits}f}"
    return f"{s['median']:.{digits}f} ({s['min']:.{digits}f}–{s['max']:.{digits}f})"


def markdown_table(header, rows):
    lines = ["| " + " | ".join(header) + " |", "|" + "|".join("---" for _ in header) + "|"]
    lines += ["| " + " | ".join(str(c) for c in row) + " |" for row in rows]
    return "\n".join(lines)
