"""Fixtures for tests of the app's local glue (devcloud): the local cloud's throwaway projects."""

from tests.localcloud.conftest import throwaway_project

__all__ = ["throwaway_project"]
