"""A full queue: the app's server with a small INTERPRET_QUEUE_SIZE (the session's server with
that setting) takes more requests at once than it holds; the excess is told to try again, none
fails, and the server serves normally afterwards."""

from __future__ import annotations

import pytest
from conftest import example
from gradio_client import Client, handle_file
from gradio_client.utils import QueueError

pytestmark = pytest.mark.timeout(300)

QUEUE_SIZE = 3
APP_ENV = {"INTERPRET_QUEUE_SIZE": str(QUEUE_SIZE)}  # small, to see "busy" without a load test


def test_a_full_queue_answers_busy_and_recovers(client: Client) -> None:
    """More requests than the queue holds: the excess is told to try again, none fail."""
    heavy = {"n_steps": 200, "nt_samples": 100}  # the largest cost allowed: slow enough to queue
    image = handle_file(str(example(4)))
    jobs = [client.submit(image, **heavy, api_name="/explain") for _ in range(12)]
    done, busy = 0, 0
    for job in jobs:
        try:
            job.result(timeout=240)
            done += 1
        except QueueError as error:
            assert "try again" in str(error)
            busy += 1
    assert busy > 0 and done >= QUEUE_SIZE and done + busy == len(jobs)
    assert client.predict(handle_file(str(example(4))), api_name="/predict")["label"]
