"""Red-team inputs: hostile or unlucky input to every command; prints how many held.

Each case runs ``python -m assistant ...`` in a fresh process under a 3 GB address-space cap
(RLIMIT_AS, as ``prlimit --as`` / ``ulimit -v`` would) and a short time limit, with its own
settings, cache and models folders, and checks that nothing was lost, nothing ran, nothing
hung, and the user saw one clear line with a conventional exit code. Networks are local only
(HTTP servers on 127.0.0.1 started here). The cases are the 27 defects of issue 11 and a few
more of the same families; ``tests/test_redteam.py`` runs the same list under pytest.

Run: python bench/redteam_inputs.py [--only SUBSTRING ...] [-v]
"""

from __future__ import annotations

import argparse
import contextlib
import http.server
import json
import os
import pickle
import resource
import signal
import socket
import stat
import subprocess
import sys
import tempfile
import threading
import time
import wave
import zipfile
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
MEMORY_CAP = 3 * 1024**3
DEFAULT_TIME_LIMIT = 30.0


class Failed(Exception):
    """The case did not hold; the message says how."""


@dataclass
class Result:
    code: int
    out: str
    err: str
    seconds: float


# --- running the CLI ---------------------------------------------------------------------------


def _cap_memory() -> None:
    resource.setrlimit(resource.RLIMIT_AS, (MEMORY_CAP, MEMORY_CAP))


