"""Serializers of the tiers app: `rows` (one row of a bulk endpoint or CSV import),
`resources` (the API's resources) and the `fields` both use."""

from .fields import AccountOwnerField, AccountRefField, DomainField, TechnologiesField
from .resources import (
    AccountScoresSerializer,
    AccountSerializer,
    ContactSerializer,
    EngagementEventSerializer,
    EngagementKindSerializer,
    IcpCriterionSerializer,
    IcpPersonaSerializer,
    IcpProfileSerializer,
    IcpSuggestionApplySerializer,
    IcpSuggestionSerializer,
    IntentSignalSerializer,
    RecomputeJobSerializer,
    RecomputeStartSerializer,
    SegmentSerializer,
    TierAssignmentSerializer,
    TierCommitteeSerializer,
    TierOverrideSerializer,
    TierRuleSerializer,
    TierSerializer,
    TierUnlockSerializer,
)
from .rows import (
    AccountRowSerializer,
    ContactRowSerializer,
    EngagementEventRowSerializer,
    IntentSignalRowSerializer,
)

__all__ = [
    "AccountOwnerField", "AccountRefField", "AccountRowSerializer", "AccountScoresSerializer",
    "AccountSerializer", "ContactRowSerializer", "ContactSerializer", "DomainField",
    "EngagementEventRowSerializer", "EngagementEventSerializer", "EngagementKindSerializer",
    "IcpCriterionSerializer", "IcpPersonaSerializer", "IcpProfileSerializer",
    "IcpSuggestionApplySerializer",
    "IcpSuggestionSerializer", "IntentSignalRowSerializer", "IntentSignalSerializer",
    "RecomputeJobSerializer", "RecomputeStartSerializer", "SegmentSerializer",
    "TechnologiesField", "TierAssignmentSerializer", "TierCommitteeSerializer",
    "TierOverrideSerializer",
    "TierRuleSerializer", "TierSerializer", "TierUnlockSerializer",
]
