import no_such_package_xyz  # noqa: F401
import torch  # noqa: F401
