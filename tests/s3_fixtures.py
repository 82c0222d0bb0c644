"""A real S3-compatible HTTP server (moto's ThreadedMotoServer on 127.0.0.1) for tests, reached only over the wire."""
from __future__ import annotations

import os
import socket
import threading
import uuid
from typing import Callable, Iterator

import pytest

# Dummy credentials for the whole session, set before any Ray worker starts so workers inherit them; the instance
# metadata service is switched off so that no credential lookup waits on a network timeout.
DUMMY_AWS_ENV = {
    "AWS_ACCESS_KEY_ID": "testing",
    "AWS_SECRET_ACCESS_KEY": "dummy-secret-never-stored",
    "AWS_SESSION_TOKEN": "dummy-token-never-stored",
    "AWS_DEFAULT_REGION": "us-east-1",
    "AWS_EC2_METADATA_DISABLED": "true",
}
os.environ.update(DUMMY_AWS_ENV)


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on right now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class MotoServer:
    """One ThreadedMotoServer on a fixed port that can be stopped and started again (its buckets survive)."""

    def __init__(self, port: int | None = None) -> None:
        from moto.server import ThreadedMotoServer

        self.port = port or free_port()
        self._factory = lambda: ThreadedMotoServer(ip_address="127.0.0.1", port=self.port, verbose=False)
        self._server = None
        self._lock = threading.Lock()  # stop() may be called from several upload threads at once

    @property
    def endpoint_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> MotoServer:
        self._server = self._factory()
        self._server.start()
        return self

    def stop(self) -> None:
        with self._lock:
            if self._server is not None:
                self._server.stop()
                self._server = None


def s3_client(endpoint_url: str):
    """A plain boto3 S3 client on the test server."""
    import boto3

    return boto3.client("s3", endpoint_url=endpoint_url, region_name=DUMMY_AWS_ENV["AWS_DEFAULT_REGION"])


@pytest.fixture(scope="session")
def s3_server() -> Iterator[str]:
    """Endpoint URL of a moto S3 server shared by the session (dummy AWS credentials in the environment)."""
    os.environ.update(DUMMY_AWS_ENV)
    server = MotoServer().start()
    yield server.endpoint_url
    server.stop()


@pytest.fixture
def make_bucket(s3_server: str) -> Callable[[], str]:
    """Call to create a fresh, uniquely named bucket on the session server; returns its name."""

    def create() -> str:
        name = f"hpo-test-{uuid.uuid4().hex[:12]}"
        s3_client(s3_server).create_bucket(Bucket=name)
        return name

    return create
