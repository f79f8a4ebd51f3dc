"""Settings for every test."""

from __future__ import annotations

import freezegun

# freeze_time() looks through every loaded module for clock functions to swap. The kubernetes
# client loads its models lazily, on that look: under the fake datetime class, which pydantic
# cannot build them with. Its modules keep the real clock; the election code and ours do not.
freezegun.configure(extend_ignore_list=["kubernetes.client"])
