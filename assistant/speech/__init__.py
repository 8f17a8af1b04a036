"""Speech adapters: Vosk recognition in, pyttsx3 synthesis out."""
