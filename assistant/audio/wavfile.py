"""Open, validate and stream WAV files for the recogniser.

We parse the RIFF chunks ourselves instead of using :mod:`wave` so that every bad file gets
one precise sentence (empty, truncated, float, 24-bit, compressed...) instead of a library
exception, and so that WAVE_FORMAT_EXTENSIBLE headers (written by sox and many recorders) are
accepted on Python 3.11. Audio is read block by block: a 10-minute file never sits in memory.
"""

from __future__ import annotations

import logging
import struct
import sys
from array import array
from collections.abc import Iterator
from pathlib import Path
from types import TracebackType
from typing import BinaryIO

from assistant import userfile
from assistant.errors import AudioError

LOG = logging.getLogger("assistant.audio")

MIN_RATE = 8_000
MAX_RATE = 48_000
"""Sample rates we accept (Vosk resamples internally to the model's rate)."""

_FORMAT_PCM = 0x0001
_FORMAT_FLOAT = 0x0003
_FORMAT_ALAW = 0x0006
_FORMAT_MULAW = 0x0007
_FORMAT_EXTENSIBLE = 0xFFFE
_UNKNOWN_LENGTH = 0xFFFFFFFF
"""data-chunk size written by streaming recorders that did not know the length."""

_CONVERT_HINT = "convert it with: sox IN.wav -b 16 OUT.wav"


