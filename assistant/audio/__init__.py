"""Audio adapters around sounddevice: devices, microphone stream, playback, earcons."""
