"""A target whose import fails."""

import no_such_package_xyz  # noqa: F401
