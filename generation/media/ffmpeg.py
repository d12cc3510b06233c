"""The Debian tools media work runs on (ffmpeg, ffprobe), called as processes."""

import json
import shutil
import subprocess
from pathlib import Path

TOOLS = ("ffmpeg", "ffprobe", "espeak-ng")


class MediaToolError(Exception):
    """A tool is missing or failed; the message says which and why."""


def tool_path(name: str) -> str:
    path = shutil.which(name)
    if path is None:
        raise MediaToolError(
            f"{name} is not installed: `make run` installs it with apt-get when run "
            f"as root; otherwise run `apt-get install {name}`."
        )
    return path


def tools_missing() -> list[str]:
    """The media tools not on PATH (for skips and the readiness of media jobs)."""
    return [name for name in TOOLS if shutil.which(name) is None]


def ffmpeg_run(
    arguments: list[str],
    *,
    input_bytes: bytes | None = None,
    timeout: float = 300,
    cwd: Path | None = None,
) -> bytes:
    """ffmpeg with `arguments` (quiet, overwrite); its stdout."""
    command = [tool_path("ffmpeg"), "-hide_banner", "-loglevel", "error", "-y"]
    try:
        completed = subprocess.run(
            command + arguments,
            input=input_bytes,
            capture_output=True,
            timeout=timeout,
            check=False,
            cwd=cwd,
        )
    except subprocess.TimeoutExpired as error:
        raise MediaToolError(f"ffmpeg took longer than {timeout:.0f} s.") from error
    if completed.returncode != 0:
        reason = completed.stderr.decode(errors="replace").strip()[-400:]
        raise MediaToolError(f"ffmpeg failed: {reason or completed.returncode}")
    return completed.stdout


def media_duration(path: Path | str) -> float:
    """The duration of a media file in seconds, as ffprobe reads it."""
    completed = subprocess.run(
        [
            tool_path("ffprobe"),
            "-v",
            "error",
            "-show_entries",
            "format=duration",
            "-of",
            "json",
            str(path),
        ],
        capture_output=True,
        timeout=60,
        check=False,
    )
    try:
        return float(json.loads(completed.stdout)["format"]["duration"])
    except (ValueError, KeyError, TypeError) as error:
        raise MediaToolError(f"ffprobe could not read {path}.") from error
