"""A ``moto_server`` on a free loopback port, for tests that call AWS through boto3.

Dummy credentials, the instance metadata service off (boto3 never looks for credentials on the
network), and nothing leaves the loopback. ``env()`` is what a child process needs to reach it.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import boto3
import pytest

BIN = Path(sys.executable).parent
REGION = "us-east-1"
CREDENTIALS = {"AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing"}


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class MotoServer:
    """Started by the constructor, stopped by ``stop()``; its log is kept in ``workdir``."""

    def __init__(self, workdir: Path, env: dict[str, str] | None = None):
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.log = Path(workdir) / f"moto-{self.port}.log"
        with self.log.open("wb") as log:
            self.process = subprocess.Popen(
                [str(BIN / "moto_server"), "-H", "127.0.0.1", "-p", str(self.port)],
                stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                # A function from an image needs the image in (moto's) ECR, as in Lambda.
                env={**os.environ, "MOTO_LAMBDA_STUB_ECR": "false", **(env or {})},
            )
        deadline = time.monotonic() + 30
        while True:
            try:
                with urllib.request.urlopen(f"{self.url}/moto-api/", timeout=2):
                    break
            except OSError as error:
                if self.process.poll() is not None or time.monotonic() > deadline:
                    self.stop()
                    raise RuntimeError(
                        f"moto_server did not start ({error}):\n{self.log.read_text()}"
                    ) from error
                time.sleep(0.2)

    def env(self) -> dict[str, str]:
        return {**CREDENTIALS, "AWS_ENDPOINT_URL": self.url, "AWS_REGION": REGION,
                "AWS_DEFAULT_REGION": REGION,
                "AWS_EC2_METADATA_DISABLED": "true"}

    def session(self) -> boto3.session.Session:
        return boto3.session.Session(
            region_name=REGION, aws_access_key_id="testing", aws_secret_access_key="testing")

    def client(self, service: str):
        return self.session().client(service, endpoint_url=self.url)

    def reset(self) -> None:
        """Forget every resource, between tests sharing one server."""
        request = urllib.request.Request(f"{self.url}/moto-api/reset", method="POST")
        with urllib.request.urlopen(request, timeout=10):
            pass

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(10)


def push_image(server: MotoServer, repository: str, tag: str, layer: bytes) -> str:
    """An image manifest put into moto's ECR under ``tag`` (as ``docker push`` would)."""
    ecr = server.client("ecr")
    with contextlib.suppress(ecr.exceptions.RepositoryAlreadyExistsException):
        ecr.create_repository(repositoryName=repository)
    digest = "sha256:" + hashlib.sha256(layer).hexdigest()
    manifest = {"schemaVersion": 2,
                "mediaType": "application/vnd.docker.distribution.manifest.v2+json",
                "config": {"mediaType": "application/vnd.docker.container.image.v1+json",
                           "size": len(layer), "digest": digest},
                "layers": [{"mediaType": "application/vnd.docker.image.rootfs.diff.tar.gzip",
                            "size": len(layer), "digest": digest}]}
    ecr.put_image(repositoryName=repository, imageManifest=json.dumps(manifest), imageTag=tag)
    uri = ecr.describe_repositories(repositoryNames=[repository])["repositories"][0][
        "repositoryUri"]
    return f"{uri}:{tag}"


@pytest.fixture(scope="module")
def moto(tmp_path_factory):
    """One moto_server per test module (import this fixture into the module)."""
    server = MotoServer(tmp_path_factory.mktemp("moto"))
    try:
        yield server
    finally:
        server.stop()


def use_moto(server: MotoServer, monkeypatch) -> MotoServer:
    """``server`` emptied, and this process's boto3 pointed at it."""
    server.reset()
    for name, value in server.env().items():
        monkeypatch.setenv(name, value)
    return server


@pytest.fixture
def aws(moto, monkeypatch):
    """The module's moto_server, emptied for the test, which this process's AWS calls reach
    (import this fixture with ``moto`` into the module)."""
    return use_moto(moto, monkeypatch)