class WavFile:
    """A validated 16-bit PCM WAV file, read lazily as mono blocks.

    Opening checks the whole header (and that the file holds as much audio as the header
    promises), so a bad file fails before any model is loaded. Use as a context manager.
    """

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)
        self._file: BinaryIO | None = None
        self.sample_rate = 0
        self.channels = 0
        self.frames = 0
        """Number of sample frames (one sample per channel) in the data chunk."""
        self._data_offset = 0
        self._file = self._open()
        try:
            self._parse_header(self._file)
        except BaseException:
            self._file.close()
            self._file = None
            raise

    # -- public API --------------------------------------------------------------------------
    @property
    def duration(self) -> float:
        """Length of the audio in seconds."""
        return self.frames / float(self.sample_rate)

    def blocks(self, seconds: float = 0.2) -> Iterator[bytes]:
        """Yield mono signed 16-bit little-endian PCM, ``seconds`` of audio per block.

        Stereo is downmixed (mean of both channels) block by block, so memory stays bounded
        whatever the file length.
        """
        if self._file is None:
            raise AudioError(f"{self.path}: the file is closed")
        frame_bytes = 2 * self.channels
        frames_per_block = max(1, int(self.sample_rate * seconds))
        remaining = self.frames * frame_bytes
        self._file.seek(self._data_offset)
        while remaining > 0:
            want = min(frames_per_block * frame_bytes, remaining)
            data = self._file.read(want)
            if len(data) < want:
                raise AudioError(f"{self.path}: the file is truncated (it changed while reading)")
            remaining -= want
            yield data if self.channels == 1 else _downmix_stereo(data)

    def close(self) -> None:
        if self._file is not None:
            self._file.close()
            self._file = None

    def __enter__(self) -> WavFile:
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
            f"WavFile({str(self.path)!r}, {self.sample_rate} Hz, {self.channels} ch, "
            f"{self.duration:.2f} s)"
        )

    # -- parsing -----------------------------------------------------------------------------
    def _fail(self, what: str) -> AudioError:
        return AudioError(f"{self.path}: {what}")

    def _open(self) -> BinaryIO:
        """Regular files only: a FIFO would block (or never end), a device never ends."""
        try:
            return userfile.open_regular(self.path, "WAV file")
        except userfile.UserFileError as exc:
            raise self._fail(exc.reason) from None

    def _parse_header(self, f: BinaryIO) -> None:
        f.seek(0, 2)
        file_size = f.tell()
        f.seek(0)
        if file_size == 0:
            raise self._fail("the file is empty")
        riff = f.read(12)
        if riff[:4] == b"RIFX":
            raise self._fail(f"big-endian WAV (RIFX) is not supported; {_CONVERT_HINT}")
        if riff[:4] == b"RF64":
            raise self._fail(f"RF64 WAV is not supported; {_CONVERT_HINT}")
        if riff[:4] != b"RIFF" or (len(riff) == 12 and riff[8:12] != b"WAVE"):
            raise self._fail("not a WAV file (no RIFF/WAVE header)")
        if len(riff) < 12:
            raise self._fail("the file is truncated (incomplete WAV header)")

        fmt: tuple[int, int, int, int, int] | None = None
        while True:
            header = f.read(8)
            if len(header) < 8:
                if fmt is None:
                    raise self._fail("the file is truncated (no 'fmt ' chunk)")
                raise self._fail("the file is truncated (no audio data chunk)")
            chunk_id, size = struct.unpack("<4sI", header)
            if chunk_id == b"fmt ":
                body = f.read(size)
                if len(body) < size or size < 16:
                    raise self._fail("the file is truncated or damaged (bad 'fmt ' chunk)")
                fmt = self._check_format(body)
                if size % 2:
                    f.seek(1, 1)
            elif chunk_id == b"data":
                if fmt is None:
                    raise self._fail("damaged WAV header (audio data before the 'fmt ' chunk)")
                self._take_data(f, size, file_size, fmt)
                return
            else:
                f.seek(size + (size % 2), 1)

    def _check_format(self, body: bytes) -> tuple[int, int, int, int, int]:
        code, channels, rate, _byte_rate, block_align, bits = struct.unpack("<HHIIHH", body[:16])
        if code == _FORMAT_EXTENSIBLE and len(body) >= 26:
            # cbSize, wValidBitsPerSample, dwChannelMask, then the sub-format GUID whose
            # first two bytes are the ordinary format code.
            code = struct.unpack("<H", body[24:26])[0]
        if code == _FORMAT_FLOAT:
            raise self._fail(
                f"{bits}-bit floating-point samples are not supported (only 16-bit PCM); "
                f"{_CONVERT_HINT}"
            )
        if code in (_FORMAT_ALAW, _FORMAT_MULAW):
            name = "A-law" if code == _FORMAT_ALAW else "mu-law"
            raise self._fail(f"{name} audio is not supported (only 16-bit PCM); {_CONVERT_HINT}")
        if code != _FORMAT_PCM:
            raise self._fail(
                f"compressed audio (WAV format code 0x{code:04x}) is not supported "
                f"(only 16-bit PCM); {_CONVERT_HINT}"
            )
        if bits != 16:
            raise self._fail(
                f"{bits}-bit samples are not supported (only 16-bit PCM); {_CONVERT_HINT}"
            )
        if channels not in (1, 2):
            raise self._fail(
                f"{channels} channels are not supported (only mono or stereo); "
                "convert it with: sox IN.wav -c 1 -b 16 OUT.wav"
            )
        if not MIN_RATE <= rate <= MAX_RATE:
            raise self._fail(
                f"sample rate {rate} Hz is not supported (use {MIN_RATE}-{MAX_RATE} Hz); "
                "convert it with: sox IN.wav -r 16000 -b 16 OUT.wav"
            )
        if block_align != 2 * channels:
            raise self._fail(
                f"damaged WAV header (block size {block_align} does not match "
                f"{channels} channel(s) of 16-bit samples)"
            )
        return code, channels, rate, block_align, bits

    def _take_data(
        self, f: BinaryIO, size: int, file_size: int, fmt: tuple[int, int, int, int, int]
    ) -> None:
        _code, channels, rate, block_align, _bits = fmt
        offset = f.tell()
        available = file_size - offset
        if size == _UNKNOWN_LENGTH or (size == 0 and available > 0):
            LOG.debug("%s: data chunk length unknown, reading to the end of the file", self.path)
            size = available
        if size > available:
            promised = size / (rate * block_align)
            present = max(available, 0) / (rate * block_align)
            raise self._fail(
                f"the file is truncated (the header promises {promised:.2f} s of audio, "
                f"only {present:.2f} s are present)"
            )
        frames = size // block_align
        if frames == 0:
            raise self._fail("the file contains no audio (0 samples)")
        if size % block_align:
            LOG.debug("%s: ignoring %d stray bytes at the end", self.path, size % block_align)
        self.sample_rate = rate
        self.channels = channels
        self.frames = frames
        self._data_offset = offset


def open_wav(path: str | Path) -> WavFile:
    """Open and validate ``path``; raises :class:`AudioError` naming the file and the problem."""
    return WavFile(path)


def _downmix_stereo(data: bytes) -> bytes:
    """Average interleaved 16-bit stereo to mono (pure Python: no numpy, no audioop)."""
    samples = array("h")
    samples.frombytes(data)
    if sys.byteorder == "big":
        samples.byteswap()
    pairs = zip(samples[0::2], samples[1::2], strict=True)
    mono = array("h", [(left + right) >> 1 for left, right in pairs])
    if sys.byteorder == "big":
        mono.byteswap()
    return mono.tobytes()
