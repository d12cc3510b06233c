"""The one timestamp format of the API: RFC 3339 in UTC, ending in `Z`."""

import datetime


def rfc3339(moment: datetime.datetime | None) -> str | None:
    """Like DRF's DateTimeField output: UTC, `Z`, fractions only when there are."""
    if moment is None:
        return None
    return moment.astimezone(datetime.UTC).isoformat().replace("+00:00", "Z")
