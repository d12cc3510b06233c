"""Speech providers: what every one takes and returns, the offline espeak-ng one,
and how one is chosen (GENERATION_SPEECH_PROVIDER)."""

import shutil
import subprocess
from abc import ABC, abstractmethod
from dataclasses import dataclass

from django.conf import settings

from generation.providers.base import ProviderError

SPEECH_PROVIDERS = ("espeak", "openai_compatible")


@dataclass(frozen=True)
class SpeechRequest:
    text: str  # plain text, already approved by an editor


@dataclass
class GeneratedSpeech:
    data: bytes  # a complete audio file
    format: str  # its container: "wav", "mp3", ...
    provider: str
    model: str
    voice: str


class SpeechProvider(ABC):
    name: str
    model: str
    voice: str
    # Longer text is split by the caller (at sentence ends) into several requests.
    max_characters: int = 4000

    @abstractmethod
    def synthesise(self, request: SpeechRequest) -> GeneratedSpeech:
        """The text read aloud."""


class EspeakSpeechProvider(SpeechProvider):
    """Debian's espeak-ng, run as a process: offline, deterministic, fast."""

    name = "espeak"
    model = "espeak-ng"
    max_characters = 20_000

    def __init__(self, *, voice: str = "en-us", words_per_minute: int = 165):
        self.voice = voice
        self.words_per_minute = words_per_minute

    @classmethod
    def from_settings(cls) -> "EspeakSpeechProvider":
        return cls(
            voice=settings.GENERATION_ESPEAK_VOICE,
            words_per_minute=settings.GENERATION_ESPEAK_WORDS_PER_MINUTE,
        )

    def synthesise(self, request: SpeechRequest) -> GeneratedSpeech:
        binary = shutil.which("espeak-ng")
        if binary is None:
            raise ProviderError(
                "espeak-ng is not installed: run `make run` as root, or "
                "`apt-get install espeak-ng`.",
                retryable=False,
            )
        try:
            # Text on stdin (-b 1: UTF-8), so that no text is ever read as options.
            completed = subprocess.run(
                [
                    binary,
                    "-b",
                    "1",
                    "-v",
                    self.voice,
                    "-s",
                    str(self.words_per_minute),
                    "--stdout",
                ],
                input=request.text.encode(),
                capture_output=True,
                timeout=120,
                check=False,
            )
        except subprocess.TimeoutExpired as error:
            raise ProviderError("espeak-ng took too long.") from error
        if completed.returncode != 0 or not completed.stdout:
            reason = completed.stderr.decode(errors="replace").strip()[:300]
            raise ProviderError(
                f"espeak-ng failed: {reason or 'no audio'}.", retryable=False
            )
        return GeneratedSpeech(
            data=completed.stdout,
            format="wav",
            provider=self.name,
            model=self.model,
            voice=self.voice,
        )


def speech_provider_get(name: str | None = None) -> SpeechProvider:
    """The speech provider named (default: GENERATION_SPEECH_PROVIDER)."""
    name = name or settings.GENERATION_SPEECH_PROVIDER
    if name in ("espeak", "espeak-ng"):
        return EspeakSpeechProvider.from_settings()
    if name in ("openai_compatible", "openai"):
        from generation.providers.openai_speech import OpenAICompatibleSpeechProvider

        return OpenAICompatibleSpeechProvider.from_settings()
    raise ProviderError(
        f"Unknown speech provider {name!r}; use one of {', '.join(SPEECH_PROVIDERS)}.",
        retryable=False,
    )