class Sandbox:
    """A fresh folder with its own settings, cache and models for one case."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.config = root / "config" / "settings.yaml"
        self.config.parent.mkdir(parents=True)
        self.cache = root / "cache"
        self.models = root / "models"
        self.env = dict(os.environ)
        self.env.update(
            ASSISTANT_CONFIG=str(self.config),
            ASSISTANT_CACHE_DIR=str(self.cache),
            ASSISTANT_MODELS_DIR=str(self.models),
            PYTHONPATH=os.pathsep.join(filter(None, [str(REPO), os.environ.get("PYTHONPATH")])),
        )
        self.env.pop("ASSISTANT_MODEL", None)

    def popen(self, *args: str, env: dict[str, str] | None = None, **kwargs) -> subprocess.Popen:
        return subprocess.Popen(
            [sys.executable, "-m", "assistant", *args], cwd=self.root,
            env={**self.env, **(env or {})}, **{"preexec_fn": _cap_memory, **kwargs},
        )

    def run(self, *args: str, stdin: bytes | int | None = b"", env: dict[str, str] | None = None,
            limit: float = DEFAULT_TIME_LIMIT, extra_fds: bool = False) -> Result:
        """Run the CLI; Failed if it outlives ``limit`` or prints a traceback."""
        started = time.monotonic()
        feed = stdin if isinstance(stdin, bytes) else None
        proc = self.popen(*args, env=env, stdin=subprocess.PIPE if feed is not None else stdin,
                          stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        try:
            out, err = proc.communicate(feed, timeout=limit)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.communicate()
            raise Failed(f"still running after {limit:.0f} s") from None
        result = Result(proc.returncode, out.decode("utf-8", "replace"),
                        err.decode("utf-8", "replace"), time.monotonic() - started)
        for text in (result.out, result.err):
            if "Traceback" in text or "Exception ignored" in text:
                raise Failed(f"traceback: {text[-300:]!r}")
        if result.code < 0:
            raise Failed(f"killed by signal {-result.code}")
        return result


def one_line(result: Result, *needles: str) -> str:
    """The single stderr line (Failed unless exactly one, containing every needle)."""
    lines = [line for line in result.err.splitlines() if line.strip()]
    if len(lines) != 1:
        raise Failed(f"expected one line on stderr, got {len(lines)}: {result.err[-400:]!r}")
    for needle in needles:
        if needle.lower() not in lines[0].lower():
            raise Failed(f"{needle!r} not in {lines[0]!r}")
    if "internal error" in lines[0]:
        raise Failed(f"internal error: {lines[0]!r}")
    return lines[0]


def expect(condition: bool, message: str) -> None:
    if not condition:
        raise Failed(message)


def fifo(path: Path) -> Path:
    os.mkfifo(path)
    return path


def speech_wav(path: Path, seconds: float = 0.5) -> Path:
    """A valid 16 kHz mono WAV (silence is enough: these cases never reach a model)."""
    with wave.open(str(path), "wb") as wav:
        wav.setnchannels(1)
        wav.setsampwidth(2)
        wav.setframerate(16000)
        wav.writeframes(b"\0\0" * int(16000 * seconds))
    return path


def fake_model(path: Path) -> Path:
    """A folder laid out like a Vosk model (Vosk cannot load it)."""
    for rel, data in {
        "am/final.mdl": b"fake acoustic model " * 50,
        "conf/model.conf": b"--sample-frequency=16000\n",
        "graph/HCLr.fst": b"fake HCLr " * 40,
        "graph/Gr.fst": b"fake Gr " * 40,
    }.items():
        (path / rel).parent.mkdir(parents=True, exist_ok=True)
        (path / rel).write_bytes(data)
    return path


ALIAS_BOMB = (
    'a: &a ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]\n'
    + "".join(
        f"{n}: &{n} [" + ",".join([f"*{p}"] * 9) + "]\n"
        for p, n in zip("abcdefgh", "bcdefghi", strict=True)
    )
    + "rate: *i\n"
)
"""554 bytes in the issue; 342 here: 9^9 strings once expanded."""


# --- local HTTP servers ------------------------------------------------------------------------


class _Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, *args: object) -> None:
        pass

    def do_GET(self) -> None:
        mode = self.server.mode  # type: ignore[attr-defined]
        try:
            if mode == "redirect":
                self.send_response(302)
                self.send_header("Location", self.path)
                self.send_header("Content-Length", "0")
                self.end_headers()
            elif mode == "drip":
                self.send_response(200)
                self.send_header("Content-Length", "1000000")
                self.end_headers()
                for _ in range(1000):
                    self.wfile.write(b"x")
                    self.wfile.flush()
                    time.sleep(0.5)
            elif mode == "endless":
                self.send_response(200)
                self.send_header("Connection", "close")
                self.end_headers()
                block = b"\0" * 65536
                while True:
                    self.wfile.write(block)
            elif mode == "liar":  # announces 1 GB more than any limit given
                self.send_response(200)
                self.send_header("Content-Length", str(9_000_000_000))
                self.end_headers()
                self.wfile.write(b"x" * 1000)
        except (BrokenPipeError, ConnectionResetError):
            pass


@contextlib.contextmanager
def http_server(mode: str) -> Iterator[str]:
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
    server.daemon_threads = True
    server.mode = mode  # type: ignore[attr-defined]
    thread = threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/model.zip"
    finally:
        server.shutdown()
        server.server_close()


# --- the cases ---------------------------------------------------------------------------------

CASES: list[tuple[str, Callable[[Sandbox], None]]] = []


def case(name: str) -> Callable[[Callable[[Sandbox], None]], Callable[[Sandbox], None]]:
    def register(fn: Callable[[Sandbox], None]) -> Callable[[Sandbox], None]:
        CASES.append((name, fn))
        return fn

    return register


# Data loss ----------------------------------------------------------------------------------


@case("damaged settings are left alone and no .bad is overwritten (read-only say)")
def _(box: Sandbox) -> None:
    box.config.write_text("rate: [oops\n")
    older = box.config.with_name("settings.yaml.bad")
    older.write_text("rate: 150  # the user's earlier copy\n")
    result = box.run("say", "hello", "--out", str(box.root / "x.wav"))
    expect(result.code == 0, f"exit {result.code}")
    one_line(result, "damaged", f"{box.config}:")
    expect(box.config.read_text() == "rate: [oops\n", "the settings file changed")
    expect(older.read_text() == "rate: 150  # the user's earlier copy\n", ".bad overwritten")


@case("ASSISTANT_CONFIG naming another file: read, never renamed")
def _(box: Sandbox) -> None:
    other = box.root / "notes.txt"
    other.write_text("my notes: [not yaml\n")
    result = box.run("say", "hi", "--out", str(box.root / "x.wav"), env={
        "ASSISTANT_CONFIG": str(other)})
    expect(result.code == 0, f"exit {result.code}")
    expect(other.read_text() == "my notes: [not yaml\n", "the named file changed")
    expect(not other.with_name("notes.txt.bad").exists(), "a .bad copy was made on read")


@case("skill cache writer deletes only its own files")
def _(box: Sandbox) -> None:
    box.cache.mkdir()
    mine = {"skill-notes.txt": "keep", "skill-0123.pickle": "keep", "skillful": "keep"}
    for name, text in mine.items():
        (box.cache / name).write_text(text)
    result = box.run("ask", "what causes twitching")
    expect(result.code == 0, f"exit {result.code}: {result.err}")
    for name in mine:
        expect((box.cache / name).exists(), f"{name} was deleted")


@case("model install --name X never deletes a file or folder X that is not a model")
def _(box: Sandbox) -> None:
    source = fake_model(box.root / "src-model")
    box.models.mkdir()
    (box.models / "notes").write_text("precious")
    folder = box.models / "photos"
    folder.mkdir()
    (folder / "a.jpg").write_bytes(b"jpeg")
    for name in ("notes", "photos"):
        result = box.run("model", "install", str(source), "--name", name)
        expect(result.code != 0, f"--name {name} succeeded")
        one_line(result, "not a Vosk model")
    expect((box.models / "notes").read_text() == "precious", "the file was replaced")
    expect((folder / "a.jpg").read_bytes() == b"jpeg", "the folder was replaced")


# Security -----------------------------------------------------------------------------------


@case("a planted skill cache cannot run code")
def _(box: Sandbox) -> None:
    marker = box.root / "pwned"

    class Payload:
        def __reduce__(self):
            return (os.system, (f"touch {marker}",))

    first = box.run("ask", "what causes twitching")
    expect(first.code == 0, f"exit {first.code}")
    written = list(box.cache.glob("skill-*"))
    expect(len(written) == 1, f"expected one cache file, found {written}")
    evil = pickle.dumps(Payload())
    written[0].write_bytes(evil)  # the real cache file, now a pickle
    written[0].with_suffix(".pickle").write_bytes(evil)  # and the old pickle name
    again = box.run("ask", "what causes twitching")
    expect(again.code == 0 and again.out == first.out, "answer changed with a planted cache")
    expect(not marker.exists(), "code from the cache ran")


@case("model install DIR refuses symlinks (to /etc/passwd, to a folder tree)")
def _(box: Sandbox) -> None:
    for target in ("/etc/passwd", "/etc"):
        source = fake_model(box.root / f"src-{Path(target).name}")
        (source / "am" / "extra").symlink_to(target)
        result = box.run("model", "install", str(source), "--name", "m")
        expect(result.code != 0, f"installed a model holding a link to {target}")
        one_line(result, "symbolic link")
        expect(not (box.models / "m").exists(), "something was installed")


@case("model install DIR with a symlink loop: one plain line")
def _(box: Sandbox) -> None:
    source = fake_model(box.root / "src")
    (source / "loop").symlink_to(source / "loop")
    result = box.run("model", "install", str(source))
    expect(result.code != 0, "installed")
    line = one_line(result, "symbolic link")
    expect("[(" not in line and "Errno" not in line, f"raw Python text: {line}")


@case("say --out never connects to the sound server")
def _(box: Sandbox) -> None:
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(4)
    listener.settimeout(0.2)
    port = listener.getsockname()[1]
    try:
        result = box.run("say", "hello there", "--out", str(box.root / "x.wav"),
                         env={"PULSE_SERVER": f"tcp:127.0.0.1:{port}"})
        expect(result.code == 0, f"exit {result.code}: {result.err}")
        try:
            connection, _ = listener.accept()
            connection.close()
            raise Failed("say --out connected to the sound server")
        except TimeoutError:
            pass
    finally:
        listener.close()


# Hangs, memory and disk -------------------------------------------------------------------------


@case("YAML alias bomb in the settings file")
def _(box: Sandbox) -> None:
    box.config.write_text(ALIAS_BOMB)
    result = box.run("say", "hi", "--out", str(box.root / "x.wav"), limit=15)
    expect(result.code == 0, f"exit {result.code}")
    one_line(result, "alias")


@case("YAML alias bomb in a knowledge file")
def _(box: Sandbox) -> None:
    bomb = box.root / "kb.yaml"
    bomb.write_text(ALIAS_BOMB.replace("rate", "answers"))
    result = box.run("--knowledge", str(bomb), "ask", "hi", limit=15)
    expect(result.code == 2, f"exit {result.code}")
    one_line(result, f"{bomb}:", "alias")


def _special_file_cases() -> None:
    """The same command with /dev/zero and with a FIFO (nobody writing) as its input."""
    def specials(box: Sandbox) -> list[Path]:
        return [Path("/dev/zero"), fifo(box.root / "fifo")]

    @case("/dev/zero or a FIFO as --knowledge")
    def _(box: Sandbox) -> None:
        for path in specials(box):
            result = box.run("--knowledge", str(path), "ask", "hi", limit=10)
            expect(result.code == 2, f"{path}: exit {result.code}")
            one_line(result, str(path), "not a regular")

    @case("/dev/zero or a FIFO as ASSISTANT_CONFIG")
    def _(box: Sandbox) -> None:
        for path in specials(box):
            result = box.run("say", "hi", "--out", str(box.root / "x.wav"),
                             env={"ASSISTANT_CONFIG": str(path)}, limit=15)
            expect(result.code == 0, f"{path}: exit {result.code}")
            one_line(result, "not a regular")

    @case("/dev/zero or a FIFO as --grammar")
    def _(box: Sandbox) -> None:
        wav = speech_wav(box.root / "q.wav")
        for path in specials(box):
            result = box.run("transcribe", str(wav), "--grammar", str(path), limit=10)
            expect(result.code == 1, f"{path}: exit {result.code}")
            one_line(result, "not a regular")

    @case("/dev/zero or a FIFO as the WAV")
    def _(box: Sandbox) -> None:
        for path in specials(box):
            for args in (["transcribe", str(path)], ["ask", "--audio", str(path)]):
                result = box.run(*args, limit=10)
                expect(result.code == 1, f"{args}: exit {result.code}")
                one_line(result, "not a regular")

    @case("/dev/zero as standard input (ask, chat, say -)")
    def _(box: Sandbox) -> None:
        for args in (["ask"], ["chat"], ["say", "-", "--out", str(box.root / "x.wav")]):
            with open("/dev/zero", "rb") as zero:
                result = box.run(*args, stdin=zero.fileno(), limit=20)
            expect(result.code != 0, f"{args}: exit 0")
            one_line(result, "standard input")


_special_file_cases()


@case("permutation template with 11 items: a file:line error at once")
def _(box: Sandbox) -> None:
    intents = box.root / "intents"
    intents.mkdir()
    (intents / "a.yaml").write_text(
        'language: en\nintents:\n  help:\n    data:\n      - sentences:\n'
        '          - "help"\n          - "(a;b;c;d;e;f;g;h;i;j;k)"\n'
    )
    result = box.run("--intents", str(intents), "check", limit=10)
    expect(result.code == 1, f"exit {result.code}")
    expect(f"{intents / 'a.yaml'}:7:" in result.out and "permutation" in result.out,
           f"no file:line message: {result.out[-300:]!r}")


@case("rules nested in rules (exponential expansion): a file:line error at once")
def _(box: Sandbox) -> None:
    intents = box.root / "intents"
    intents.mkdir()
    rules = "".join(f'  r{i}: "(<r{i - 1}>|x{i}) (<r{i - 1}>|y{i})"\n' for i in range(1, 30))
    (intents / "a.yaml").write_text(
        'language: en\nexpansion_rules:\n  r0: "(a|b)"\n' + rules
        + 'intents:\n  help:\n    data:\n      - sentences:\n          - "help <r29>"\n'
    )
    result = box.run("--intents", str(intents), "check", limit=15)
    expect(result.code == 1, f"exit {result.code}")
    expect("too large" in result.out and ":" in result.out, f"{result.out[-300:]!r}")


@case("check with 10 000 templates finishes in seconds (near-linear)")
def _(box: Sandbox) -> None:
    intents = box.root / "intents"
    intents.mkdir()
    lines = [f'          - "what is word{i} number{i % 97} [please]"' for i in range(10_000)]
    (intents / "a.yaml").write_text(
        "language: en\nintents:\n  help:\n    data:\n      - sentences:\n"
        + "\n".join(lines) + "\n"
    )
    result = box.run("--intents", str(intents), "check", limit=25)
    expect("10000 templates" in result.out, f"{result.out[-200:]!r}")


@case("model download from a server dripping a byte every 0.5 s stops (stall rule)")
def _(box: Sandbox) -> None:
    with http_server("drip") as url:
        result = box.run("model", "download", "--url", url, "--timeout", "2", limit=20)
    expect(result.code == 1, f"exit {result.code}")
    expect("stalled" in result.err, f"{result.err[-300:]!r}")


@case("model download has an overall deadline")
def _(box: Sandbox) -> None:
    with http_server("drip") as url:
        result = box.run("model", "download", "--url", url, "--timeout", "30",
                         "--max-time", "3", limit=20)
    expect(result.code == 1 and result.seconds < 15, f"exit {result.code} in {result.seconds}")
    expect("longer than 3 s" in result.err, f"{result.err[-300:]!r}")


@case("model download of an endless body stops at the size limit and keeps no .part")
def _(box: Sandbox) -> None:
    with http_server("endless") as url:
        result = box.run("model", "download", "--url", url, "--max-size", "20", limit=30)
    expect(result.code == 1, f"exit {result.code}")
    expect("more than" in result.err, f"{result.err[-300:]!r}")
    parts = list(box.models.rglob("*.part"))
    expect(not parts, f"left {parts}")


@case("model download announcing 9 GB is refused before writing")
def _(box: Sandbox) -> None:
    with http_server("liar") as url:
        result = box.run("model", "download", "--url", url, limit=20)
    expect(result.code == 1, f"exit {result.code}")
    one_line(result, "announces")
    expect(not list(box.models.rglob("*.part")), ".part left")


@case("zip bomb refused before anything is unpacked")
def _(box: Sandbox) -> None:
    bomb = box.root / "bomb.zip"
    with zipfile.ZipFile(bomb, "w", zipfile.ZIP_DEFLATED, compresslevel=9) as archive:
        for rel in ("m/conf/model.conf", "m/graph/HCLr.fst", "m/graph/Gr.fst"):
            archive.writestr(rel, b"x" * 100)
        with archive.open("m/am/final.mdl", "w", force_zip64=True) as member:
            block = b"\0" * (1 << 20)
            for _ in range(300):  # 300 MB of zeros, about 300 kB packed
                member.write(block)
    result = box.run("model", "install", str(bomb), limit=30)
    expect(result.code == 1, f"exit {result.code}")
    one_line(result, "zip bomb")
    leftovers = [p for p in box.models.rglob("*") if p.is_file()]
    expect(not leftovers, f"unpacked {leftovers}")


# Crashes and internal errors ------------------------------------------------------------------


@case("say --out with 21 kB and 60 kB of text (espeak crashed at ~21 kB)")
def _(box: Sandbox) -> None:
    for size in (21_000, 60_000):
        text = ("The quick brown fox jumps over the lazy dog. " * 1500)[:size].encode()
        out = box.root / f"long{size}.wav"
        result = box.run("say", "-", "--out", str(out), stdin=text, limit=60)
        expect(result.code == 0, f"{size}: exit {result.code}: {result.err[-200:]!r}")
        with wave.open(str(out)) as wav:
            expect(wav.getnframes() / wav.getframerate() > 60, "too little audio")


@case("broken pipe: ask | head -1")
def _(box: Sandbox) -> None:
    questions = box.root / "questions.txt"
    questions.write_bytes(b"what causes twitching\n" * 5000)
    with open(questions, "rb") as stdin:
        proc = box.popen("ask", stdin=stdin, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    assert proc.stdout is not None
    proc.stdout.readline()
    proc.stdout.close()
    err = proc.stderr.read() if proc.stderr else b""
    code = proc.wait(timeout=20)
    expect(b"Exception ignored" not in err and b"Traceback" not in err, f"{err[-300:]!r}")
    expect(code in (0, 141), f"exit {code}")


@case("stdout on a full disk (/dev/full)")
def _(box: Sandbox) -> None:
    with open("/dev/full", "wb") as full:
        proc = box.popen("ask", "what causes twitching", stdout=full, stderr=subprocess.PIPE)
        _, err = proc.communicate(timeout=20)
    result = Result(proc.returncode, "", err.decode(), 0)
    expect(result.code == 1, f"exit {result.code}")
    one_line(result, "No space left")
    expect("Exception ignored" not in result.err, result.err)


@case("closed stdin, closed stdout")
def _(box: Sandbox) -> None:
    for args, close in ((["ask"], 0), (["ask", "what causes twitching"], 1)):
        proc = box.popen(*args, stdin=subprocess.PIPE if close else None,
                         stdout=subprocess.PIPE if not close else None, stderr=subprocess.PIPE,
                         pass_fds=(), close_fds=True,
                         preexec_fn=lambda fd=close: (_cap_memory(), os.close(fd)))
        _, err = proc.communicate(timeout=20)
        result = Result(proc.returncode, "", err.decode(), 0)
        expect(result.code == 1, f"{args}: exit {result.code}")
        one_line(result, "closed")


@case("PYTHONIOENCODING=ascii with non-ASCII questions and answers")
def _(box: Sandbox) -> None:
    env = {"PYTHONIOENCODING": "ascii"}
    for args in (["ask", "--json", "what about café ☕"], ["ask", "qué €"]):
        result = box.run(*args, env=env)
        expect(result.code == 0 and not result.err, f"{args}: {result.code} {result.err!r}")
    result = box.run("ask", "--json", "café twitching", env=env)
    expect(json.loads(result.out)["question"] == "café twitching", "JSON changed the question")


@case("a cache folder that is a file")
def _(box: Sandbox) -> None:
    blocker = box.root / "blocker"
    blocker.write_text("a file")
    for env in ({"ASSISTANT_CACHE_DIR": str(blocker)}, {"ASSISTANT_CACHE_DIR": "",
                                                        "XDG_CACHE_HOME": str(blocker)}):
        result = box.run("ask", "what causes twitching", env=env)
        expect(result.code == 0 and not result.err, f"{env}: {result.code} {result.err!r}")


@case("Ctrl-C at any moment of start-up once our code runs (30-150 ms)")
def _(box: Sandbox) -> None:
    """From 30 ms: before that Python itself is still starting (site, runpy importing the
    package: 10-25 ms here), where no program's code runs yet. On a busy machine Python's
    own start takes longer (a CI run at the end of the test suite saw an import traceback
    at 30 ms), so the schedule starts no earlier than twice the time this machine takes,
    right now, to start Python and import the package's first module."""
    startup = []
    for _ in range(3):
        began = time.monotonic()
        subprocess.run([sys.executable, "-c", "import assistant"], cwd=box.root,
                       env=box.env, check=False, capture_output=True)
        startup.append(time.monotonic() - began)
    floor_ms = max(30, round(2000 * sorted(startup)[1]))
    for delay_ms in sorted({max(floor_ms, d) for d in (30, 35, 40, 50, 60, 90, 120, 150)}):
        proc = box.popen("ask", "what causes twitching", stdout=subprocess.PIPE,
                         stderr=subprocess.PIPE)
        time.sleep(delay_ms / 1000)
        proc.send_signal(signal.SIGINT)
        _, err = proc.communicate(timeout=20)
        text = err.decode("utf-8", "replace")
        expect("Traceback" not in text, f"{delay_ms} ms: {text[-300:]!r}")
        expect(proc.returncode in (0, 130, -signal.SIGINT), f"{delay_ms} ms: {proc.returncode}")


