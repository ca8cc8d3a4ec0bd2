"""Powertools logger, tracer and metrics: one of each per execution environment.

The service name comes from `POWERTOOLS_SERVICE_NAME` (set per function in template.yaml).
"""

import os
import warnings

from aws_lambda_powertools import Logger, Metrics, Tracer
from aws_lambda_powertools.metrics import MetricUnit

# Most requests record no metric but the cold start; Powertools would warn about it on every one.
warnings.filterwarnings("ignore", message="No application metrics to publish", category=UserWarning)

logger = Logger()
tracer = Tracer()
metrics = Metrics(namespace=os.environ.get("POWERTOOLS_METRICS_NAMESPACE", "TodoApi"))


def count(metric: str, value: float = 1) -> None:
    """Add to a count metric (EMF; flushed with the invocation's other metrics)."""
    metrics.add_metric(name=metric, unit=MetricUnit.Count, value=value)
