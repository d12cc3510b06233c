"""Speech providers: espeak-ng for real, and the OpenAI-compatible one against a
real HTTP server on 127.0.0.1."""

import io
import wave

import pytest

from generation.media.audio import pcm_decode
from generation.providers.base import ProviderError
from generation.providers.openai_speech import OpenAICompatibleSpeechProvider
from generation.providers.speech import EspeakSpeechProvider, SpeechRequest
from tests.generation.conftest import Reply
from tests.generation.media.conftest import needs_media_tools


def wav_bytes(seconds: float = 1.0, rate: int = 24_000) -> bytes:
    buffer = io.BytesIO()
    with wave.open(buffer, "wb") as writer:
        writer.setnchannels(1)
        writer.setsampwidth(2)
        writer.setframerate(rate)
        writer.writeframes(b"\x10\x00" * int(seconds * rate))
    return buffer.getvalue()


def _provider(server, **options) -> OpenAICompatibleSpeechProvider:
    values = {
        "model": "tts-test",
        "voice": "nova",
        "base_url": server.base_url,
        "api_key": "test-key",
        "timeout": 1.0,
        "max_retries": 2,
        "backoff": 0.01,
    }
    return OpenAICompatibleSpeechProvider(**{**values, **options})


@needs_media_tools
def test_espeak_reads_text_aloud_as_a_wav_of_plausible_length():
    # given
    text = "Naps of twenty minutes help memory. Longer ones can spoil the night."
    # when
    speech = EspeakSpeechProvider(voice="en-us").synthesise(SpeechRequest(text=text))
    # then: about 12 words at 165 words a minute
    assert speech.format == "wav" and speech.provider == "espeak"
    assert 2.0 < pcm_decode(speech.data).seconds < 8.0


@needs_media_tools
def test_openai_compatible_speech_sends_model_voice_and_text(model_server):
    # given
    model_server.script("/audio/speech", Reply(body=wav_bytes(1.5)))
    # when
    speech = _provider(model_server).synthesise(SpeechRequest(text="Hello there."))
    # then
    (sent,) = model_server.calls("/audio/speech")
    assert sent == {
        "model": "tts-test",
        "voice": "nova",
        "input": "Hello there.",
        "response_format": "wav",
    }
    assert (speech.model, speech.voice) == ("tts-test", "nova")
    assert pcm_decode(speech.data).seconds == pytest.approx(1.5, abs=0.05)


def test_openai_compatible_speech_retries_server_errors_then_succeeds(model_server):
    # given: one 503, then audio
    model_server.script(
        "/audio/speech",
        Reply(503, {"error": {"message": "busy"}}),
        Reply(body=wav_bytes()),
    )
    # when
    speech = _provider(model_server).synthesise(SpeechRequest(text="Hi."))
    # then
    assert len(model_server.calls("/audio/speech")) == 2
    assert speech.data == wav_bytes()


def test_openai_compatible_speech_fails_at_once_on_a_bad_request(model_server):
    # given
    model_server.script("/audio/speech", Reply(400, {"error": {"message": "voice?"}}))
    # when
    with pytest.raises(ProviderError) as raised:
        _provider(model_server).synthesise(SpeechRequest(text="Hi."))
    # then
    assert raised.value.retryable is False
    assert "HTTP 400" in str(raised.value)
    assert len(model_server.calls("/audio/speech")) == 1


def test_openai_compatible_speech_gives_up_after_timeouts(model_server):
    # given: the server answers later than the 0.3 s timeout, every time
    model_server.script("/audio/speech", Reply(body=wav_bytes(), delay=0.8))
    # when
    with pytest.raises(ProviderError) as raised:
        _provider(model_server, timeout=0.3, max_retries=1).synthesise(
            SpeechRequest(text="Hi.")
        )
    # then
    assert raised.value.retryable is True
    assert "after 2 attempts" in str(raised.value)
    assert "did not answer in time" in str(raised.value)


def test_an_empty_answer_is_retried_as_unusable(model_server):
    # given
    model_server.script("/audio/speech", Reply(body=b""))
    # when
    with pytest.raises(ProviderError) as raised:
        _provider(model_server, max_retries=1).synthesise(SpeechRequest(text="Hi."))
    # then
    assert len(model_server.calls("/audio/speech")) == 2
    assert "unusable" in str(raised.value)
