"""Know what an S3-compatible endpoint accepts, and send what it accepts.

- :mod:`.verdict`: the capability list and the yes/no rules (pure);
- :mod:`.profiles`: the provider table and the user's saved profiles;
- :mod:`.fallback`: which mode to retry with after a refusal (pure);
- :mod:`.runner`: the I/O edge that sends the probe's requests.

Only the pure parts are imported here; the runner is imported on use.
"""

from __future__ import annotations

from .fallback import ModeMemory, Step, is_mode_rejection, next_mode
from .profiles import PROFILES, Profile, load_user_profiles, profile_for, save_user_profile
from .verdict import CAPABILITIES, ProbeReport, Verdict

__all__ = [
    "CAPABILITIES",
    "PROFILES",
    "ModeMemory",
    "ProbeReport",
    "Profile",
    "Step",
    "Verdict",
    "is_mode_rejection",
    "load_user_profiles",
    "next_mode",
    "profile_for",
    "save_user_profile",
]
