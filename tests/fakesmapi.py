"""A stand-in for ``skills.smapi.client.SmapiClient``'s manifest calls, for the Lambda tests:
the deploy only reads and writes the manifest, with its ETag."""

from __future__ import annotations

import copy

SKILL_ID = "amzn1.ask.skill.11111111-2222-3333-4444-555555555555"


class FakeSmapi:
    """A skill's manifest with an ETag, counting updates as SMAPI would see them."""

    def __init__(self, endpoint: dict | None = None):
        endpoint = endpoint or {"uri": "https://memory-game.example.org/",
                                "sslCertificateType": "Trusted"}
        self.manifests = {SKILL_ID: {"manifest": {
            "publishingInformation": {"locales": {"en-US": {"name": "Memory Game"}}},
            "apis": {"custom": {"endpoint": endpoint}}}}}
        self.etag = 1
        self.updates = 0

    def get_manifest(self, skill_id):
        return copy.deepcopy(self.manifests[skill_id]), f'"{self.etag}"'

    def update_manifest(self, skill_id, manifest, etag):
        assert etag == f'"{self.etag}"', "an update must carry the ETag it read"
        self.manifests[skill_id] = manifest
        self.etag += 1
        self.updates += 1
        return f'"{self.etag}"'

    def endpoint(self):
        return self.manifests[SKILL_ID]["manifest"]["apis"]["custom"]["endpoint"]
