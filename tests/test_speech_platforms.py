"""Speech out on other platforms: what their pyttsx3 drivers write, read through one reader.

macOS's driver (``nsss``) needs AppKit and Windows' (``sapi5``) needs SAPI, neither of which can
run here. So a stand-in driver takes their place inside the real pyttsx3 ``Engine`` and the
real ``Synthesizer``: it behaves like ``nsss`` (writes AIFF whatever the file name says,
lists voices with macOS-style ids and ``en_US`` languages) but its sound is real espeak-ng
speech converted by sox (or libsndfile) into the file formats those engines write. This is the
one mock in these tests, and it stands only for the engine that cannot run here; reading,
format detection, voice choice and errors run for real.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
import types
from collections.abc import Iterator
from pathlib import Path

import pytest

from assistant.audio.audiofile import read_pcm16
from assistant.errors import SpeechOutputError, UsageError
from assistant.speech.voice import (
    Synthesizer,
    container_for,
    engine_install_hint,
    find_voice,
)

STAND_IN = "macos_stand_in"
"""Module name under ``pyttsx3.drivers`` that pyttsx3's Engine imports for ``driver=``."""

MAC_VOICES = [
    ("com.apple.speech.synthesis.voice.Alex", "Alex", ("en_US",)),
    ("com.apple.voice.compact.en-GB.Daniel", "Daniel", ("en_GB",)),
    ("com.apple.speech.synthesis.voice.samantha", "Samantha", ("en_US",)),
    ("com.apple.voice.compact.de-DE.Anna", "Anna", ("de_DE",)),
]
WINDOWS_VOICES = [
    ("HKEY_LOCAL_MACHINE\\SOFTWARE\\Microsoft\\Speech\\Voices\\Tokens\\TTS_MS_EN-US_DAVID_11.0",
     "Microsoft David Desktop - English (United States)", ("en_US",)),
    ("HKEY_LOCAL_MACHINE\\SOFTWARE\\Microsoft\\Speech\\Voices\\Tokens\\TTS_MS_EN-US_ZIRA_11.0",
     "Microsoft Zira Desktop - English (United States)", ("en_US",)),
]
ESPEAK_VOICES = [
    ("gmw/en", "English (Great Britain)", ("en",)),
    ("gmw/en-us", "English (America)", ("en-us",)),
    ("gmw/de", "German", ("de",)),
]


class StandInDriver:
    """Behaves like pyttsx3's ``nsss`` driver as far as the Synthesizer can tell.

    ``save_to_file`` copies ``StandInDriver.output`` (a real audio file) to the path it is
    given, as NSSpeechSynthesizer writes AIFF to whatever URL it gets. Property changes are
    recorded so tests can see what the Synthesizer asked for.
    """

    output: Path | None = None
    settings: list[tuple[str, object]] = []  # noqa: RUF012 (shared record, reset per test)

    def __init__(self, proxy: object) -> None:
        from pyttsx3.voice import Voice

        self._proxy = proxy
        self._looping = False
        self._voices = [Voice(i, n, list(langs)) for i, n, langs in MAC_VOICES]
        self._config: dict[str, object] = {"voice": MAC_VOICES[0][0], "rate": 175, "volume": 1.0}

    def destroy(self) -> None:
        pass

    def startLoop(self) -> None:  # pyttsx3's driver interface
        self._looping = True
        self._proxy.setBusy(False)  # type: ignore[attr-defined]

    def endLoop(self) -> None:
        self._looping = False

    def iterate(self) -> Iterator[None]:
        self._proxy.setBusy(False)  # type: ignore[attr-defined]
        yield

    def say(self, text: str) -> None:
        raise NotImplementedError("the assistant only ever saves to a file")

    def stop(self) -> None:
        pass

    def save_to_file(self, text: str, filename: str) -> None:
        proxy = self._proxy
        proxy.setBusy(True)  # type: ignore[attr-defined]
        proxy.notify("started-utterance")  # type: ignore[attr-defined]
        if StandInDriver.output is not None:
            shutil.copyfile(StandInDriver.output, filename)
        proxy.notify("finished-utterance", completed=True)  # type: ignore[attr-defined]
        proxy.setBusy(False)  # type: ignore[attr-defined]

    def getProperty(self, name: str) -> object:
        if name == "voices":
            return self._voices
        return self._config[name]

    def setProperty(self, name: str, value: object) -> None:
        StandInDriver.settings.append((name, value))
        self._config[name] = value


