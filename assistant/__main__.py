"""Allow ``python -m assistant``."""

from assistant.entry import run

if __name__ == "__main__":
    raise SystemExit(run())
