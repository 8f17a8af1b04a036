"""Open, validate and stream audio files for the recogniser, through libsndfile (``soundfile``).

Why libsndfile: it reads WAV of any PCM or float width (and WAVE_FORMAT_EXTENSIBLE, RF64,
A-law, mu-law), FLAC, OGG/Vorbis, MP3 and AIFF/AIFF-C, and the ``soundfile`` wheels bundle it
on Linux, macOS and Windows, so users need nothing installed. It replaced a hand-written RIFF
parser that could only refuse all of those with a sentence each.

What we add on top: one plain sentence per bad file (missing, empty, not audio, truncated,
damaged), checked before any model is loaded; downmixing to mono; resampling to the rate the
recogniser wants; and streaming block by block, so a 30-minute file never sits in memory.

Resampling uses ``soxr`` (libsoxr, the resampler of SoX; wheels on every platform), to the
model's own rate. Measured with ``bench/bench_audiofile.py`` on this shared 2-core machine
(bench/results/audiofile.md), one minute of espeak-ng speech: decoding and downmixing take
0.005-0.14 s of CPU (AIFF and WAV fastest, FLAC slowest), soxr adds at most 0.015 s, at most
0.25 % of real time in all. Vosk decodes a 44.1 kHz stereo minute in the same time within
noise whether given 44.1 kHz (Kaldi resamples inside; 8.2-9.4 s in five runs) or soxr's
16 kHz (8.3-10.4 s), 19/19 utterances right both ways. So resampling first costs nothing
measurable, and it lets any rate in (96 kHz; 8 kHz for 16 kHz models). Streaming a 30-minute
44.1 kHz stereo WAV (318 MB) to 16 kHz peaks at the same process memory as one minute
(32.5 against 31.5 MiB).
"""

from __future__ import annotations

import logging
import os
import re
from collections.abc import Iterator
from pathlib import Path
from types import TracebackType
from typing import Any

from assistant import userfile
from assistant.errors import AudioError

LOG = logging.getLogger("assistant.audio")

MIN_RATE = 8_000
"""Below telephone quality there is too little left of speech to recognise."""

READABLE = "WAV, FLAC, OGG/Vorbis, MP3 or AIFF"
_CONVERT_HINT = "convert it with: sox IN OUT.wav"

_MAGIC = (b"RIFF", b"RIFX", b"RF64", b"FORM", b"fLaC", b"OggS", b"ID3")
"""Starts of files that are meant to be audio: a failure to open them is damage, not a
wrong file."""

_WAV_SHORT = re.compile(r"^data\s*:\s*(\d+)\s*\(should be (\d+)\)", re.MULTILINE)
_AIFF_SHORT = re.compile(
    r"'COMM' chunk \((\d+)\) not equal to frame count\s*\*\*\*\s*calculated from length of "
    r"'SSND' chunk \((\d+)\)"
)
_OGG_OPEN_END = "lacks an end-of-stream bit"
_UNKNOWN_LENGTH = 0xFFFFFFFF
"""WAV data-chunk size written by streaming recorders that did not know the length."""


def load_soundfile() -> Any:
    """Import soundfile lazily (it loads libsndfile and numpy, which text commands never need)."""
    try:
        import soundfile
    except OSError as exc:  # the wheel's bundled libsndfile could not be loaded
        raise AudioError(
            f"Cannot read audio files: libsndfile is missing ({exc}). "
            "Reinstall the assistant (pip install --force-reinstall soundfile).",
            spoken="I cannot read audio files on this computer.",
        ) from None
    return soundfile


