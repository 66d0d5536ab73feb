"""The demo data for the app tests."""

from __future__ import annotations

import pytest

from mmrole.app.resources import ChatData


@pytest.fixture(scope="session")
def demo_data() -> ChatData:
    return ChatData.open("demo")
