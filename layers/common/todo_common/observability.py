"""Powertools logger, tracer and metrics: one of each per execution environment.

The service name comes from `POWERTOOLS_SERVICE_NAME` (set per function in template.yaml).
"""

import os
import warnings
from collections.abc import Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING

from aws_lambda_powertools import Logger, Metrics
from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.shared.functions import resolve_truthy_env_var_choice

if TYPE_CHECKING:
    from aws_lambda_powertools import Tracer

# Most requests record no metric but the cold start; Powertools would warn about it on every one.
warnings.filterwarnings("ignore", message="No application metrics to publish", category=UserWarning)

logger = Logger()
metrics = Metrics(namespace=os.environ.get("POWERTOOLS_METRICS_NAMESPACE", "TodoApi"))


def _tracing_on() -> bool:
    """Whether X-Ray tracing is on: inside Lambda (not `sam local`) and not turned off."""
    disabled = resolve_truthy_env_var_choice(env=os.environ.get("POWERTOOLS_TRACE_DISABLED", "false"))
    return bool(os.environ.get("LAMBDA_TASK_ROOT")) and not os.environ.get("AWS_SAM_LOCAL") and not disabled


def _tracer() -> "Tracer | None":
    # Powertools' Tracer imports the X-Ray SDK, and with it botocore, even when tracing is off:
    # about half a second of every cold start. Without tracing, there is no Tracer.
    if not _tracing_on():
        return None
    from aws_lambda_powertools import Tracer

    return Tracer()


tracer = _tracer()


@contextmanager
def subsegment(name: str, **annotations: str) -> Iterator[None]:
    """An X-Ray subsegment around a block (nothing when tracing is off)."""
    if tracer is None:
        yield
        return
    with tracer.provider.in_subsegment(name) as segment:
        for key, value in annotations.items():
            segment.put_annotation(key, value)
        yield


def count(metric: str, value: float = 1) -> None:
    """Add to a count metric (EMF; flushed with the invocation's other metrics)."""
    metrics.add_metric(name=metric, unit=MetricUnit.Count, value=value)