class AudioFile:
    """A validated audio file, read lazily as mono 16-bit blocks at the rate asked for.

    Opening checks everything that can be checked without decoding the whole file (format,
    length, that the last sample is really there), so a bad file fails before any model is
    loaded. Use as a context manager.
    """

    def __init__(self, path: str | Path, *, allow_empty: bool = False) -> None:
        """``allow_empty``: a valid file with no samples is not an error (speech engines
        sometimes write one; the Synthesizer then tries again)."""
        self.path = Path(path)
        self._allow_empty = allow_empty
        self._sf = load_soundfile()
        self._file: Any = None
        self._head = b""
        self._check_path()
        self._file = self._open()
        try:
            self.sample_rate: int = int(self._file.samplerate)
            self.channels: int = int(self._file.channels)
            self.frames: int = int(self._file.frames)
            """Number of sample frames (one sample per channel)."""
            self.format: str = str(self._file.format)
            """libsndfile's container name: "WAV", "FLAC", "OGG", "MP3", "AIFF"..."""
            self.subtype: str = str(self._file.subtype)
            """libsndfile's sample encoding: "PCM_16", "PCM_24", "FLOAT", "VORBIS"..."""
            self._exact_length = self.format != "MP3"
            """False where ``frames`` is libsndfile's estimate: an MP3 without a Xing/LAME
            header gives its length only as file size over bit rate."""
            self._validate()
        except BaseException:
            self.close()
            raise

    # -- public API --------------------------------------------------------------------------
    @property
    def duration(self) -> float:
        """Length of the audio in seconds."""
        return self.frames / float(self.sample_rate)

    def blocks(self, seconds: float = 0.2, rate: int | None = None) -> Iterator[bytes]:
        """Yield mono signed 16-bit little-endian PCM, about ``seconds`` of audio per block.

        ``rate``: the sample rate wanted (None: the file's own). Channels are averaged and the
        audio is resampled block by block, so memory stays bounded whatever the file length.
        """
        import numpy as np

        if self._file is None:
            raise AudioError(f"{self.path}: the file is closed")
        out_rate = self.sample_rate if rate is None else int(rate)
        resampler = None
        if out_rate != self.sample_rate:
            import soxr

            resampler = soxr.ResampleStream(self.sample_rate, out_rate, 1, dtype="float32")
        frames_per_block = max(1, int(self.sample_rate * seconds))
        buffer = np.empty((frames_per_block, self.channels), dtype="float32")
        self._rewind()
        done = 0
        while True:
            try:
                block = self._file.read(frames_per_block, dtype="float32", out=buffer)
            except self._sf.LibsndfileError as exc:
                raise self._damaged(exc.error_string, at=done) from None
            if len(block) == 0:
                if done < self.frames and self._exact_length:
                    raise self._fail(
                        f"the file is truncated (it ends at {done / self.sample_rate:.2f} s of "
                        f"{self.duration:.2f} s; did it change while reading?)"
                    )
                break
            done += len(block)
            mono = (
                np.ascontiguousarray(block[:, 0])
                if self.channels == 1
                else block.mean(axis=1, dtype="float32")
            )
            if resampler is not None:
                mono = resampler.resample_chunk(mono)
            if len(mono):
                yield _to_pcm16(mono)
        if resampler is not None:
            tail = resampler.resample_chunk(np.zeros(0, dtype="float32"), last=True)
            if len(tail):
                yield _to_pcm16(tail)

    def _rewind(self) -> None:
        """Back to the first sample by opening the file afresh.

        Not ``seek(0)``: a fresh open gives every format, MP3 and Ogg included, a fresh
        decoder state, whatever the validation's seek to the end left behind.
        """
        if self._file.tell() == 0:
            return
        self._file.close()
        self._file = self._open()

    def close(self) -> None:
        if self._file is not None:
            self._file.close()
            self._file = None


    def __enter__(self) -> AudioFile:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    def __repr__(self) -> str:
        return (
            f"AudioFile({str(self.path)!r}, {self.format}/{self.subtype}, {self.sample_rate} Hz, "
            f"{self.channels} ch, {self.duration:.2f} s)"
        )

    # -- checks ------------------------------------------------------------------------------
    def _fail(self, what: str) -> AudioError:
        return AudioError(f"{self.path}: {what}")

    def _damaged(self, detail: str, at: int | None = None) -> AudioError:
        where = f" at {at / self.sample_rate:.2f} s" if at is not None and self.sample_rate else ""
        detail = detail.strip().rstrip(".")
        return self._fail(f"the file is truncated or damaged{where} (libsndfile: {detail})")

    def _check_path(self) -> None:
        """The file-system problems, in words libsndfile would not find. Regular files only
        (``userfile``): a FIFO would block and ``/dev/zero`` never ends."""
        try:
            with userfile.open_regular(self.path, "audio file") as handle:
                size = os.fstat(handle.fileno()).st_size
                self._head = handle.read(4)
        except userfile.UserFileError as exc:
            raise self._fail(exc.reason) from None
        except OSError as exc:
            raise self._fail(f"cannot read the file ({exc.strerror or exc})") from None
        if size == 0:
            raise self._fail("the file is empty")

    def _open(self) -> Any:
        try:
            return self._sf.SoundFile(str(self.path))
        except self._sf.LibsndfileError as exc:
            if not self._head.startswith(_MAGIC):
                raise self._fail(
                    f"not an audio file (or not one libsndfile can read: use {READABLE}); "
                    f"{_CONVERT_HINT}"
                ) from None
            raise self._damaged(exc.error_string) from None
        except (OSError, RuntimeError) as exc:
            raise self._fail(f"cannot open the file ({exc})") from None

    def _validate(self) -> None:
        if self.frames <= 0:
            if self._allow_empty:
                return
            raise self._fail("the file contains no audio (0 samples)")
        if self.sample_rate < MIN_RATE:
            raise self._fail(
                f"sample rate {self.sample_rate} Hz is too low for speech recognition "
                f"(use {MIN_RATE} Hz or more)"
            )
        self._check_length()
        if not self._exact_length:
            return
        # The last sample must be readable: FLAC, OGG and MP3 promise a length in their header
        # that a cut file does not hold, and libsndfile finds out only when it gets there.
        try:
            self._file.seek(self.frames - 1)
            last = self._file.read(1, dtype="float32")
        except self._sf.LibsndfileError as exc:
            raise self._damaged(exc.error_string) from None
        if len(last) != 1:
            raise self._fail("the file is truncated (its last samples are missing)")
        self._rewind()

    def _check_length(self) -> None:
        """Header length against file length, from libsndfile's parse log.

        libsndfile quietly reads whatever part of a cut WAV or AIFF is there; a recording that
        stopped early should be reported, not half-transcribed. Its log says so in a fixed
        form ("data : 98534 (should be 29956)"; for AIFF, the COMM frame count against the
        SSND length; for Ogg, a last page without an end-of-stream bit).
        """
        log = self._file.extra_info
        promised = present = 0
        wav = _WAV_SHORT.search(log)
        if wav and int(wav.group(1)) not in (_UNKNOWN_LENGTH, 0):
            block = max(1, self.channels * _bytes_per_sample(self.subtype))
            promised, present = int(wav.group(1)) // block, int(wav.group(2)) // block
        aiff = _AIFF_SHORT.search(log)
        if aiff:
            promised, present = int(aiff.group(1)), int(aiff.group(2))
        if promised > present:
            raise self._fail(
                f"the file is truncated (the header promises {promised / self.sample_rate:.2f} s "
                f"of audio, only {present / self.sample_rate:.2f} s are present)"
            )
        if self.format == "OGG" and _OGG_OPEN_END in log:
            raise self._fail("the file is truncated (the Ogg stream stops without its end mark)")
        if wav and int(wav.group(1)) == _UNKNOWN_LENGTH:
            LOG.debug("%s: data chunk length unknown, reading to the end of the file", self.path)


