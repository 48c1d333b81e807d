"""``python -m skills demo``: the Memory Game in its real server, played with signed requests.

Shows what Alexa's cloud would do: every request is signed with a throwaway test PKI that the
skill is told to trust (the real one trusts only Amazon's chain), and a request without a
valid signature is refused with 400.
"""

from __future__ import annotations

import json
import tempfile
from pathlib import Path

from .runtime.testing import SkillClient, TestPKI, builders, trust_files
from .runtime.testing.process import SkillProcess

MEMORY_GAME = Path(__file__).resolve().parent / "memory_game"


def _turn(alexa: SkillClient, label: str, reply) -> None:
    print(f"  {label:<28} → {reply.status}  {reply.speech}")


def run_demo(port: int = 0) -> int:
    with tempfile.TemporaryDirectory(prefix="skills-demo-") as tmp:
        pki = TestPKI()
        env = trust_files(pki, tmp)
        skill = SkillProcess(MEMORY_GAME, env, port=port or None,
                             log_path=Path(tmp) / "skill.log")
        with skill:
            print(f"Memory Game serving on {skill.url} (python -m skills serve {MEMORY_GAME})\n")
            alexa = SkillClient(skill.url, pki)
            launch = alexa.launch()
            print("Signed LaunchRequest answered:")
            print(json.dumps(launch.json, indent=2))
            print("\nA game, turn by turn:")
            _turn(alexa, "user: open memory game", launch)
            round_ = alexa.intent("AMAZON.YesIntent")
            _turn(alexa, "user: yes", round_)
            first, second, third = round_.attributes["numbers"]
            spoken = f"user: {first} {second} {third}"
            _turn(alexa, spoken, alexa.intent(
                "AnswerIntent", {"first": first, "second": second, "third": third}))
            unsigned = json.dumps(alexa.envelope(builders.launch_request())).encode()
            forged = alexa.post(unsigned, {})
            print(f"\nAn unsigned request is refused: HTTP {forged.status}")
            print("\nThe skill's log (one line per request):")
        print(skill.logs().rstrip())
    return 0 if launch.status == 200 and forged.status == 400 else 1
