import pytest
from django.utils import translation


@pytest.fixture(autouse=True)
def _english_messages():
    """Services' messages are asserted in English (the msgids); pages are served in the default zh-hans."""
    with translation.override("en"):
        yield