@pytest.fixture(scope="module")
def stand_in_driver() -> Iterator[None]:
    module = types.ModuleType(f"pyttsx3.drivers.{STAND_IN}")
    module.buildDriver = StandInDriver  # type: ignore[attr-defined]
    sys.modules[module.__name__] = module
    try:
        yield
    finally:
        del sys.modules[module.__name__]


@pytest.fixture(scope="module")
def speech(tmp_path_factory: pytest.TempPathFactory) -> Path:
    for tool in ("espeak-ng", "sox"):
        if shutil.which(tool) is None:
            pytest.skip(f"{tool} is not installed")
    path = tmp_path_factory.mktemp("speech") / "espeak.wav"
    subprocess.run(
        ["espeak-ng", "-w", str(path), "Muscle twitching is very common."],
        check=True, capture_output=True,
    )
    return path


def engine_file(speech: Path, folder: Path, kind: str) -> Path:
    """``speech`` as a real file of ``kind``, named .wav as the Synthesizer names it."""
    out = folder / f"{kind}.wav"
    if kind == "aiff":
        subprocess.run(["sox", str(speech), "-t", "aiff", str(out)], check=True)
    elif kind == "aifc-pcm":
        subprocess.run(["sox", str(speech), "-t", "aifc", str(out)], check=True)
    elif kind == "aifc-float":
        subprocess.run(
            ["sox", str(speech), "-t", "aifc", "-e", "floating-point", "-b", "32", str(out)],
            check=True,
        )
    elif kind == "aifc-sowt":  # little-endian AIFF-C, which sox cannot write: libsndfile can
        import numpy as np
        import soundfile

        pcm, rate = read_pcm16(speech)
        soundfile.write(out, np.frombuffer(pcm, dtype="<i2"), rate, format="AIFF",
                        subtype="PCM_16", endian="LITTLE")
    elif kind == "wav-24-stereo":  # SAPI5 writes WAV in whatever format its stream was set to
        subprocess.run(["sox", str(speech), "-b", "24", "-c", "2", str(out)], check=True)
    else:
        raise ValueError(kind)
    return out


# -- reading what the engines write ------------------------------------------------------------
@pytest.mark.parametrize("kind", ["aiff", "aifc-pcm", "aifc-float", "aifc-sowt", "wav-24-stereo"])
def test_synthesizer_reads_what_each_platform_engine_writes(
    stand_in_driver: None, speech: Path, tmp_path: Path, kind: str
) -> None:
    StandInDriver.output = engine_file(speech, tmp_path, kind)
    expected_pcm, expected_rate = read_pcm16(speech)
    with Synthesizer(driver=STAND_IN) as synth:
        audio = synth.synthesize("Muscle twitching is very common.")
    assert audio.rate == expected_rate == 22_050
    assert len(audio.pcm) == len(expected_pcm)
    assert audio.pcm == expected_pcm  # every one of these is lossless for 16-bit speech
    assert audio.seconds > 1.0


def test_voice_rate_and_volume_go_through_portable_properties(
    stand_in_driver: None, speech: Path, tmp_path: Path
) -> None:
    StandInDriver.output = engine_file(speech, tmp_path, "aiff")
    StandInDriver.settings = []
    with Synthesizer(driver=STAND_IN) as synth:
        synth.synthesize("one", rate=150, volume=0.5, voice="en-gb")
        synth.synthesize("two", rate=150, volume=0.5, voice="Samantha")
        ids = [voice_id for voice_id, _name, _languages in synth.voices()]
    assert ids == [v[0] for v in MAC_VOICES]
    assert ("rate", 150) in StandInDriver.settings and ("volume", 0.5) in StandInDriver.settings
    voices = [value for name, value in StandInDriver.settings if name == "voice"]
    assert voices == ["com.apple.voice.compact.en-GB.Daniel",
                      "com.apple.speech.synthesis.voice.samantha"]


