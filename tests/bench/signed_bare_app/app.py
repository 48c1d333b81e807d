"""The throughput bench's ceiling: the bare endpoint plus only the signature check Amazon requires.

The same bare Flask JSON endpoint as ``bare_app``, except that it checks ``Signature-256`` with
the runtime's own chain store and libcrypto key, as every verifying skill must on every request.
No URL rules, timestamp, skill ID, dispatch, templates or log line: whatever a real skill
reaches, measured against ``bare_app``, it cannot pass this one.
"""

import base64
import os

from flask import Flask, request

from skills.runtime.chains import CertChainStore

app = Flask(__name__)
store = CertChainStore(ca_bundle=os.environ["ASK_CA_BUNDLE"],
                       cache_dir=os.environ["ASK_CERT_CACHE_DIR"])

ANSWER = {
    "version": "1.0",
    "sessionAttributes": {},
    "response": {
        "outputSpeech": {"type": "PlainText", "text": "Hello from a bare endpoint."},
        "shouldEndSession": True,
    },
}


@app.post("/")
def answer():
    body = request.get_data()
    key = store.public_key(request.headers["SignatureCertChainUrl"])
    if not key.verify(base64.b64decode(request.headers["Signature-256"]), body, "sha256"):
        return {"error": "bad request"}, 400
    payload = request.get_json()
    if not isinstance(payload, dict):
        return {"error": "bad request"}, 400
    return ANSWER
