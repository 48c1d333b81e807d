"""The benchmarks' baseline: a bare Flask JSON endpoint, served like a skill.

One POST route that parses the JSON body and answers a small object shaped like an Alexa
response, with no verification, no session handling and no templates. It is served by the same
``python -m skills serve`` (waitress, same threads) as a real skill, so the difference in a
figure is what the runtime adds on top of Flask.

With ``BENCH_CHECK_SIGNATURE=1`` it also checks ``Signature-256`` with the runtime's own chain
store and libcrypto key, as every verifying skill must on every request, and nothing more (no URL
rules, timestamp, skill ID, dispatch, templates or log line): the throughput ceiling of any
skill that verifies.
"""

import base64
import os

from flask import Flask, request

app = Flask(__name__)

ANSWER = {
    "version": "1.0",
    "sessionAttributes": {},
    "response": {
        "outputSpeech": {"type": "PlainText", "text": "Hello from a bare endpoint."},
        "shouldEndSession": True,
    },
}

store = None
if os.environ.get("BENCH_CHECK_SIGNATURE") == "1":
    from skills.runtime.chains import CertChainStore

    store = CertChainStore(ca_bundle=os.environ["ASK_CA_BUNDLE"],
                           cache_dir=os.environ["ASK_CERT_CACHE_DIR"])


@app.post("/")
def answer():
    if store is not None:
        key = store.public_key(request.headers["SignatureCertChainUrl"])
        signature = base64.b64decode(request.headers["Signature-256"])
        if not key.verify(signature, request.get_data(), "sha256"):
            return {"error": "bad request"}, 400
    payload = request.get_json()
    if not isinstance(payload, dict):
        return {"error": "bad request"}, 400
    return ANSWER
