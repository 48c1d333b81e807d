"""What AVS hears: 16 kHz, 16-bit, mono, little-endian PCM (``AUDIO_L16_RATE_16000_CHANNELS_1``).

A WAV file of any rate, width or channel count is converted, with ``sox`` when it is installed
(it filters before resampling; without dither, so a file always gives the same samples) and
otherwise with the standard library (channels averaged, linear interpolation). With
``convert=False``, or a WAV neither can read, it is refused with a message naming the format
AVS needs: always before anything is sent. Text becomes speech with ``espeak-ng``.
"""

from __future__ import annotations

import array
import os
import shutil
import subprocess
import sys
import tempfile
import wave
from pathlib import Path

RATE = 16000
WIDTH = 2
NEEDED = "16 kHz, 16-bit, mono, little-endian PCM (a WAV file or raw samples)"
TOOL_TIMEOUT = 60


class AudioFormatError(ValueError):
    """The audio cannot be sent as it is; the message names the format needed."""


def tools() -> dict[str, str | None]:
    """The external programs found: espeak-ng for speech, sox for conversion."""
    return {name: shutil.which(name) for name in ("espeak-ng", "sox")}


def pcm(data: bytes) -> bytes:
    """Raw samples, checked as far as raw bytes can be."""
    if not data:
        raise AudioFormatError(f"the audio is empty; AVS needs {NEEDED}")
    if data[:4] in (b"RIFF", b"RIFX"):
        raise AudioFormatError(f"these bytes are a WAV file, not raw samples: pass the file "
                               f"instead, or raw {NEEDED}")
    if len(data) % WIDTH:
        raise AudioFormatError(f"{len(data)} bytes is not a whole number of 16-bit samples; "
                               f"AVS needs {NEEDED}")
    return bytes(data)


def load_wav(path: str | os.PathLike, convert: bool = True) -> bytes:
    """The WAV file's audio as AVS needs it, converted if allowed and needed."""
    path = Path(path)
    try:
        with wave.open(str(path), "rb") as wav:
            rate, width = wav.getframerate(), wav.getsampwidth()
            channels, frames = wav.getnchannels(), wav.readframes(wav.getnframes())
    except (wave.Error, EOFError) as exc:
        # Not plain PCM (float, compressed) or not a WAV: sox may still read it.
        if convert and shutil.which("sox"):
            return _sox(path)
        raise AudioFormatError(f"{path} is not a PCM WAV file ({exc}); AVS needs {NEEDED}"
                               + ("" if shutil.which("sox") else "; installing sox would "
                                  "let it be converted")) from None
    except OSError as exc:
        raise AudioFormatError(f"cannot read {path}: {exc.strerror or exc}") from None
    if (rate, width, channels) == (RATE, WIDTH, 1):
        return pcm(frames)
    found = f"{rate} Hz, {8 * width}-bit, {channels} channel{'s' if channels > 1 else ''}"
    if not convert:
        raise AudioFormatError(f"{path} is {found}; AVS needs {NEEDED}")
    if shutil.which("sox"):
        return _sox(path)
    return pcm(_convert(frames, rate, width, channels))


def _sox(path: Path) -> bytes:
    argv = ["sox", "-q", "-D", str(path), "-t", "raw", "-r", str(RATE), "-b", "16", "-e", "signed",
            "-L", "-c", "1", "-"]
    try:
        done = subprocess.run(argv, capture_output=True, timeout=TOOL_TIMEOUT, check=False)
    except subprocess.TimeoutExpired:
        raise AudioFormatError(f"sox took over {TOOL_TIMEOUT} s to convert {path}") from None
    if done.returncode != 0:
        detail = done.stderr.decode("utf-8", "replace").strip()[-300:]
        raise AudioFormatError(f"sox cannot convert {path} ({detail}); AVS needs {NEEDED}")
    return pcm(done.stdout)


def _samples(frames: bytes, width: int) -> list[int]:
    if width == 1:  # 8-bit WAV is unsigned
        return [b - 128 << 8 for b in frames]
    if width == 2:
        values = array.array("h", frames)
        if sys.byteorder == "big":
            values.byteswap()
        return values.tolist()
    step = width
    shift = 8 * (width - 2)
    return [int.from_bytes(frames[i:i + step], "little", signed=True) >> shift
            for i in range(0, len(frames) - step + 1, step)]


def _convert(frames: bytes, rate: int, width: int, channels: int) -> bytes:
    """Channels averaged to mono, 16-bit, linearly resampled to 16 kHz: no outside tool."""
    values = _samples(frames, width)
    if channels > 1:
        values = [sum(values[i:i + channels]) // channels
                  for i in range(0, len(values) - channels + 1, channels)]
    if rate != RATE and values:
        count = max(1, len(values) * RATE // rate)
        ratio = rate / RATE
        last = len(values) - 1
        out = []
        for n in range(count):
            position = n * ratio
            i = int(position)
            frac = position - i
            j = min(i + 1, last)
            out.append(int(values[i] + (values[j] - values[i]) * frac))
        values = out
    result = array.array("h", (max(-32768, min(32767, v)) for v in values))
    if sys.byteorder == "big":
        result.byteswap()
    return result.tobytes()


def text_to_pcm(text: str, voice: str = "en-us", words_per_minute: int = 160) -> bytes:
    """``text`` spoken by espeak-ng, as AVS needs it."""
    if not text.strip():
        raise AudioFormatError("there is nothing to say: the text is empty")
    if not shutil.which("espeak-ng"):
        raise AudioFormatError("turning text into speech needs espeak-ng "
                               "(apt-get install espeak-ng); or pass a WAV file")
    with tempfile.TemporaryDirectory(prefix="skills-voice-") as tmp:
        out = Path(tmp) / "speech.wav"
        # The text goes on stdin: a phrase starting with "-" must not read as an option.
        argv = ["espeak-ng", "-v", voice, "-s", str(words_per_minute), "-w", str(out), "--stdin"]
        try:
            done = subprocess.run(argv, input=text.encode(), capture_output=True,
                                  timeout=TOOL_TIMEOUT, check=False)
        except subprocess.TimeoutExpired:
            raise AudioFormatError(f"espeak-ng took over {TOOL_TIMEOUT} s") from None
        if done.returncode != 0 or not out.is_file():
            detail = done.stderr.decode("utf-8", "replace").strip()[-300:]
            raise AudioFormatError(f"espeak-ng failed: {detail or done.returncode}")
        return load_wav(out)


def to_pcm(source: str | bytes | os.PathLike, *, convert: bool = True) -> bytes:
    """Text (``str``), raw samples (``bytes``) or a WAV/raw file (a path) as AVS's PCM."""
    if isinstance(source, str):
        return text_to_pcm(source)
    if isinstance(source, bytes | bytearray | memoryview):
        return pcm(bytes(source))
    path = Path(source)
    if path.suffix.lower() in (".raw", ".pcm"):
        try:
            return pcm(path.read_bytes())
        except OSError as exc:
            raise AudioFormatError(f"cannot read {path}: {exc.strerror or exc}") from None
    return load_wav(path, convert=convert)


def write_wav(path: str | os.PathLike, samples: bytes, rate: int = RATE,
              channels: int = 1) -> Path:
    """Samples (16-bit little-endian) as a WAV file: test audio, and audio to listen to."""
    with wave.open(str(path), "wb") as wav:
        wav.setnchannels(channels)
        wav.setsampwidth(WIDTH)
        wav.setframerate(rate)
        wav.writeframes(samples)
    return Path(path)