@pytest.mark.parametrize(
    ("output", "detail"),
    [
        (None, "no such file"),
        (b"", "the file is empty"),
        (b"this is not sound\n", "not an audio file"),
        (b"FORM\x00\x00\x10\x00AIFF", "truncated or damaged"),
    ],
)
def test_an_engine_that_writes_nothing_or_garbage_is_a_clear_error(
    stand_in_driver: None, tmp_path: Path, output: bytes | None, detail: str
) -> None:
    if output is None:
        StandInDriver.output = None
    else:
        StandInDriver.output = tmp_path / "garbage"
        StandInDriver.output.write_bytes(output)
    with Synthesizer(driver=STAND_IN) as synth, pytest.raises(SpeechOutputError) as info:
        synth.synthesize("hello")
    message = info.value.message
    assert message.startswith("The speech engine produced no audio (") and detail in message
    assert "\n" not in message and "Traceback" not in message
    assert "utt-" not in message  # our temporary file's name means nothing to a user


def test_a_missing_engine_names_what_to_install_on_each_platform() -> None:
    with Synthesizer(driver="nsss") as synth, pytest.raises(SpeechOutputError) as info:
        synth.synthesize("hello")  # pyttsx3's real macOS driver: no AppKit here
    assert info.value.message.startswith("The speech engine could not start: ")
    assert info.value.spoken == "My voice is not working; I will show answers as text."
    assert "espeak-ng" in engine_install_hint("linux")
    assert "pyobjc" in engine_install_hint("darwin")
    assert "pywin32" in engine_install_hint("win32")
    assert engine_install_hint("sunos5") == ""


# -- choosing a voice on any platform ---------------------------------------------------------
@pytest.mark.parametrize(
    ("voices", "spec", "expected"),
    [
        (ESPEAK_VOICES, "gmw/en-us", "gmw/en-us"),
        (ESPEAK_VOICES, "en-us", "gmw/en-us"),
        (ESPEAK_VOICES, "English (America)", "gmw/en-us"),
        (ESPEAK_VOICES, "en", "gmw/en"),
        (ESPEAK_VOICES, "en_US", "gmw/en-us"),
        (ESPEAK_VOICES, "german", "gmw/de"),
        (MAC_VOICES, "alex", "com.apple.speech.synthesis.voice.Alex"),
        (MAC_VOICES, "en-us", "com.apple.speech.synthesis.voice.Alex"),
        (MAC_VOICES, "en_GB", "com.apple.voice.compact.en-GB.Daniel"),
        (MAC_VOICES, "de", "com.apple.voice.compact.de-DE.Anna"),
        (WINDOWS_VOICES, "zira", WINDOWS_VOICES[1][0]),
        (WINDOWS_VOICES, "TTS_MS_EN-US_DAVID_11.0", WINDOWS_VOICES[0][0]),
        (WINDOWS_VOICES, "en-US", WINDOWS_VOICES[0][0]),
        (WINDOWS_VOICES, "microsoft", None),  # two voices: ambiguous
        (MAC_VOICES, "fr", None),
        (ESPEAK_VOICES, "  ", None),
    ],
)
def test_find_voice(
    voices: list[tuple[str, str, tuple[str, ...]]], spec: str, expected: str | None
) -> None:
    assert find_voice(voices, spec) == expected


def test_out_file_types_by_extension() -> None:
    assert container_for("a.wav") == "WAV"
    assert container_for("A.FLAC") == "FLAC"
    for name in ("a.mp3", "a.ogg", "noext"):
        with pytest.raises(UsageError) as info:
            container_for(name)
        assert "FILE.wav or FILE.flac" in info.value.message
