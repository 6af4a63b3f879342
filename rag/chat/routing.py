"""Routing policies: which backend answers, which one takes over when it fails, and why."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Policy:
    key: str
    label: str
    primary: str
    fallback: str | None = None
    latency_budget: bool = False  # a slow first token also counts as a failure of the primary


POLICIES = {
    policy.key: policy
    for policy in (
        Policy("local", "local only", "local"),
        Policy("cloud", "cloud only", "cloud"),
        Policy("both", "both side by side", "local"),
        Policy("local-first", "local first, cloud if it fails or is too slow", "local", "cloud", latency_budget=True),
        Policy("cloud-first", "cloud first, local if it fails", "cloud", "local"),
    )
}


def fallback_reason(policy: Policy, failure: str, has_private: bool) -> tuple[bool, str]:
    """Whether to fall back, and the sentence that explains the choice to the user.

    Falling back to the cloud is only allowed when none of the retrieved passages is local-only:
    a question about private documents stays on this machine even if the local model fails.
    """
    if policy.fallback is None:
        return False, ""
    if policy.fallback == "cloud" and has_private:
        return (
            False,
            f"The local model failed ({failure}); not falling back to the cloud, because local-only documents are involved.",
        )
    return True, f"The {policy.primary} model failed ({failure}); answering with the {policy.fallback} model instead."
