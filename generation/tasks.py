"""django-q2 tasks of the generation app: they take ids and call one service."""

from generation.services import generation_job_run as job_run
from generation.services import generation_jobs_resume as jobs_resume


def generation_job_run(job_id: int) -> str:
    """One attempt of a generation job; harmless when repeated or duplicated."""
    return job_run(job_id=job_id)


def generation_jobs_resume() -> int:
    """The sweep: send again the jobs whose task was lost."""
    return jobs_resume()
