"""OpenBenefits: the system of record for benefits, contingents and loyalty programs."""

import zoneinfo
from importlib.metadata import version

# One source for the version: the installed package's metadata (pyproject.toml), read by
# ``openbenefits --version`` and the OpenAPI document.
__version__ = version("openbenefits")

# Time zones come from the locked ``tzdata`` package only, never from the host's zoneinfo
# directory, so every host computes the same local days and periods; new zone rules arrive with
# a new lock.
zoneinfo.reset_tzpath(to=[])
