"""Medians with min and max over rounds, and per-round ratios between contenders."""

from statistics import median


class Spread:
    """Median, min and max of a list of numbers (empty: no value)."""

    def __init__(self, values: list[float]):
        self.values = [v for v in values if v == v]  # NaN-free
        self.med = median(self.values) if self.values else None
        self.lo = min(self.values) if self.values else None
        self.hi = max(self.values) if self.values else None

    def __bool__(self) -> bool:
        return self.med is not None

    def fmt(self, digits: int = 2, scale: float = 1.0, spread: bool = True) -> str:
        if self.med is None:
            return "–"
        m = f"{self.med * scale:.{digits}f}"
        if not spread or len(self.values) < 2:
            return m
        return f"{m} ({self.lo * scale:.{digits}f}–{self.hi * scale:.{digits}f})"


def by_round(results: list[dict], scenario: str, conns: int, proxy: str) -> dict[int, dict]:
    return {
        r["round"]: r
        for r in results
        if r["scenario"] == scenario and r["conns"] == conns and r["proxy"] == proxy
    }


def metric(results: list[dict], scenario: str, conns: int, proxy: str, key: str) -> Spread:
    # Older results files lack the newer keys (p999_us): they read as not measured.
    return Spread([r.get(key, float("nan")) for r in by_round(results, scenario, conns, proxy).values()])


def ratio(results, num: tuple[str, int, str], den: tuple[str, int, str], key: str) -> Spread:
    """Per-round ratios num/den of `key` (the two were measured minutes apart, not hours)."""
    a, b = by_round(results, *num), by_round(results, *den)
    return Spread([a[r][key] / b[r][key] for r in a if r in b and b[r][key]])