# Unclear messages ---------------------------------------------------------------------------


@case("a redirect loop: one line")
def _(box: Sandbox) -> None:
    with http_server("redirect") as url:
        result = box.run("model", "download", "--url", url)
    expect(result.code == 1, f"exit {result.code}")
    one_line(result, "redirect")


@case("a 100 kB bad template is not echoed whole")
def _(box: Sandbox) -> None:
    intents = box.root / "intents"
    intents.mkdir()
    (intents / "a.yaml").write_text(
        'language: en\nintents:\n  help:\n    data:\n      - sentences:\n          - "'
        + "(a|" * 25_000 + 'b"\n'
    )
    result = box.run("--intents", str(intents), "check")
    lines = result.out.splitlines()
    expect(result.code == 1 and lines, f"exit {result.code}")
    expect(max(len(line) for line in lines) < 500, f"a {max(map(len, lines))}-character line")
    expect(f"{intents / 'a.yaml'}:6:" in result.out, "no file:line")


@case("a missing rule inside a list value: reported on the value's line")
def _(box: Sandbox) -> None:
    intents = box.root / "intents"
    intents.mkdir()
    (intents / "a.yaml").write_text(
        "language: en\nlists:\n  thing:\n    values:\n      - in: coffee\n        out: c\n"
        '      - in: "<nosuch> tea"\n        out: t\nintents:\n  help:\n    data:\n'
        '      - sentences:\n          - "help"\n          - "what about {thing}"\n'
    )
    result = box.run("--intents", str(intents), "check")
    expect(f"{intents / 'a.yaml'}:7: list {{thing}}: unknown expansion rule <nosuch>"
           in result.out, f"{result.out[-300:]!r}")