def open_audio(path: str | Path) -> AudioFile:
    """Open and validate ``path``; raises :class:`AudioError` naming the file and the problem."""
    return AudioFile(path)


def read_pcm16(path: str | Path) -> tuple[bytes, int]:
    """A whole (short) audio file as mono 16-bit PCM and its rate, in whatever format it is.

    For speech-engine output: pyttsx3's drivers write WAV (espeak-ng, SAPI5) or AIFF/AIFF-C
    (macOS, whatever the file name says), and libsndfile tells them apart by their content.
    A valid file without samples gives empty PCM.
    """
    with AudioFile(path, allow_empty=True) as audio:
        return b"".join(audio.blocks(seconds=1.0)), audio.sample_rate


def write_pcm16(path: str | Path, pcm: bytes, rate: int, container: str) -> None:
    """Write mono 16-bit PCM as ``container`` ("WAV" or "FLAC") to ``path``."""
    import numpy as np

    sf = load_soundfile()
    samples = np.frombuffer(pcm[: len(pcm) - len(pcm) % 2], dtype="<i2")
    sf.write(str(path), samples, rate, format=container, subtype="PCM_16")


def _to_pcm16(samples: Any) -> bytes:
    """Float samples (-1..1, louder ones clipped) to 16-bit little-endian PCM.

    Scaled by 32768 so that 16-bit input read as float comes back sample for sample.
    """
    import numpy as np

    scaled = np.rint(samples * 32768.0)
    np.clip(scaled, -32768, 32767, out=scaled)
    return scaled.astype("<i2").tobytes()


def _bytes_per_sample(subtype: str) -> int:
    widths = {"PCM_U8": 1, "PCM_S8": 1, "ULAW": 1, "ALAW": 1, "PCM_16": 2, "PCM_24": 3,
              "PCM_32": 4, "FLOAT": 4, "DOUBLE": 8}
    return widths.get(subtype, 2)
