//! A flow log's `Status` as the VPC API reports it, and what each transitional status settles
//! to: the one place that knows the API's state machine (`Inactive` -> `Activating` ->
//! `Active`, `Active` -> `Deactivating` -> `Inactive`, and back when the change fails;
//! `Modifying` and `Deleting` for attribute changes and deletion).

use std::fmt;

/// `Status` of a flow log. A status this provider does not know is kept as the API wrote it,
/// so the state records what the API said.
#[derive(Clone, Debug, Default, PartialEq, Eq, Hash)]
pub enum FlowLogStatus {
    Active,
    Activating,
    Inactive,
    Deactivating,
    /// `ModifyFlowLogAttribute` under way; it goes back to the status it had, which this
    /// status alone does not say.
    Modifying,
    /// `DeleteFlowLog` under way; then the flow log is gone.
    Deleting,
    /// Anything else (empty when the API gave none).
    #[default]
    Unknown,
    Other(String),
}

impl FlowLogStatus {
    /// The statuses the API documents for `DescribeFlowLogs` (its `Status` filter values).
    pub const DOCUMENTED: [FlowLogStatus; 4] = [
        FlowLogStatus::Active,
        FlowLogStatus::Inactive,
        FlowLogStatus::Activating,
        FlowLogStatus::Deactivating,
    ];

    /// Their names, for schemas and validation that need text at compile time.
    pub const DOCUMENTED_NAMES: [&'static str; 4] =
        ["Active", "Inactive", "Activating", "Deactivating"];

    /// The text the API uses.
    pub fn as_str(&self) -> &str {
        match self {
            FlowLogStatus::Active => "Active",
            FlowLogStatus::Activating => "Activating",
            FlowLogStatus::Inactive => "Inactive",
            FlowLogStatus::Deactivating => "Deactivating",
            FlowLogStatus::Modifying => "Modifying",
            FlowLogStatus::Deleting => "Deleting",
            FlowLogStatus::Unknown => "",
            FlowLogStatus::Other(s) => s,
        }
    }

    /// The status a text names; exact, as the API writes it.
    pub fn parse(s: &str) -> FlowLogStatus {
        match s {
            "Active" => FlowLogStatus::Active,
            "Activating" => FlowLogStatus::Activating,
            "Inactive" => FlowLogStatus::Inactive,
            "Deactivating" => FlowLogStatus::Deactivating,
            "Modifying" => FlowLogStatus::Modifying,
            "Deleting" => FlowLogStatus::Deleting,
            "" => FlowLogStatus::Unknown,
            other => FlowLogStatus::Other(other.to_owned()),
        }
    }

    /// One of the statuses the API documents.
    pub fn is_documented(&self) -> bool {
        Self::DOCUMENTED.contains(self)
    }

    /// A value the API documents for `DescribeFlowLogs`' `Status` filter (`Active`,
    /// `Activating`, `Inactive`): listings filter by no other, as the API might refuse or
    /// ignore it.
    pub fn is_listing_filter(&self) -> bool {
        matches!(
            self,
            FlowLogStatus::Active | FlowLogStatus::Activating | FlowLogStatus::Inactive
        )
    }

    /// On the way somewhere: the API is still working on a change.
    pub fn is_transitional(&self) -> bool {
        self.settles_to().is_some()
    }

    /// The API is working on this flow log (any change, including a modification or a
    /// deletion): another change now is refused with `IncorrectStatus.flowlog`.
    pub fn is_busy(&self) -> bool {
        self.is_transitional() || matches!(self, FlowLogStatus::Modifying | FlowLogStatus::Deleting)
    }

    /// Where a transitional status goes when its change succeeds.
    pub fn settles_to(&self) -> Option<FlowLogStatus> {
        match self {
            FlowLogStatus::Activating => Some(FlowLogStatus::Active),
            FlowLogStatus::Deactivating => Some(FlowLogStatus::Inactive),
            _ => None,
        }
    }

    /// Where a transitional status goes back to when its change fails (an `Activating` flow
    /// log whose Log Service project or logstore is unusable ends `Inactive`).
    pub fn falls_back_to(&self) -> Option<FlowLogStatus> {
        match self {
            FlowLogStatus::Activating => Some(FlowLogStatus::Inactive),
            FlowLogStatus::Deactivating => Some(FlowLogStatus::Active),
            _ => None,
        }
    }

    /// The transitional status on the way to this settled one.
    pub fn on_the_way(&self) -> Option<FlowLogStatus> {
        match self {
            FlowLogStatus::Active => Some(FlowLogStatus::Activating),
            FlowLogStatus::Inactive => Some(FlowLogStatus::Deactivating),
            _ => None,
        }
    }
}

impl fmt::Display for FlowLogStatus {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            FlowLogStatus::Unknown => f.write_str("(no status)"),
            other => f.write_str(other.as_str()),
        }
    }
}

impl From<&str> for FlowLogStatus {
    fn from(s: &str) -> Self {
        FlowLogStatus::parse(s)
    }
}

#[cfg(test)]
mod tests {
    use crate::alicloud::vpc::status::FlowLogStatus as S;

    #[test]
    fn text_round_trips_and_unknown_text_is_kept() {
        for (s, name) in S::DOCUMENTED.into_iter().zip(S::DOCUMENTED_NAMES) {
            assert_eq!(s.as_str(), name);
            assert_eq!(S::parse(s.as_str()), s);
            assert!(s.is_documented());
        }
        assert_eq!(S::parse(""), S::Unknown);
        assert_eq!(S::parse("Modifying"), S::Modifying);
        assert_eq!(S::parse("Deleting").as_str(), "Deleting");
        assert_eq!(S::parse("Creating"), S::Other("Creating".into()));
        assert_eq!(S::parse("active"), S::Other("active".into()));
        assert!(!S::Modifying.is_documented());
    }

    #[test]
    fn the_state_machine() {
        assert_eq!(S::Activating.settles_to(), Some(S::Active));
        assert_eq!(S::Activating.falls_back_to(), Some(S::Inactive));
        assert_eq!(S::Deactivating.settles_to(), Some(S::Inactive));
        assert_eq!(S::Deactivating.falls_back_to(), Some(S::Active));
        assert_eq!(S::Active.on_the_way(), Some(S::Activating));
        assert_eq!(S::Inactive.on_the_way(), Some(S::Deactivating));
        for settled in [S::Active, S::Inactive, S::Unknown, S::Other("X".into())] {
            assert!(!settled.is_transitional());
            assert_eq!(settled.settles_to(), None);
        }
        assert!(S::Activating.is_transitional() && S::Deactivating.is_transitional());
        for busy in [S::Activating, S::Deactivating, S::Modifying, S::Deleting] {
            assert!(busy.is_busy());
        }
        assert!(!S::Active.is_busy() && !S::Inactive.is_busy());
        assert!(S::Active.is_listing_filter() && S::Activating.is_listing_filter());
        assert!(S::Inactive.is_listing_filter() && !S::Deactivating.is_listing_filter());
        assert_eq!(S::Modifying.settles_to(), None);
    }
}
