"""Speech from any OpenAI-compatible server (`POST /v1/audio/speech`).

Same connection, timeouts and retry policy as the text provider: rate limits,
5xx, timeouts, dropped connections and empty answers are retried with backoff.
"""

from django.conf import settings

from generation.providers.base import Usage
from generation.providers.openai_compatible import (
    MalformedOutput,
    _ModelServer,
    call_with_retries,
)
from generation.providers.speech import GeneratedSpeech, SpeechProvider, SpeechRequest


class OpenAICompatibleSpeechProvider(_ModelServer, SpeechProvider):
    name = "openai_compatible"
    # OpenAI's limit per request; the narration splits longer chapters.
    max_characters = 4000

    def __init__(self, *, voice: str = "alloy", audio_format: str = "wav", **server):
        super().__init__(**server)
        self.voice = voice
        self.audio_format = audio_format

    @classmethod
    def from_settings(cls) -> "OpenAICompatibleSpeechProvider":
        return cls(
            model=settings.GENERATION_SPEECH_MODEL,
            voice=settings.GENERATION_SPEECH_VOICE,
            base_url=settings.OPENAI_BASE_URL,
            api_key=settings.OPENAI_API_KEY,
            timeout=settings.GENERATION_SPEECH_TIMEOUT_SECONDS,
            max_retries=settings.GENERATION_MAX_RETRIES,
            backoff=settings.GENERATION_RETRY_BACKOFF_SECONDS,
        )

    def synthesise(self, request: SpeechRequest) -> GeneratedSpeech:
        def attempt() -> GeneratedSpeech:
            response = self.client.audio.speech.create(
                model=self.model,
                voice=self.voice,
                input=request.text,
                response_format=self.audio_format,
            )
            data = response.read()
            if len(data) < 64:
                raise MalformedOutput("no audio in the answer")
            return GeneratedSpeech(
                data=data,
                format=self.audio_format,
                provider=self.name,
                model=self.model,
                voice=self.voice,
            )

        return call_with_retries(
            attempt,
            what="Reading the text aloud",
            attempts=self.attempts,
            backoff=self.backoff,
            usage=Usage(),
            sleep=self.sleep,
        )
