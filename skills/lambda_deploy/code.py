"""Where a function's code comes from when it is not a zip in the request: an S3 bucket (a zip
over 50 MB) or a container image in ECR (contents over 250 MB). The names and the operator's
steps; the AWS calls are ``deploy.py``'s.
"""

from __future__ import annotations

import re
import shlex
from dataclasses import dataclass
from pathlib import Path

# ACCOUNT.dkr.ecr.REGION.amazonaws.com[.cn]/REPOSITORY, then :TAG or @sha256:DIGEST (Lambda
# takes images from ECR only).
IMAGE_URI = re.compile(
    r"^(?P<account>\d{12})\.dkr\.ecr\.(?P<region>[a-z]{2}(?:-[a-z]+)+-\d)\.amazonaws\.com"
    r"(?:\.cn)?/(?P<repository>[a-z0-9][a-z0-9._/-]{1,254})"
    r"(?::(?P<tag>[A-Za-z0-9_][A-Za-z0-9_.-]{0,127})|@(?P<digest>sha256:[0-9a-f]{64}))$")
# S3's rules for a bucket name (no dots: virtual-hosted HTTPS names must match the certificate).
BUCKET_NAME = re.compile(r"^(?!xn--)[a-z0-9][a-z0-9-]{1,61}[a-z0-9]$")


@dataclass(frozen=True)
class Image:
    """A container image in ECR, as Lambda's ``ImageUri`` names it."""

    uri: str
    account: str
    region: str
    repository: str
    tag: str = ""
    digest: str = ""  # "sha256:..." when the URI names one

    @classmethod
    def parse(cls, uri: str) -> Image:
        match = IMAGE_URI.match(uri.strip())
        if not match:
            raise ValueError(
                "an image URI is ACCOUNT.dkr.ecr.REGION.amazonaws.com/REPOSITORY:TAG (or "
                "@sha256:DIGEST): Lambda runs images from Amazon ECR only")
        return cls(uri.strip(), match["account"], match["region"], match["repository"],
                   match["tag"] or "", match["digest"] or "")


def check_bucket_name(name: str) -> str:
    if not BUCKET_NAME.match(name):
        raise ValueError(f"{name!r} is no S3 bucket name: 3 to 63 lower-case letters, digits "
                         "and hyphens, starting and ending with a letter or digit")
    return name


def default_bucket(account: str, region: str) -> str:
    """Bucket names are global: the account and region make this one the operator's own."""
    return f"alexa-appliance-lambda-{account}-{region}"


def registry(account: str, region: str) -> str:
    suffix = "amazonaws.com.cn" if region.startswith("cn-") else "amazonaws.com"
    return f"{account}.dkr.ecr.{region}.{suffix}"


def image_steps(context: Path, repository_uri: str, tag: str, slug: str, size: int) -> str:
    """What the operator runs to build and push the image, then to move the skill with it."""
    image = f"{repository_uri}:{tag}"
    name = repository_uri.split("/", 1)[1]
    region = repository_uri.split(".")[3]
    return "\n".join([
        f"The package is {size / 2**20:.0f} MB unzipped, over the 250 MB Lambda takes in a zip: "
        "it runs as a container image instead.",
        f"The image's build context (a Dockerfile on AWS Lambda's Python 3.11 base image, the "
        f"package, the handler as its CMD) is in {context}. On a machine with Docker and the "
        "AWS CLI, with this folder copied there:",
        f"  aws ecr create-repository --region {region} --repository-name {name}   # once",
        f"  aws ecr get-login-password --region {region} | docker login --username AWS "
        f"--password-stdin {repository_uri.split('/', 1)[0]}",
        f"  docker build --platform linux/amd64 --provenance=false -t {image} "
        f"{shlex.quote(str(context))}",
        f"  docker push {image}",
        "Then move the skill with the image:",
        f"  manage.py skill_lambda {slug} --image-uri {image}",
        "(or enter the image URI on the skill's Lambda page).",
    ])
