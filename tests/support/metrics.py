"""Read what `/metrics` exports: its samples by name and labels, and its metric names."""

from __future__ import annotations

from prometheus_client import generate_latest
from prometheus_client.parser import text_string_to_metric_families

Samples = dict[tuple[str, frozenset[tuple[str, str]]], float]

# The series a family of each type exposes, as PromQL names them.
SUFFIXES = {"counter": ["_total"], "histogram": ["_bucket", "_sum", "_count"]}


def parse(text: str) -> Samples:
    return {
        (sample.name, frozenset(sample.labels.items())): sample.value
        for family in text_string_to_metric_families(text)
        for sample in family.samples
    }


def sample(samples: Samples, name: str, **labels: str) -> float:
    """One sample's value; 0 when the series is absent (a counter not yet seen)."""
    return samples.get((name, frozenset(labels.items())), 0.0)


def series_names(text: str) -> set[str]:
    """The names of every series an exposition declares, whether or not it has samples yet."""
    names = set()
    for family in text_string_to_metric_families(text):
        names.update(family.name + suffix for suffix in SUFFIXES.get(family.type, [""]))
    return names


def exported_names() -> set[str]:
    """Every series name the app's collector exports (the database must be reachable)."""
    from project.metrics import REGISTRY

    return series_names(generate_latest(REGISTRY).decode())
