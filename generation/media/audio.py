"""Audio as PCM: decode any provider's file, join pieces, encode for the web.

Pieces are decoded to one PCM format (mono, 22.05 kHz, 16 bit) so that joining them
is exact and chapter times are counted in samples; the final file is encoded
once, with EBU R128 loudness normalisation (ffmpeg's loudnorm, -16 LUFS, the
usual target for spoken word on the web and in podcasts).
"""

import io
import tempfile
import wave
from dataclasses import dataclass, field
from pathlib import Path

from generation.media.ffmpeg import ffmpeg_run, media_duration

# espeak-ng's own rate: its WAVs are read as they are, without an ffmpeg process.
RATE = 22_050
LOUDNESS = "loudnorm=I=-16:TP=-1.5:LRA=11"
ENCODINGS = {
    "mp3": (["-c:a", "libmp3lame", "-b:a", "64k", "-ar", "22050"], "audio/mpeg"),
    "opus": (["-c:a", "libopus", "-b:a", "48k", "-ar", "48000"], "audio/ogg"),
}


@dataclass
class Pcm:
    """Mono 16-bit samples at RATE."""

    frames: bytearray = field(default_factory=bytearray)

    @property
    def seconds(self) -> float:
        return len(self.frames) / 2 / RATE

    def append(self, other: "Pcm") -> None:
        self.frames += other.frames

    def silence(self, seconds: float) -> None:
        self.frames += b"\x00\x00" * int(seconds * RATE)


def pcm_decode(data: bytes, *, seconds: float | None = None) -> Pcm:
    """Any audio file ffmpeg reads (its first `seconds` only, if given), as PCM."""
    if seconds is None and data[:4] == b"RIFF" and data[8:12] == b"WAVE":
        try:
            return pcm_from_wav(data)
        except (ValueError, EOFError, wave.Error):
            pass  # another rate or layout: ffmpeg converts it
    limit = ["-t", f"{seconds:.3f}"] if seconds is not None else []
    wav = ffmpeg_run(
        ["-i", "pipe:0", *limit, "-ac", "1", "-ar", str(RATE), "-f", "wav", "pipe:1"],
        input_bytes=data,
    )
    return pcm_from_wav(wav)


def pcm_from_wav(wav: bytes) -> Pcm:
    with wave.open(io.BytesIO(wav)) as reader:
        layout = (reader.getframerate(), reader.getnchannels(), reader.getsampwidth())
        if layout != (RATE, 1, 2):
            raise ValueError("expected mono 16-bit audio at the PCM rate")
        # Streamed WAVs (espeak-ng --stdout) carry a placeholder length: read all.
        frames = reader.readframes(reader.getnframes())
        return Pcm(bytearray(frames[: len(frames) - len(frames) % 2]))


def pcm_to_wav(pcm: Pcm) -> bytes:
    buffer = io.BytesIO()
    with wave.open(buffer, "wb") as writer:
        writer.setnchannels(1)
        writer.setsampwidth(2)
        writer.setframerate(RATE)
        writer.writeframes(bytes(pcm.frames))
    return buffer.getvalue()


def audio_encode(pcm: Pcm, *, audio_format: str) -> tuple[bytes, str, float]:
    """The PCM as a loudness-normalised web file: its bytes, MIME type, duration."""
    options, mime_type = ENCODINGS[audio_format]
    container = "ogg" if audio_format == "opus" else audio_format
    with tempfile.TemporaryDirectory(prefix="media-encode-") as directory:
        source = Path(directory) / "in.wav"
        target = Path(directory) / f"out.{container}"
        source.write_bytes(pcm_to_wav(pcm))
        ffmpeg_run(
            ["-i", str(source), "-af", LOUDNESS, "-ac", "1", *options, str(target)]
        )
        return target.read_bytes(), mime_type, media_duration(target)
