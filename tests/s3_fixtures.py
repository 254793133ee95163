"""A real S3 endpoint for the tests: moto in server mode on 127.0.0.1 (a free port), one per
session, with fake credentials in the environment (set here only, and inherited by the
service's worker processes). Import the fixtures into a test module to use them."""

from __future__ import annotations

import logging
import uuid
from dataclasses import dataclass

import pytest

FAKE_ENV = {
    "AWS_ACCESS_KEY_ID": "testing",
    "AWS_SECRET_ACCESS_KEY": "testing",
    "AWS_SESSION_TOKEN": "testing",
    "AWS_DEFAULT_REGION": "us-east-1",
    # no shared files of the machine, and never the instance metadata service
    "AWS_CONFIG_FILE": "/nonexistent/aws-config",
    "AWS_SHARED_CREDENTIALS_FILE": "/nonexistent/aws-credentials",
    "AWS_EC2_METADATA_DISABLED": "true",
}
_UNSET = ("AWS_PROFILE", "AWS_CONTAINER_CREDENTIALS_FULL_URI", "AWS_CONTAINER_CREDENTIALS_RELATIVE_URI")


@dataclass
class S3Endpoint:
    url: str

    def client(self):
        import boto3

        return boto3.session.Session().client("s3", endpoint_url=self.url)

    def new_bucket(self) -> str:
        name = f"farm-{uuid.uuid4().hex[:12]}"
        self.client().create_bucket(Bucket=name)
        return name

    def keys(self, bucket: str, prefix: str = "") -> list[str]:
        out = self.client().list_objects_v2(Bucket=bucket, Prefix=prefix)
        return sorted(o["Key"] for o in out.get("Contents", ()))


@pytest.fixture(scope="session")
def s3_endpoint():
    from moto.server import ThreadedMotoServer

    logging.getLogger("werkzeug").setLevel(logging.ERROR)  # no request log lines
    with pytest.MonkeyPatch.context() as mp:
        for k, v in FAKE_ENV.items():
            mp.setenv(k, v)
        for k in _UNSET:
            mp.delenv(k, raising=False)
        server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
        server.start()
        host, port = server.get_host_and_port()
        try:
            yield S3Endpoint(f"http://{host}:{port}")
        finally:
            server.stop()


__all__ = ["s3_endpoint", "S3Endpoint", "FAKE_ENV"]
