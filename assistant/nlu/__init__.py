"""Natural-language understanding: load intents, normalise text, match text to intents.

Pure Python: no audio, Vosk or pyttsx3 imports, so it runs in microseconds and tests alone.
"""