@case("a 5000-digit rate: that field only, no Python hint")
def _(box: Sandbox) -> None:
    box.config.write_text("rate: " + "9" * 5000 + "\nvolume: 0.6\n")
    result = box.run("say", "hi", "--out", str(box.root / "x.wav"))
    line = one_line(result, "rate")
    expect("damaged" not in line and "set_int_max_str_digits" not in line, line)
    expect(len(line) < 300, f"a {len(line)}-character warning")


@case("volume -5 in the settings is raised to the 0.2 floor, not silence")
def _(box: Sandbox) -> None:
    box.config.write_text("volume: -5\n")
    code = ("from assistant.settings import load_settings; s = load_settings(); "
            "print(s.volume)")
    proc = subprocess.run([sys.executable, "-c", code], env=box.env, capture_output=True,
                          text=True, timeout=20, preexec_fn=_cap_memory)
    expect(proc.stdout.strip() == "0.2", f"volume {proc.stdout.strip()!r} {proc.stderr[-200:]}")


@case("say --out files follow the umask (0644 with umask 022)")
def _(box: Sandbox) -> None:
    out = box.root / "perm.wav"
    old = os.umask(0o022)
    try:
        result = box.run("say", "hi", "--out", str(out))
    finally:
        os.umask(old)
    expect(result.code == 0, f"exit {result.code}")
    mode = stat.S_IMODE(out.stat().st_mode)
    expect(mode == 0o644, f"mode {oct(mode)}")


