"""Reading a /metrics answer in tests: Prometheus text parsed into {(name, labels): value}."""

from __future__ import annotations

from prometheus_client.parser import text_string_to_metric_families

Samples = dict[tuple[str, frozenset[tuple[str, str]]], float]


def parse(text: str) -> Samples:
    """Every sample of the exposition, keyed by its name and its labels."""
    return {
        (sample.name, frozenset(sample.labels.items())): sample.value
        for family in text_string_to_metric_families(text)
        for sample in family.samples
    }


def value(samples: Samples, name: str, **labels: str) -> float | None:
    """The sample with exactly these labels, or None when it is not exported."""
    return samples.get((name, frozenset(labels.items())))


def names(samples: Samples) -> set[str]:
    """Names of the exported samples."""
    return {name for name, _ in samples}
