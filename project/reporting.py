"""What Django's debug page and error emails may show of the settings and the request.

Django hides settings whose *name* looks secret (`SECRET_KEY`, `DATABASES["PASSWORD"]`), but a
URL carries its password in the *value*: `CELERY_BROKER_URL=redis://:pw@host/1`, a cache's
`LOCATION`, or `DATABASE_URL` in the request's environment under runserver. This filter masks the
password of any URL it meets, and hides settings named like a DSN (Sentry's holds a key).
"""

from __future__ import annotations

import re
from typing import Any

from django.views.debug import SafeExceptionReporterFilter as DjangoFilter

# scheme://user:password@host -> keep scheme and user, mask the password.
URL_PASSWORD = re.compile(r"(?P<head>[A-Za-z][A-Za-z0-9+.-]*://[^:/?#@\s]*:)[^@/\s]+(?=@)")


class SafeExceptionReporterFilter(DjangoFilter):
    hidden_settings = re.compile(
        "API|AUTH|TOKEN|KEY|SECRET|PASS|SIGNATURE|HTTP_COOKIE|DSN", flags=re.IGNORECASE
    )

    def cleanse_setting(self, key: Any, value: Any) -> Any:
        cleansed = super().cleanse_setting(key, value)
        if isinstance(cleansed, str):
            return URL_PASSWORD.sub(rf"\g<head>{self.cleansed_substitute}", cleansed)
        return cleansed
