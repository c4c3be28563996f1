"""Root of the test tree: the harness's helpers get pytest's assertion rewriting."""

import pytest

pytest.register_assert_rewrite("tests.harness")
