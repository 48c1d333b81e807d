"""The benchmarks' baseline: a bare Flask JSON endpoint, served like a skill.

One POST route that parses the JSON body and answers a small object shaped like an Alexa
response, with no verification, no session handling and no templates. It is served by the same
``python -m skills serve`` (waitress, same threads) as a real skill, so the difference in a
figure is what the runtime adds on top of Flask.
"""

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


@app.post("/")
def answer():
    payload = request.get_json()
    if not isinstance(payload, dict):
        return {"error": "bad request"}, 400
    return ANSWER