@case("model check of a damaged model: our line only, no Kaldi output")
def _(box: Sandbox) -> None:
    model = fake_model(box.root / "damaged")
    (model / "conf" / "model.conf").write_text("--no-such-option=1\n")
    result = box.run("model", "check", str(model))
    expect(result.code == 1, f"exit {result.code}")
    line = one_line(result, "could not load")
    expect("VoskAPI" not in result.err, line)


# --- runner ------------------------------------------------------------------------------------


def run_case(name: str, fn: Callable[[Sandbox], None]) -> str | None:
    """None when the case held, else why not."""
    with tempfile.TemporaryDirectory(prefix="redteam-") as folder:
        try:
            fn(Sandbox(Path(folder)))
        except Failed as exc:
            return str(exc)
    return None


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--only", nargs="*", default=None, help="run cases containing these")
    parser.add_argument("-v", "--verbose", action="store_true", help="time every case")
    args = parser.parse_args()
    selected = [(n, f) for n, f in CASES
                if not args.only or any(s.lower() in n.lower() for s in args.only)]
    held = 0
    for name, fn in selected:
        started = time.monotonic()
        problem = run_case(name, fn)
        seconds = time.monotonic() - started
        held += problem is None
        status = "held  " if problem is None else "FAILED"
        timing = f" ({seconds:.1f} s)" if args.verbose else ""
        print(f"{status} {name}{timing}" + (f": {problem}" if problem else ""), flush=True)
    print(f"{held} of {len(selected)} held (3 GB memory cap, {DEFAULT_TIME_LIMIT:.0f} s or "
          "less per command)")
    return 0 if held == len(selected) else 1


if __name__ == "__main__":
    raise SystemExit(main())
